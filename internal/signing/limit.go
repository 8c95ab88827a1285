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
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// DefaultIssuerShare is the share of the slots one issuer may hold when
// NewLimiter is given none: half, so that one tenant whose Atlas answers
// slowly leaves the other half to everyone else.
const DefaultIssuerShare = 0.5

// How long places in line last. A request in line asks again at least
// every queuedRequeue (sooner when woken), so a place not asked for in
// placeTimeout belongs to a request that is gone: deleted, settled, or
// left behind when the manager lost its leadership. A slot granted to a
// place is held idle for its request, which the grant wakes; one not taken
// within grantTimeout passes on.
const (
	queuedRequeue = 30 * time.Second
	placeTimeout  = 4 * queuedRequeue
	grantTimeout  = 2 * queuedRequeue
)

// Limiter bounds how many requests are signed against Atlas at once, across
// every issuer and both request kinds: it is what --max-concurrent-requests
// sets. It is separate from the reconcile workers on purpose. A worker also
// spends time on Kubernetes writes (the intent annotation, issuer-lib's
// status patch) that need no Atlas slot, so N workers as the bound keep
// fewer than N requests with Atlas and leave throughput unused.
//
// No issuer holds more than perIssuer of the slots, even while the others
// are free (an issuer here is what Issuer.shareKey names: the AtlasIssuers
// of one namespace together, or one cluster issuer): a slot held by a slow
// or hostile Atlas frees only when its call ends, so slots an issuer could
// borrow would be missing when another issuer's request arrives.
//
// A request that cannot have a slot now does not wait for one on its
// reconcile worker: it gets a place in line, kept for it by its UID across
// reconciles, and its Sign returns at once as pending, so that the request
// says what it waits for and the worker is free. A freed slot is granted to
// the first place in line whose issuer is under its share, held for that
// request, and the request is woken; its next Sign takes the slot. So the
// places are served in arrival order among those still under their share,
// as the requests themselves would be.
//
// One issuer may have only as many places in line as it may hold slots:
// the next request is turned away (SlotWait.Queued is false) and asks again
// later, so that one tenant's burst neither fills the line nor makes every
// freed slot scan past it.
type Limiter struct {
	mu        sync.Mutex
	clock     clock.PassiveClock
	size      int
	perIssuer int
	used      int
	held      map[string]int
	waiting   map[string]int
	// queue holds the places not yet granted, in arrival order; places
	// holds every place, granted or not, by request.
	queue  []*place
	places map[types.UID]*place
}

// ErrIssuerBusy is what a SlotWait of a request turned away from the line
// unwraps to: its issuer holds its share of the slots and has as many
// requests in line.
var ErrIssuerBusy = errors.New("the issuer has its share of the Atlas slots in use and as many requests in line")

// place is a request's place in line for a slot.
type place struct {
	issuer string
	uid    types.UID
	// granted says a slot is held for the request; since is when it was
	// granted, or before that when the request last asked.
	granted bool
	since   time.Time
	// wake brings the request back to Sign; it is called once, when the
	// place is granted.
	wake func()
	m    *Metrics
	// queued is the intent the request wrote while in line, handed to the
	// Sign that takes the slot.
	queued *queuedIntent
}

// SlotWait is Limiter.take's answer to a request that has no slot yet: how
// full its issuer's share and the whole pool are, and whether it has a
// place in line.
type SlotWait struct {
	// Held of at most Share slots are held by the request's issuer, and
	// InUse of all Size slots by every issuer; InLine of the issuer's
	// requests are in line.
	Held, Share, InUse, Size, InLine int
	// Queued says the request has a place in line; without one it asks
	// again later and queues then.
	Queued bool
	// New says this take gave the request its place.
	New bool
}

func (w *SlotWait) Error() string {
	if !w.Queued {
		return fmt.Sprintf("%d of %d Atlas slots held and %d requests in line for the issuer's share", w.Held, w.Share, w.InLine)
	}
	return fmt.Sprintf("%d of %d Atlas slots held by the issuer's share, %d of %d in use", w.Held, w.Share, w.InUse, w.Size)
}

// Unwrap is ErrIssuerBusy for a request turned away from the line.
func (w *SlotWait) Unwrap() error {
	if w.Queued {
		return nil
	}
	return ErrIssuerBusy
}

// NewLimiter returns a Limiter of n slots (at least one) of which one
// issuer may hold at most max(1, ceil(n*share)); a share outside (0, 1]
// means DefaultIssuerShare. clk times the places in line.
func NewLimiter(n int, share float64, clk clock.PassiveClock) *Limiter {
	n = max(n, 1)
	if !(share > 0 && share <= 1) {
		share = DefaultIssuerShare
	}
	return &Limiter{
		clock: clk, size: n, perIssuer: IssuerSlots(n, share),
		held: map[string]int{}, waiting: map[string]int{}, places: map[types.UID]*place{},
	}
}

// IssuerSlots is the number of slots of n one issuer may hold at share.
func IssuerSlots(n int, share float64) int {
	return min(max(1, int(math.Ceil(float64(n)*share))), max(n, 1))
}

// slotGrant is a slot taken for a request: its release, to be called once,
// and the intent the request wrote while in line for it, if any.
type slotGrant struct {
	release func()
	queued  *queuedIntent
}

// take gives the request uid of issuer a slot when it may call Atlas now:
// its place in line was granted one, or, with no place, a slot is free
// under the issuer's share. Otherwise it returns a *SlotWait, and the
// request keeps its place in line or gets one, unless its issuer has as
// many places as slots; wake is called once when the place is granted. A
// request without a UID is never given a place. A nil Limiter does not
// limit. m, which may be nil, counts the requests in line and the slots
// held.
func (l *Limiter) take(issuer string, uid types.UID, wake func(), m *Metrics) (slotGrant, error) {
	if l == nil {
		return slotGrant{release: func() {}}, nil
	}
	l.mu.Lock()
	now := l.clock.Now()
	woken := l.expireLocked(now)
	g, err := l.takeLocked(issuer, uid, wake, m, now)
	l.mu.Unlock()
	for _, w := range woken {
		w()
	}
	return g, err
}

func (l *Limiter) takeLocked(issuer string, uid types.UID, wake func(), m *Metrics, now time.Time) (slotGrant, error) {
	if p := l.places[uid]; p != nil && uid != "" {
		if p.granted {
			delete(l.places, uid)
			return slotGrant{release: l.releaser(p.issuer, p.m), queued: p.queued}, nil
		}
		p.since, p.wake = now, wake
		return slotGrant{}, l.waitLocked(p.issuer, true, false)
	}
	if l.used < l.size && l.held[issuer] < l.perIssuer {
		l.takeSlotLocked(issuer)
		m.inFlight(1)
		return slotGrant{release: l.releaser(issuer, m)}, nil
	}
	if uid == "" || l.held[issuer]+l.waiting[issuer] >= 2*l.perIssuer {
		return slotGrant{}, l.waitLocked(issuer, false, false)
	}
	p := &place{issuer: issuer, uid: uid, since: now, wake: wake, m: m}
	l.queue = append(l.queue, p)
	l.places[uid] = p
	l.waiting[issuer]++
	m.waiting(1)
	return slotGrant{}, l.waitLocked(issuer, true, true)
}

func (l *Limiter) waitLocked(issuer string, queued, isNew bool) *SlotWait {
	return &SlotWait{
		Held: l.held[issuer], Share: l.perIssuer, InUse: l.used, Size: l.size, InLine: l.waiting[issuer],
		Queued: queued, New: isNew,
	}
}

// noteIntent keeps with the request's place in line the intent it wrote
// there, for the Sign that takes its slot. Without a place it does nothing.
func (l *Limiter) noteIntent(uid types.UID, q *queuedIntent) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p := l.places[uid]; p != nil {
		p.queued = q
	}
}

// forget gives up the request's place in line, and the slot granted to it:
// the request settled or is gone, and will not take it.
func (l *Limiter) forget(uid types.UID) {
	if l == nil {
		return
	}
	l.mu.Lock()
	var woken []func()
	if p := l.places[uid]; p != nil {
		woken = l.dropLocked(p)
	}
	l.mu.Unlock()
	for _, w := range woken {
		w()
	}
}

// expireLocked drops the places whose requests stopped asking (placeTimeout)
// or did not take the slot granted to them (grantTimeout), and returns the
// wakes of the places granted the slots that frees.
func (l *Limiter) expireLocked(now time.Time) []func() {
	var woken []func()
	for _, p := range l.places {
		if (p.granted && now.Sub(p.since) >= grantTimeout) || (!p.granted && now.Sub(p.since) >= placeTimeout) {
			woken = append(woken, l.dropLocked(p)...)
		}
	}
	return woken
}

// dropLocked removes p: out of line, or its granted slot given back. It
// returns the wakes of the places granted slots meanwhile.
func (l *Limiter) dropLocked(p *place) []func() {
	delete(l.places, p.uid)
	if p.granted {
		p.m.inFlight(-1)
		return l.giveLocked(p.issuer)
	}
	l.queue = slices.DeleteFunc(l.queue, func(q *place) bool { return q == p })
	l.unwaitLocked(p.issuer)
	p.m.waiting(-1)
	return nil
}

func (l *Limiter) releaser(issuer string, m *Metrics) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			m.inFlight(-1)
			l.mu.Lock()
			woken := l.giveLocked(issuer)
			l.mu.Unlock()
			for _, w := range woken {
				w()
			}
		})
	}
}

// takeSlotLocked counts a slot as held by issuer.
func (l *Limiter) takeSlotLocked(issuer string) {
	l.used++
	l.held[issuer]++
}

// giveLocked returns issuer's slot and grants free slots to the first
// places in line still under their share; it returns their wakes, for the
// caller to call once l.mu is released.
func (l *Limiter) giveLocked(issuer string) []func() {
	l.used--
	if l.held[issuer]--; l.held[issuer] <= 0 {
		delete(l.held, issuer)
	}
	var woken []func()
	now := l.clock.Now()
	for i := 0; i < len(l.queue) && l.used < l.size; {
		p := l.queue[i]
		if l.held[p.issuer] >= l.perIssuer {
			i++
			continue
		}
		l.takeSlotLocked(p.issuer)
		l.unwaitLocked(p.issuer)
		p.m.waiting(-1)
		p.m.inFlight(1)
		p.granted, p.since = true, now
		if p.wake != nil {
			woken = append(woken, p.wake)
		}
		l.queue = append(l.queue[:i], l.queue[i+1:]...)
	}
	return woken
}

// unwaitLocked counts one of issuer's places in line gone.
func (l *Limiter) unwaitLocked(issuer string) {
	if l.waiting[issuer]--; l.waiting[issuer] <= 0 {
		delete(l.waiting, issuer)
	}
}
