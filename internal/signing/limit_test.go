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
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// acquire reserves a slot and waits for it, as Sign does with nothing to
// do in between.
func (l *Limiter) acquire(ctx context.Context, issuer string, m *Metrics) (release func(), err error) {
	t, err := l.reserve(issuer, m)
	if err != nil {
		return nil, err
	}
	return t.wait(ctx)
}

func TestLimiter(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	l := NewLimiter(2, 1)
	r1, err := l.acquire(context.Background(), "a", m)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.acquire(context.Background(), "a", m)
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(m.signInFlight); got != 2 {
		t.Errorf("in flight = %v, want 2", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.acquire(ctx, "a", m); !errors.Is(err, context.Canceled) {
		t.Fatalf("third acquire with both slots taken = %v, want the context's end", err)
	}
	if got := testutil.ToFloat64(m.signWaiting); got != 0 {
		t.Errorf("waiting = %v after a wait gave up, want 0", got)
	}

	got := make(chan func())
	go func() {
		r, err := l.acquire(context.Background(), "a", m)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	for testutil.ToFloat64(m.signWaiting) != 1 {
		runtime.Gosched()
	}
	// The third acquire counts itself waiting before it blocks, and only
	// a release can unblock it.
	select {
	case <-got:
		t.Fatal("a third request got a slot while two were taken")
	default:
	}
	r1()
	r3 := <-got
	if w, f := testutil.ToFloat64(m.signWaiting), testutil.ToFloat64(m.signInFlight); w != 0 || f != 2 {
		t.Errorf("after a release: waiting %v, in flight %v; want 0 and 2", w, f)
	}
	r2()
	r3()
	if f := testutil.ToFloat64(m.signInFlight); f != 0 {
		t.Errorf("in flight = %v after every release, want 0", f)
	}

	var unlimited *Limiter
	release, err := unlimited.acquire(context.Background(), "a", m)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if l := NewLimiter(0, 0.5); l.size != 1 || l.perIssuer != 1 {
		t.Errorf("a limiter of 0 slots has %d slots, %d per issuer; want 1 and 1, or it would never sign", l.size, l.perIssuer)
	}
}

// TestSlotTicket: a ticket taken with a slot free is not queued; one taken
// with every slot held keeps its place in line while its holder does other
// work, gets the slot a release hands it before its wait begins, and gives
// its place up when its wait ends without it.
func TestSlotTicket(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	l := NewLimiter(1, 1)
	t1, err := l.reserve("a", m)
	if err != nil || t1.queued() {
		t.Fatalf("reserve with a slot free = %v, %v; want a slot", t1, err)
	}
	r1, err := t1.wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t2, err := l.reserve("a", m)
	if err != nil || !t2.queued() {
		t.Fatalf("reserve with the slot held = %v, %v; want a place in line", t2, err)
	}
	// Another issuer's request queues behind t2.
	t3, err := l.reserve("b", m)
	if err != nil || !t3.queued() {
		t.Fatalf("second reserve with the slot held = %v, %v; want a place in line", t3, err)
	}
	r1()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	// Granted at the release, before the wait: even an ended context gets it.
	r2, err := t2.wait(done)
	if err != nil {
		// The select may see the ended context first; the slot must then
		// pass on to t3.
		r3, err := t3.wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		r3()
	} else {
		if _, err := t3.wait(done); !errors.Is(err, context.Canceled) {
			t.Fatalf("wait of a ticket behind a held slot = %v, want the context's end", err)
		}
		r2()
	}
	if w, f := testutil.ToFloat64(m.signWaiting), testutil.ToFloat64(m.signInFlight); w != 0 || f != 0 {
		t.Errorf("after every wait and release: waiting %v, in flight %v; want 0 and 0", w, f)
	}
	expectSlotFree(t, l, "a", "after every ticket")
}

// anyVersion accepts every annotation write: concurrent Signs annotate
// different objects, which memAnnotator's single version cannot model.
type anyVersion struct{}

func (anyVersion) Annotate(context.Context, client.Object, map[string]string, ...string) error {
	return nil
}

func (anyVersion) AnnotateOwn(context.Context, client.Object, map[string]string) error {
	return nil
}

func TestSignHonoursTheLimiter(t *testing.T) {
	e := newEnv(t, fake.Options{})
	e.signer.Annotator = anyVersion{}
	e.signer.Limiter = NewLimiter(2, 1)
	e.signer.Metrics = NewMetrics(prometheus.NewRegistry())
	// Load the account first, so the measured calls are the signing ones.
	if _, err := e.signer.Sign(context.Background(), e.request("warm.example.com", false), e.iss); err != nil {
		t.Fatal(err)
	}
	// Two hold the slots and two wait: as many as the issuer may queue.
	reqs := make([]Request, 4)
	for i := range reqs {
		reqs[i] = e.request("www"+string(rune('a'+i))+".example.com", false)
	}
	e.fake.Reset()
	// Every POST waits in the fake until the test lets it go. Once two
	// POSTs are held and the other two Signs wait for a slot, a third
	// POST could only come from a limiter that lets it through.
	posts := make(chan struct{}, len(reqs))
	gate := make(chan struct{})
	e.fake.SetCallHook(func(op string) {
		if op == fake.OpRequestCertificate {
			posts <- struct{}{}
			<-gate
		}
	})
	defer e.fake.SetCallHook(nil)
	var wg sync.WaitGroup
	for _, r := range reqs {
		wg.Go(func() {
			if _, err := e.signer.Sign(context.Background(), r, e.iss); err != nil {
				t.Error(err)
			}
		})
	}
	<-posts
	<-posts
	for testutil.ToFloat64(e.signer.Metrics.signWaiting) != float64(len(reqs)-2) {
		select {
		case <-posts:
			t.Fatal("a third POST reached Atlas while two held both slots")
		default:
			runtime.Gosched()
		}
	}
	close(gate)
	wg.Wait()
	if got := e.fake.CallCount(fake.OpRequestCertificate); got != len(reqs) {
		t.Fatalf("POSTs = %d, want %d", got, len(reqs))
	}
	if got := e.fake.PeakInFlight(); got != 2 {
		t.Errorf("peak Atlas calls in flight = %d, want 2", got)
	}
}

// TestLimiterFairShare: an issuer at its share neither takes a free slot
// nor queues beyond its share, and a freed slot goes to the first waiter
// still under its share.
func TestLimiterFairShare(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	l := NewLimiter(4, 0.5)
	ctx := context.Background()
	mustAcquire := func(issuer string) func() {
		t.Helper()
		r, err := l.acquire(ctx, issuer, m)
		if err != nil {
			t.Fatalf("%s: %v", issuer, err)
		}
		return r
	}
	waitFor := func(issuer string) <-chan func() {
		got := make(chan func(), 1)
		go func() {
			r, err := l.acquire(ctx, issuer, m)
			if err != nil {
				t.Error(err)
			}
			got <- r
		}()
		return got
	}
	waiting := func(n float64) {
		for testutil.ToFloat64(m.signWaiting) != n {
			runtime.Gosched()
		}
	}

	h1, h2 := mustAcquire("hostile"), mustAcquire("hostile")
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.acquire(done, "hostile", m); !errors.Is(err, context.Canceled) {
		t.Fatalf("hostile beyond its share with two slots free = %v, want a wait", err)
	}
	h3 := waitFor("hostile")
	waiting(1)
	h4 := waitFor("hostile")
	waiting(2)
	if _, err := l.acquire(ctx, "hostile", m); !errors.Is(err, ErrIssuerBusy) {
		t.Fatalf("hostile with its share held and as many waiting = %v, want ErrIssuerBusy", err)
	}

	g1, g2 := mustAcquire("good"), mustAcquire("good")
	g3 := waitFor("good")
	waiting(3)
	// The queue is hostile, hostile, good: the hostile waiters are at
	// their share, so the good one gets the slot a good request frees.
	g1()
	r := <-g3
	select {
	case <-h3:
		t.Fatal("a hostile waiter took a slot beyond its share")
	case <-h4:
		t.Fatal("a hostile waiter took a slot beyond its share")
	default:
	}
	h1()
	r3 := <-h3
	for _, release := range []func(){h2, g2, r, r3} {
		release()
	}
	(<-h4)()
	if f, w := testutil.ToFloat64(m.signInFlight), testutil.ToFloat64(m.signWaiting); f != 0 || w != 0 {
		t.Errorf("after every release: in flight %v, waiting %v; want 0 and 0", f, w)
	}
	if got := IssuerSlots(16, 0.5); got != 8 {
		t.Errorf("IssuerSlots(16, 0.5) = %d, want 8", got)
	}
	if got := IssuerSlots(3, 0.1); got != 1 {
		t.Errorf("IssuerSlots(3, 0.1) = %d, want 1", got)
	}
}

// BenchmarkLimiter measures one acquire and release with every slot
// contended by parallel goroutines of four issuers.
func BenchmarkLimiter(b *testing.B) {
	l := NewLimiter(16, DefaultIssuerShare)
	issuers := []string{"a", "b", "c", "d"}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		issuer := issuers[next.Add(1)%int64(len(issuers))]
		for pb.Next() {
			release, err := l.acquire(context.Background(), issuer, nil)
			if errors.Is(err, ErrIssuerBusy) {
				continue
			}
			if err != nil {
				b.Error(err)
				return
			}
			release()
		}
	})
}
