package signing

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/globalsign/atlas-issuer/internal/atlas"
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

// accounts holds one accountState per issuer.
type accounts struct {
	m sync.Map // string -> *accountState
}

func (a *accounts) of(issuerKey string) *accountState {
	v, _ := a.m.LoadOrStore(issuerKey, &accountState{})
	return v.(*accountState)
}

// load returns the policy and trust chain for the issuer's current client,
// fetching them when the client is new (a restart or a rotated Secret).
func (a *accounts) load(ctx context.Context, issuerKey string, cl *atlas.Client) (*atlas.ValidationPolicy, []string, error) {
	st := a.of(issuerKey)
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

// completed remembers the bundles this process returned, for a few minutes.
// The intent annotation and issuer-lib's status patch each trigger another
// reconcile; one that runs before the informer has seen the Ready condition
// is answered from here instead of with Atlas calls.
type completed struct {
	mu        sync.Mutex
	ttl       time.Duration
	lastSweep time.Time
	m         map[types.UID]completedEntry
}

type completedEntry struct {
	bundle Bundle
	at     time.Time
}

// Bundle is a signed certificate in the shape issuer-lib wants.
type Bundle struct {
	ChainPEM []byte
	CAPEM    []byte
	Serial   string
}

func newCompleted(ttl time.Duration) *completed {
	return &completed{ttl: ttl, m: map[types.UID]completedEntry{}}
}

func (c *completed) get(uid types.UID, now time.Time) (Bundle, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[uid]
	if !ok || now.Sub(e.at) > c.ttl {
		return Bundle{}, false
	}
	return e.bundle, true
}

func (c *completed) put(uid types.UID, b Bundle, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Sweep on write, at most twice per TTL, so the map stays bounded by
	// the issuance rate times the TTL without a goroutine.
	if now.Sub(c.lastSweep) > c.ttl/2 {
		for k, e := range c.m {
			if now.Sub(e.at) > c.ttl {
				delete(c.m, k)
			}
		}
		c.lastSweep = now
	}
	c.m[uid] = completedEntry{bundle: b, at: now}
}
