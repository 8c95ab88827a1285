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
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/ttlcache"
)

// accountState is what Check learned about an issuer's account and Sign
// reuses: the validation policy and the trust chain. Both change rarely, so
// they are fetched by Check (every recheck interval) and lazily by Sign
// after a restart, never per request.
type accountState struct {
	mu         sync.Mutex
	client     *atlas.Client
	policy     *atlas.ValidationPolicy
	trustChain []string
}

func (s *accountState) get(cl *atlas.Client) (*atlas.ValidationPolicy, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != cl {
		return nil, nil
	}
	return s.policy, s.trustChain
}

func (s *accountState) set(cl *atlas.Client, p *atlas.ValidationPolicy, chain []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.client, s.policy, s.trustChain = cl, p, chain
}

// accountStates holds one accountState per issuer, by issuer key.
type accountStates struct {
	m sync.Map // string -> *accountState
}

func (a *accountStates) forIssuer(issuerKey string) *accountState {
	v, _ := a.m.LoadOrStore(issuerKey, &accountState{})
	return v.(*accountState)
}

// load returns the policy and trust chain for the issuer's current client,
// fetching them when the client is new (a restart or a rotated Secret).
func (a *accountStates) load(ctx context.Context, issuerKey string, cl *atlas.Client) (*atlas.ValidationPolicy, []string, error) {
	st := a.forIssuer(issuerKey)
	if p, chain := st.get(cl); p != nil {
		return p, chain, nil
	}
	p, err := cl.ValidationPolicy(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("get validationpolicy: %w", err)
	}
	chain, err := cl.TrustChain(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("get trustchain: %w", err)
	}
	st.set(cl, p, chain)
	return p, chain, nil
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
// request). It keeps the leaf as Atlas returned it and the account's trust
// chain, shared by every entry of the account; the bundle is built again on
// a hit: keeping every built bundle costs kilobytes per certificate, a
// large share of the manager's peak in a burst (docs/performance.md, P4).
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
	trust  []string
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
