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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// wokenRequests is a Signer.Wake that reports the requests it is called
// for.
func wokenRequests(s *Signer) <-chan string {
	woken := make(chan string, 16)
	s.Wake = func(obj client.Object) { woken <- obj.GetName() }
	return woken
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

// TestSignHonoursTheLimiter: while two requests hold both slots in Atlas,
// two more return at once as pending, saying what they wait for, and send
// nothing to Atlas; once the slots free they are woken and signed.
func TestSignHonoursTheLimiter(t *testing.T) {
	e := newEnv(t, fake.Options{})
	e.signer.Annotator = anyVersion{}
	e.signer.Limiter = NewLimiter(2, 1, e.clock)
	e.signer.Metrics = NewMetrics(prometheus.NewRegistry())
	woken := wokenRequests(e.signer)
	// Load the account first, so the measured calls are the signing ones.
	if _, err := e.signer.Sign(context.Background(), e.request("warm.example.com", false), e.iss); err != nil {
		t.Fatal(err)
	}
	reqs := make([]Request, 4)
	for i := range reqs {
		reqs[i] = e.request(fmt.Sprintf("www%c.example.com", 'a'+i), false)
	}
	e.fake.Reset()
	// Every POST waits in the fake until the test lets it go.
	g := holdCalls(t, e.fake)
	var wg sync.WaitGroup
	for _, r := range reqs[:2] {
		wg.Go(func() {
			if _, err := e.signer.Sign(context.Background(), r, e.iss); err != nil {
				t.Error(err)
			}
		})
	}
	<-g.entered
	<-g.entered
	for _, r := range reqs[2:] {
		_, err := e.signer.Sign(context.Background(), r, e.iss)
		var pe signer.PendingError
		if !errors.As(err, &pe) || pe.RequeueAfter != queuedRequeue ||
			!strings.Contains(err.Error(), "waiting for an Atlas slot: the AtlasIssuers of namespace ns hold 2 of their 2 slots") {
			t.Fatalf("Sign with both slots held = %v, want pending, naming the slot wait", err)
		}
	}
	if n := e.calls(fake.OpRequestCertificate); n != 2 {
		t.Fatalf("POSTs while both slots are held = %d, want 2", n)
	}
	g.release()
	wg.Wait()
	for range 2 {
		name := <-woken
		r := reqs[2]
		if name == reqs[3].Object.GetName() {
			r = reqs[3]
		}
		if _, err := e.signer.Sign(context.Background(), r, e.iss); err != nil {
			t.Fatalf("woken request %s: %v", name, err)
		}
	}
	if got := e.fake.CallCount(fake.OpRequestCertificate); got != len(reqs) {
		t.Fatalf("POSTs = %d, want %d", got, len(reqs))
	}
	if got := e.fake.PeakInFlight(); got != 2 {
		t.Errorf("peak Atlas calls in flight = %d, want 2", got)
	}
	expectGauges(t, e.signer.Metrics, 0, 0, "after every request")
}

// BenchmarkLimiter measures one take and release of a slot, or of a place
// in line, by parallel goroutines of four issuers.
func BenchmarkLimiter(b *testing.B) {
	l := NewLimiter(16, DefaultIssuerShare, clocktesting.NewFakePassiveClock(time.Now()))
	issuers := []string{"a", "b", "c", "d"}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		n := next.Add(1)
		issuer := issuers[n%int64(len(issuers))]
		uid := types.UID(fmt.Sprint(n))
		for pb.Next() {
			g, err := l.take(issuer, uid, nil, nil)
			if err != nil {
				l.forget(uid)
				continue
			}
			g.release()
		}
	})
}
