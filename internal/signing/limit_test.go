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
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

// wakes records which requests' places were granted a slot, in order.
type wakes struct {
	mu  sync.Mutex
	got []types.UID
}

func (w *wakes) of(uid types.UID) func() {
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.got = append(w.got, uid)
	}
}

// take returns what was woken since the last take, and forgets it.
func (w *wakes) take() []types.UID {
	w.mu.Lock()
	defer w.mu.Unlock()
	got := w.got
	w.got = nil
	return got
}

// mustSlot takes a slot for uid, failing unless one is given at once.
func mustSlot(t *testing.T, l *Limiter, issuer string, uid types.UID, w *wakes, m *Metrics) func() {
	t.Helper()
	g, err := l.take(issuer, uid, w.of(uid), m)
	if err != nil {
		t.Fatalf("%s of %s: %v, want a slot", uid, issuer, err)
	}
	return g.release
}

// mustQueue takes for uid, failing unless it is given a place in line;
// isNew says whether the place must be a new one.
func mustQueue(t *testing.T, l *Limiter, issuer string, uid types.UID, w *wakes, m *Metrics, isNew bool) SlotWait {
	t.Helper()
	_, err := l.take(issuer, uid, w.of(uid), m)
	wait, ok := errors.AsType[*SlotWait](err)
	if !ok || !wait.Queued || wait.New != isNew {
		t.Fatalf("%s of %s: %v, want a place in line (new: %v)", uid, issuer, err, isNew)
	}
	return *wait
}

func expectGauges(t *testing.T, m *Metrics, inFlight, waiting float64, when string) {
	t.Helper()
	if f, w := testutil.ToFloat64(m.signInFlight), testutil.ToFloat64(m.signWaiting); f != inFlight || w != waiting {
		t.Errorf("%s: in flight %v, waiting %v; want %v and %v", when, f, w, inFlight, waiting)
	}
}

// TestLimiter: requests take free slots; the next one gets a place in line
// and keeps it while it asks again; a release grants the slot to the place
// and wakes its request, whose next take gets the slot with nothing else
// in between able to take it.
func TestLimiter(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	clk := clocktesting.NewFakePassiveClock(time.Now())
	l := NewLimiter(2, 1, clk)
	var w wakes
	r1 := mustSlot(t, l, "a", "r1", &w, m)
	r2 := mustSlot(t, l, "a", "r2", &w, m)
	expectGauges(t, m, 2, 0, "two slots taken")

	wait := mustQueue(t, l, "a", "r3", &w, m, true)
	if wait.Held != 2 || wait.Share != 2 || wait.InUse != 2 || wait.Size != 2 {
		t.Errorf("wait = %+v, want 2 of 2 held, 2 of 2 in use", wait)
	}
	clk.SetTime(clk.Now().Add(time.Second))
	mustQueue(t, l, "a", "r3", &w, m, false)
	expectGauges(t, m, 2, 1, "a third request in line")

	r1()
	r1() // a second call of a release gives nothing back
	if got := w.take(); len(got) != 1 || got[0] != "r3" {
		t.Fatalf("woken at the release = %v, want r3", got)
	}
	expectGauges(t, m, 2, 0, "the slot granted to r3")
	// The slot is held for r3: a newcomer gets a place instead.
	mustQueue(t, l, "a", "r4", &w, m, true)
	r3 := mustSlot(t, l, "a", "r3", &w, m)
	expectGauges(t, m, 2, 1, "r3 took its slot")
	r2()
	r3()
	if got := w.take(); len(got) != 1 || got[0] != "r4" {
		t.Fatalf("woken = %v, want r4", got)
	}
	mustSlot(t, l, "a", "r4", &w, m)()
	expectGauges(t, m, 0, 0, "after every release")

	var unlimited *Limiter
	g, err := unlimited.take("a", "r5", nil, m)
	if err != nil {
		t.Fatal(err)
	}
	g.release()
	if l := NewLimiter(0, 0.5, clk); l.size != 1 || l.perIssuer != 1 {
		t.Errorf("a limiter of 0 slots has %d slots, %d per issuer; want 1 and 1, or it would never sign", l.size, l.perIssuer)
	}
	// A request without a UID cannot be found again, so it gets no place.
	one := NewLimiter(1, 1, clk)
	hold := mustSlot(t, one, "a", "r6", &w, nil)
	if _, err := one.take("a", "", nil, nil); !errors.Is(err, ErrIssuerBusy) {
		t.Errorf("a request without a UID = %v, want turned away", err)
	}
	hold()
}

// TestLimiterPlacesExpire: a place whose request stops asking is dropped,
// and a slot granted to a request that does not come passes on.
func TestLimiterPlacesExpire(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	clk := clocktesting.NewFakePassiveClock(time.Now())
	// Every request has an issuer of its own, so that no share bounds the
	// line.
	l := NewLimiter(1, 1, clk)
	var w wakes
	hold := mustSlot(t, l, "holder", "holder", &w, m)
	mustQueue(t, l, "gone", "gone", &w, m, true)
	mustQueue(t, l, "asking", "asking", &w, m, true)
	// Asking keeps a place; one not asked for within placeTimeout goes.
	clk.SetTime(clk.Now().Add(placeTimeout - time.Second))
	mustQueue(t, l, "asking", "asking", &w, m, false)
	clk.SetTime(clk.Now().Add(time.Second))
	mustQueue(t, l, "late", "late", &w, m, true)
	expectGauges(t, m, 1, 2, "the unasked place dropped")

	hold()
	if got := w.take(); len(got) != 1 || got[0] != "asking" {
		t.Fatalf("woken = %v, want the first place still asking", got)
	}
	// "asking" does not come for its slot: it passes on to "late".
	clk.SetTime(clk.Now().Add(grantTimeout - time.Second))
	mustQueue(t, l, "late", "late", &w, m, false)
	clk.SetTime(clk.Now().Add(time.Second))
	mustQueue(t, l, "newcomer", "newcomer", &w, m, true)
	if got := w.take(); len(got) != 1 || got[0] != "late" {
		t.Fatalf("woken once the grant expired = %v, want late", got)
	}
	mustSlot(t, l, "late", "late", &w, m)()
	if got := w.take(); len(got) != 1 || got[0] != "newcomer" {
		t.Fatalf("woken = %v, want newcomer", got)
	}
	// The request that let its grant expire comes back at the end of the
	// line.
	mustQueue(t, l, "asking", "asking", &w, m, true)
	mustSlot(t, l, "newcomer", "newcomer", &w, m)()
	mustSlot(t, l, "asking", "asking", &w, m)()
	expectGauges(t, m, 0, 0, "after every release")
}

// TestLimiterForget: a request that settles gives up its place, and a slot
// granted to it passes on at once.
func TestLimiterForget(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	// Every request has an issuer of its own, as above.
	l := NewLimiter(1, 1, clocktesting.NewFakePassiveClock(time.Now()))
	var w wakes
	hold := mustSlot(t, l, "holder", "holder", &w, m)
	mustQueue(t, l, "first", "first", &w, m, true)
	mustQueue(t, l, "second", "second", &w, m, true)
	mustQueue(t, l, "third", "third", &w, m, true)
	l.forget("second")
	expectGauges(t, m, 1, 2, "a place forgotten")
	hold()
	if got := w.take(); len(got) != 1 || got[0] != "first" {
		t.Fatalf("woken = %v, want first", got)
	}
	l.forget("first")
	if got := w.take(); len(got) != 1 || got[0] != "third" {
		t.Fatalf("woken once the granted request settled = %v, want third", got)
	}
	mustSlot(t, l, "third", "third", &w, m)()
	l.forget("nobody")
	expectGauges(t, m, 0, 0, "after every release")
}

// TestLimiterFairShare: an issuer at its share neither takes a free slot
// nor has more places in line than its share, and a freed slot goes to the
// first place still under its share.
func TestLimiterFairShare(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	l := NewLimiter(4, 0.5, clocktesting.NewFakePassiveClock(time.Now()))
	var w wakes

	h1, h2 := mustSlot(t, l, "hostile", "h1", &w, m), mustSlot(t, l, "hostile", "h2", &w, m)
	// Two slots are free, but not to the hostile issuer.
	if wait := mustQueue(t, l, "hostile", "h3", &w, m, true); wait.Held != 2 || wait.InUse != 2 {
		t.Errorf("wait = %+v, want 2 held of 2 in use", wait)
	}
	mustQueue(t, l, "hostile", "h4", &w, m, true)
	_, err := l.take("hostile", "h5", w.of("h5"), m)
	if wait, ok := errors.AsType[*SlotWait](err); !ok || wait.Queued || !errors.Is(err, ErrIssuerBusy) || wait.InLine != 2 {
		t.Fatalf("hostile with its share held and as many in line = %v, want turned away", err)
	}

	g1, g2 := mustSlot(t, l, "good", "g1", &w, m), mustSlot(t, l, "good", "g2", &w, m)
	mustQueue(t, l, "good", "g3", &w, m, true)
	// The line is h3, h4, g3: the hostile places are at their share, so
	// the good one gets the slot a good request frees.
	g1()
	if got := w.take(); len(got) != 1 || got[0] != "g3" {
		t.Fatalf("woken = %v, want g3 and no hostile place beyond its share", got)
	}
	h1()
	if got := w.take(); len(got) != 1 || got[0] != "h3" {
		t.Fatalf("woken = %v, want h3, first in line", got)
	}
	for _, release := range []func(){
		h2, g2, mustSlot(t, l, "good", "g3", &w, m), mustSlot(t, l, "hostile", "h3", &w, m),
	} {
		release()
	}
	if got := w.take(); len(got) != 1 || got[0] != "h4" {
		t.Fatalf("woken = %v, want h4", got)
	}
	mustSlot(t, l, "hostile", "h4", &w, m)()
	expectGauges(t, m, 0, 0, "after every release")
	if got := IssuerSlots(16, 0.5); got != 8 {
		t.Errorf("IssuerSlots(16, 0.5) = %d, want 8", got)
	}
	if got := IssuerSlots(3, 0.1); got != 1 {
		t.Errorf("IssuerSlots(3, 0.1) = %d, want 1", got)
	}
}
