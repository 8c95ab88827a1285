/*
Copyright 2026 The atlas-issuer Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package signing

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/chain"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/internal/ttlcache"
)

// accountState is what Check learned about an issuer's account and Sign
// reuses: the validation policy and the trust chain, for the client they
// came from. Both change rarely, so they are fetched by Check (every
// recheck interval) and lazily by Sign after a restart, never per request.
// A stored accountState is never changed, only replaced.
type accountState struct {
	// secret and endpoint are what the issuer pointed at, so that its
	// client can be forgotten with it.
	secret   types.NamespacedName
	endpoint credentials.Endpoint
	client   *atlas.Client
	policy   *atlas.ValidationPolicy
	trust    *chain.Trust
}

// Bounds of the account states. Each holds a policy and a trust chain,
// tens of kilobytes at most (the answer caps of package atlas); past the
// bound the least recently used issuer's are fetched again when it next
// signs. One not refreshed for accountTTL belongs to an issuer no longer
// checked.
const (
	accountsMax = 4096
	accountTTL  = 24 * time.Hour
)

// accountStates holds one accountState per issuer, by issuer key.
type accountStates struct {
	cache *ttlcache.Cache[string, accountState]
}

func newAccountStates(clk clock.PassiveClock) accountStates {
	return accountStates{cache: ttlcache.New[string, accountState](accountsMax, time.Hour, clk)}
}

// get returns what is kept for the issuer, if it came from client cl.
func (a accountStates) get(issuerKey string, cl *atlas.Client) (*atlas.ValidationPolicy, *chain.Trust) {
	st, ok := a.cache.Get(issuerKey)
	if !ok || st.client != cl {
		return nil, nil
	}
	return st.policy, st.trust
}

func (a accountStates) set(iss Issuer, cl *atlas.Client, p *atlas.ValidationPolicy, trust *chain.Trust) {
	a.cache.Set(iss.Key, accountState{secret: iss.Secret, endpoint: iss.Endpoint, client: cl, policy: p, trust: trust}, accountTTL)
}

// load returns the policy and trust chain for the issuer's current client,
// fetching them when the client is new (a restart or a rotated Secret).
func (a accountStates) load(ctx context.Context, iss Issuer, cl *atlas.Client) (*atlas.ValidationPolicy, *chain.Trust, error) {
	if p, trust := a.get(iss.Key, cl); p != nil {
		return p, trust, nil
	}
	p, err := cl.ValidationPolicy(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("get validationpolicy: %w", err)
	}
	trust, err := trustChain(ctx, cl)
	if err != nil {
		return nil, nil, fmt.Errorf("get trustchain: %w", err)
	}
	a.set(iss, cl, p, trust)
	return p, trust, nil
}

// forget drops the issuer's state and returns it.
func (a accountStates) forget(issuerKey string) (accountState, bool) {
	st, ok := a.cache.Get(issuerKey)
	a.cache.Delete(issuerKey)
	return st, ok
}

// forgetClients drops every state that came from one of clients.
func (a accountStates) forgetClients(clients []*atlas.Client) {
	a.cache.DeleteFunc(func(_ string, st accountState) bool { return slices.Contains(clients, st.client) })
}

// uses reports whether a kept issuer reads this Secret at this endpoint.
func (a accountStates) uses(secret types.NamespacedName, ep credentials.Endpoint) bool {
	return a.cache.Any(func(_ string, st accountState) bool {
		return st.secret == secret && sameEndpoint(st.endpoint, ep)
	})
}

// trustChain fetches the account's trust chain and refuses one that is not
// a few CA certificates, before anything keeps it. It is parsed and its
// links verified here, once per fetch, not for each certificate.
func trustChain(ctx context.Context, cl *atlas.Client) (*chain.Trust, error) {
	pems, err := cl.TrustChain(ctx)
	if err != nil {
		return nil, err
	}
	trust, err := chain.ParseTrust(pems)
	if err != nil {
		return nil, fmt.Errorf("the answer is not the account's CA certificates: %w", err)
	}
	return trust, nil
}

// issuedCertificates remembers the certificates this process returned until the
// informer has seen them Ready. The intent annotation and issuer-lib's
// status patch each trigger another reconcile; one that runs before the
// informer has seen the Ready condition is answered from here instead of
// with Atlas calls (a miss is never wrong, only dearer: the intent path
// finds the certificate by lookup).
//
// An entry lives until Settled reports the request settled in the cache,
// plus a short grace for a reconcile that read the object just before, and
// at most ttl when no such report comes (Kubernetes CSRs, a deleted
// request). It keeps the leaf as Atlas returned it and the account's parsed
// trust chain, shared by every entry of the account; the bundle is built
// again on a hit: keeping every built bundle costs kilobytes per
// certificate, a large share of the manager's peak in a burst.
type issuedCertificates struct {
	ttl   time.Duration
	grace time.Duration
	cache *ttlcache.Cache[types.UID, issuedCertificate]
}

// issuedMax bounds the memory the kept certificates take; past it the
// least recently used go first, which only makes their reconciles dearer.
const issuedMax = 1 << 14

type issuedCertificate struct {
	serial string
	leaf   string
	trust  *chain.Trust
	// seenIssued is when Atlas last answered that the certificate is
	// ISSUED, for a twin request (collectTwin).
	seenIssued time.Time
}

// bundle builds the kept certificate's bundle again.
func (e issuedCertificate) bundle() (Bundle, error) {
	leaf, err := chain.ParseLeaf([]byte(e.leaf))
	if err != nil {
		return Bundle{}, err
	}
	built, err := e.trust.Build(leaf)
	if err != nil {
		return Bundle{}, err
	}
	return Bundle{ChainPEM: built.ChainPEM, CAPEM: built.CAPEM, Serial: e.serial}, nil
}

// Bundle is a signed certificate in the shape issuer-lib wants.
type Bundle struct {
	ChainPEM []byte
	CAPEM    []byte
	Serial   string
}

// newIssuedCertificates sweeps once per grace period, so settled entries
// free their memory soon after they expire.
func newIssuedCertificates(ttl time.Duration, clk clock.PassiveClock) *issuedCertificates {
	const grace = 10 * time.Second
	return &issuedCertificates{ttl: ttl, grace: grace, cache: ttlcache.New[types.UID, issuedCertificate](issuedMax, grace, clk)}
}

func (c *issuedCertificates) get(uid types.UID) (issuedCertificate, bool) {
	return c.cache.Get(uid)
}

func (c *issuedCertificates) put(uid types.UID, e issuedCertificate) {
	c.cache.Set(uid, e, c.ttl)
}

// settled shortens an entry's life to the grace period.
func (c *issuedCertificates) settled(uid types.UID) {
	c.cache.ExpireWithin(uid, c.grace)
}

func (c *issuedCertificates) len() int {
	return c.cache.Len()
}
