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
	"errors"
	"fmt"
	"math"
	"sync"
)

// DefaultIssuerShare is the share of the slots one issuer may hold when
// NewLimiter is given none: half, so that one tenant whose Atlas answers
// slowly leaves the other half to everyone else.
const DefaultIssuerShare = 0.5

// Limiter bounds how many requests are signed against Atlas at once, across
// every issuer and both request kinds: it is what --max-concurrent-requests
// sets. It is separate from the reconcile workers on purpose. A worker also
// spends time on Kubernetes writes (the intent annotation, issuer-lib's
// status patch) that need no Atlas slot, so N workers as the bound keep
// fewer than N requests with Atlas and leave throughput unused
// (docs/performance.md).
//
// No issuer holds more than perIssuer of the slots, even while the others
// are free (an issuer here is what Issuer.shareKey names: the AtlasIssuers
// of one namespace together, or one cluster issuer): a slot held by a slow or hostile Atlas frees only when its call
// ends, so slots an issuer could borrow would be missing when another
// issuer's request arrives. Waiters are served in arrival order among
// those still under their share.
//
// A request waits here on a reconcile worker, so one issuer may also have
// only as many requests waiting as it may hold slots: the next one is
// turned away at once with ErrIssuerBusy and comes back later, and the
// workers stay free for the other issuers' requests.
type Limiter struct {
	mu        sync.Mutex
	size      int
	perIssuer int
	used      int
	held      map[string]int
	waiting   map[string]int
	queue     []*slotWaiter
}

// ErrIssuerBusy is reserve's answer to a request whose issuer holds its
// share of the slots and has as many requests waiting for more.
var ErrIssuerBusy = errors.New("the issuer has its share of the Atlas slots in use and as many requests waiting")

type slotWaiter struct {
	issuer string
	// granted is closed when the slot is handed over under mu.
	granted chan struct{}
	done    bool
}

// NewLimiter returns a Limiter of n slots (at least one) of which one
// issuer may hold at most max(1, ceil(n*share)); a share outside (0, 1]
// means DefaultIssuerShare.
func NewLimiter(n int, share float64) *Limiter {
	n = max(n, 1)
	if !(share > 0 && share <= 1) {
		share = DefaultIssuerShare
	}
	return &Limiter{size: n, perIssuer: IssuerSlots(n, share), held: map[string]int{}, waiting: map[string]int{}}
}

// IssuerSlots is the number of slots of n one issuer may hold at share.
func IssuerSlots(n int, share float64) int {
	return min(max(1, int(math.Ceil(float64(n)*share))), max(n, 1))
}

// slotTicket is a place in the Limiter: a slot already taken, or a place in
// the queue. Its wait must be called once, whatever happens in between, so
// that a slot granted meanwhile is not lost.
type slotTicket struct {
	l      *Limiter
	issuer string
	m      *Metrics
	// w is the queued waiter; nil when the slot was free at reserve.
	w *slotWaiter
}

// reserve takes a free slot for issuer or queues for one, so that a request
// keeps its place in line while it prepares for its Atlas calls. It fails
// at once with ErrIssuerBusy when issuer has its share of the slots in use
// and as many requests waiting. A nil Limiter does not limit. m, which may
// be nil, counts the requests waiting and in flight.
func (l *Limiter) reserve(issuer string, m *Metrics) (*slotTicket, error) {
	t := &slotTicket{l: l, issuer: issuer, m: m}
	if l == nil {
		return t, nil
	}
	l.mu.Lock()
	if l.used < l.size && l.held[issuer] < l.perIssuer {
		l.take(issuer)
		l.mu.Unlock()
		m.inFlight(1)
		return t, nil
	}
	if l.held[issuer]+l.waiting[issuer] >= 2*l.perIssuer {
		l.mu.Unlock()
		return nil, fmt.Errorf("%w (%d slots per issuer)", ErrIssuerBusy, l.perIssuer)
	}
	t.w = &slotWaiter{issuer: issuer, granted: make(chan struct{})}
	l.queue = append(l.queue, t.w)
	l.waiting[issuer]++
	l.mu.Unlock()
	m.waiting(1)
	return t, nil
}

// queued reports whether the ticket had to queue: the request may have to
// wait for its slot.
func (t *slotTicket) queued() bool {
	return t.w != nil
}

// wait returns once the ticket's slot is granted, and release gives it
// back. Waiting ends with ctx, and the place in the queue is given up: the
// deadline of the Sign passed, or the manager is stopping and the request
// is retried by the next leader.
func (t *slotTicket) wait(ctx context.Context) (release func(), err error) {
	l := t.l
	if l == nil {
		return func() {}, nil
	}
	if t.w == nil {
		return l.releaser(t.issuer, t.m), nil
	}
	select {
	case <-t.w.granted:
		t.m.waiting(-1)
		t.m.inFlight(1)
		return l.releaser(t.issuer, t.m), nil
	case <-ctx.Done():
	}
	t.m.waiting(-1)
	l.mu.Lock()
	if t.w.done {
		// Granted while the context ended: pass the slot on.
		l.give(t.issuer)
	} else {
		t.w.done = true
		l.queue = removeWaiter(l.queue, t.w)
		l.unwait(t.issuer)
	}
	l.mu.Unlock()
	return nil, fmt.Errorf("wait for one of %d Atlas slots (at most %d per issuer): %w", l.size, l.perIssuer, ctx.Err())
}

func (l *Limiter) releaser(issuer string, m *Metrics) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			m.inFlight(-1)
			l.mu.Lock()
			l.give(issuer)
			l.mu.Unlock()
		})
	}
}

// take counts a slot as held by issuer; l.mu is held.
func (l *Limiter) take(issuer string) {
	l.used++
	l.held[issuer]++
}

// give returns issuer's slot and hands free slots to the first waiters
// still under their share; l.mu is held.
func (l *Limiter) give(issuer string) {
	l.used--
	if l.held[issuer]--; l.held[issuer] <= 0 {
		delete(l.held, issuer)
	}
	for i := 0; i < len(l.queue) && l.used < l.size; {
		w := l.queue[i]
		if l.held[w.issuer] >= l.perIssuer {
			i++
			continue
		}
		l.take(w.issuer)
		l.unwait(w.issuer)
		w.done = true
		close(w.granted)
		l.queue = append(l.queue[:i], l.queue[i+1:]...)
	}
}

// unwait counts one of issuer's waiters gone; l.mu is held.
func (l *Limiter) unwait(issuer string) {
	if l.waiting[issuer]--; l.waiting[issuer] <= 0 {
		delete(l.waiting, issuer)
	}
}

func removeWaiter(q []*slotWaiter, w *slotWaiter) []*slotWaiter {
	for i, x := range q {
		if x == w {
			return append(q[:i], q[i+1:]...)
		}
	}
	return q
}
