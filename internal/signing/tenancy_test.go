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
	"testing"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	"github.com/prometheus/client_golang/prometheus"
	ctrlfake "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/credentials"
)

// withClientConfig rebuilds e's signer with empty caches and Atlas clients
// built from base.
func (e *env) withClientConfig(base atlas.Config) {
	sec := e.secret.DeepCopy()
	sec.ResourceVersion = ""
	api := ctrlfake.NewClientBuilder().WithObjects(sec).Build()
	loader := &credentials.Loader{Cache: credentials.NewCache(base), API: api, Clock: e.clock}
	e.signer = New(loader, e.ann, nil, e.clock)
}

// tenants are two issuers, each with its own Atlas, behind one signer.
type tenants struct {
	signer           *Signer
	good, hostile    *env
	goodIss, hostIss Issuer
}

func newTenants(t *testing.T) *tenants {
	t.Helper()
	good, hostile := newEnv(t, fake.Options{}), newEnv(t, fake.Options{})
	gsec, hsec := good.secret.DeepCopy(), hostile.secret.DeepCopy()
	gsec.ResourceVersion, hsec.ResourceVersion = "", ""
	hsec.Namespace, hsec.UID = "hostile", "hostile-secret-uid"
	api := ctrlfake.NewClientBuilder().WithObjects(gsec, hsec).Build()
	loader := &credentials.Loader{Cache: credentials.NewCache(atlas.Config{Clock: good.clock}), API: api, Clock: good.clock}
	ts := &tenants{signer: New(loader, anyVersion{}, NewMetrics(prometheus.NewRegistry()), good.clock), good: good, hostile: hostile,
		goodIss: good.iss, hostIss: hostile.iss}
	ts.hostIss.Key = "AtlasIssuer/hostile/atlas"
	ts.hostIss.Namespace = "hostile"
	ts.hostIss.Secret.Namespace = "hostile"
	return ts
}

// gate holds every Atlas call of one fake until it is opened, and reports
// each call that reached it.
type gate struct {
	entered chan string
	open    chan struct{}
	once    sync.Once
}

func holdCalls(t *testing.T, f *fake.Server) *gate {
	g := &gate{entered: make(chan string, 64), open: make(chan struct{})}
	f.SetCallHook(func(op string) {
		g.entered <- op
		<-g.open
	})
	// Cleanups run last-in first-out: the calls are let go before the fake
	// closes.
	t.Cleanup(g.release)
	return g
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// expectSlotFree fails unless issuer gets a slot of l at once.
func expectSlotFree(t *testing.T, l *Limiter, issuer, when string) {
	t.Helper()
	g, err := l.take(issuer, "probe", nil, nil)
	if err != nil {
		t.Fatalf("no free slot %s: %v", when, err)
	}
	g.release()
}

// TestHostileIssuerCannotTakeAnotherIssuersSlots: an issuer whose Atlas
// never answers holds its share of the slots and has as many requests in
// line; its next request, and one through another issuer of its
// namespace, is turned away at once as pending, and another tenant's
// request still gets a slot and is signed.
func TestHostileIssuerCannotTakeAnotherIssuersSlots(t *testing.T) {
	ts := newTenants(t)
	ctx := context.Background()
	// Warm both accounts, so that the held calls are the POSTs.
	for _, w := range []struct {
		e    *env
		iss  Issuer
		name string
	}{{ts.good, ts.goodIss, "warm-good.example.com"}, {ts.hostile, ts.hostIss, "warm-hostile.example.com"}} {
		if _, err := ts.signer.Sign(ctx, w.e.request(w.name, false), w.iss); err != nil {
			t.Fatal(err)
		}
	}
	ts.signer.Limiter = NewLimiter(4, 0.5, ts.good.clock)
	woken := wokenRequests(ts.signer)
	g := holdCalls(t, ts.hostile.fake)

	holders := make(chan error, 2)
	for i := range 2 {
		req := ts.hostile.request("hostile-"+string(rune('a'+i))+".example.com", false)
		go func() {
			_, err := ts.signer.Sign(ctx, req, ts.hostIss)
			holders <- err
		}()
	}
	// Two hold the issuer's two slots in Atlas; two get places in line.
	<-g.entered
	<-g.entered
	inLine := map[string]Request{}
	for i := 2; i < 4; i++ {
		req := ts.hostile.request("hostile-"+string(rune('a'+i))+".example.com", false)
		_, err := ts.signer.Sign(ctx, req, ts.hostIss)
		if wait, ok := errors.AsType[*SlotWait](err); !ok || !wait.Queued {
			t.Fatalf("hostile request beyond the share = %v, want a place in line", err)
		}
		inLine[req.Object.GetName()] = req
	}

	_, err := ts.signer.Sign(ctx, ts.hostile.request("hostile-e.example.com", false), ts.hostIss)
	var pe signer.PendingError
	if !errors.As(err, &pe) || !errors.Is(err, ErrIssuerBusy) || pe.RequeueAfter != busyRequeue {
		t.Fatalf("fifth hostile request = %v, want pending with ErrIssuerBusy after %s", err, busyRequeue)
	}
	// An older request turned away comes back later.
	old := ts.hostile.request("hostile-old.example.com", false)
	ts.good.clock.SetTime(old.Object.GetCreationTimestamp().Add(time.Minute)) // the signer's clock
	if _, err := ts.signer.Sign(ctx, old, ts.hostIss); !errors.As(err, &pe) || pe.RequeueAfter != 15*time.Second {
		t.Fatalf("hostile request a minute old = %v, want pending after 15s", err)
	}
	// A second issuer in the hostile namespace shares the same share.
	second := ts.hostIss
	second.Key, second.Name = "AtlasIssuer/hostile/atlas-2", "atlas-2"
	if _, err := ts.signer.Sign(ctx, ts.hostile.request("hostile-f.example.com", false), second); !errors.Is(err, ErrIssuerBusy) {
		t.Fatalf("request through a second hostile issuer = %v, want ErrIssuerBusy", err)
	}

	if _, err := ts.signer.Sign(ctx, ts.good.request("good.example.com", false), ts.goodIss); err != nil {
		t.Fatalf("the other issuer's request was not signed while the hostile one held its share: %v", err)
	}
	select {
	case op := <-g.entered:
		t.Fatalf("a hostile %s reached Atlas beyond the issuer's share of the slots", op)
	default:
	}

	g.release()
	for range 2 {
		if err := <-holders; err != nil {
			t.Errorf("hostile request once let go: %v", err)
		}
	}
	for range 2 {
		if _, err := ts.signer.Sign(ctx, inLine[<-woken], ts.hostIss); err != nil {
			t.Errorf("hostile request in line, once woken: %v", err)
		}
	}
}

// TestRetryAfterFreesTheSlot: a 429 with Retry-After ends the call at once,
// frees the slot and comes back as a pending request requeued after the
// server's wait, capped so that a hostile Retry-After cannot park it.
func TestRetryAfterFreesTheSlot(t *testing.T) {
	tests := []struct {
		retryAfter, want time.Duration
	}{
		{7 * time.Second, 7 * time.Second},
		{24 * time.Hour, maxRetryAfter},
	}
	for _, tt := range tests {
		e := newEnv(t, fake.Options{})
		e.signer.Limiter = NewLimiter(1, 1, e.clock)
		if _, err := e.signer.Sign(context.Background(), e.request("warm.example.com", false), e.iss); err != nil {
			t.Fatal(err)
		}
		e.fake.Reset()
		e.fake.SetFaults(fake.Faults{RateLimitRate: 1, RetryAfter: tt.retryAfter, Operations: []string{fake.OpRequestCertificate}})
		_, err := e.signer.Sign(context.Background(), e.request("limited.example.com", false), e.iss)
		var pe signer.PendingError
		if !errors.As(err, &pe) || atlas.StatusCode(err) != 429 || pe.RequeueAfter != tt.want ||
			!strings.Contains(err.Error(), fmt.Sprintf("waiting %s for Atlas's Retry-After", tt.want)) {
			t.Fatalf("Retry-After %s: Sign = %#v, want pending 429 requeued after %s, saying so", tt.retryAfter, err, tt.want)
		}
		if n := e.calls(fake.OpRequestCertificate); n != 1 {
			t.Errorf("POSTs = %d, want 1: the client must not retry inside the slot", n)
		}
		expectSlotFree(t, e.signer.Limiter, e.iss.shareKey(), "after the 429")
	}
}

// TestSignAndCheckEndAtTheirDeadline: against an Atlas that never answers,
// Sign and Check return at their deadline, and the slot is free again.
func TestSignAndCheckEndAtTheirDeadline(t *testing.T) {
	e := newEnv(t, fake.Options{})
	e.signer.Limiter = NewLimiter(1, 1, e.clock)
	if _, err := e.signer.Sign(context.Background(), e.request("warm.example.com", false), e.iss); err != nil {
		t.Fatal(err)
	}
	// The per-attempt timeout stays at 30s: only the deadlines can end
	// these. They leave the warm client ample time to reach the fake, whose
	// hook reports the held call.
	e.signer.SignTimeout, e.signer.CheckTimeout = 2*time.Second, 2*time.Second
	g := holdCalls(t, e.fake)

	_, err := e.signer.Sign(context.Background(), e.request("blackhole.example.com", false), e.iss)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sign = %v, want the deadline", err)
	}
	if op := <-g.entered; op != fake.OpRequestCertificate {
		t.Errorf("held call = %s, want the POST", op)
	}
	expectSlotFree(t, e.signer.Limiter, e.iss.shareKey(), "after Sign's deadline")

	_, err = e.signer.Check(context.Background(), e.iss)
	var ce *CheckError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ce) || ce.Cause != CauseAtlasUnreachable {
		t.Fatalf("Check = %v, want %s at the deadline", err, CauseAtlasUnreachable)
	}
	if op := <-g.entered; op != fake.OpValidationPolicy {
		t.Errorf("held call = %s, want the validation policy", op)
	}
}

// TestURLNotAllowed: an issuer whose URL is outside the allowlist is not
// Ready with a cause naming the flag, and its server never sees a login.
func TestURLNotAllowed(t *testing.T) {
	e := newEnv(t, fake.Options{})
	allow, err := atlas.ParseURLAllowlist(atlas.DefaultAllowedURLs)
	if err != nil {
		t.Fatal(err)
	}
	e.withClientConfig(atlas.Config{AllowedURLs: allow})
	_, err = e.signer.Check(context.Background(), e.iss)
	var ce *CheckError
	if !errors.As(err, &ce) || ce.Cause != CauseURLNotAllowed || !strings.Contains(err.Error(), "--allowed-atlas-urls") {
		t.Fatalf("Check = %v, want %s naming --allowed-atlas-urls", err, CauseURLNotAllowed)
	}
	_, err = e.signer.Sign(context.Background(), e.request("www.example.com", false), e.iss)
	var ie signer.IssuerError
	if !errors.As(err, &ie) || !errors.As(err, &ce) || ce.Cause != CauseURLNotAllowed {
		t.Fatalf("Sign = %v, want an issuer error %s", err, CauseURLNotAllowed)
	}
	if n := e.fake.TotalCalls(); n != 0 {
		t.Fatalf("the refused server saw %d calls (%v)", n, e.fake.Calls())
	}

	// Positive control: allowing the fake's host lets the same issuer log in.
	here, err := atlas.ParseURLAllowlist("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e.withClientConfig(atlas.Config{AllowedURLs: here})
	if _, err := e.signer.Check(context.Background(), e.iss); err != nil {
		t.Fatal(err)
	}
	if n := e.calls(fake.OpLogin); n != 1 {
		t.Fatalf("logins = %d, want 1", n)
	}
}

func TestShareKey(t *testing.T) {
	tests := []struct {
		iss  Issuer
		want string
	}{
		{Issuer{Key: "AtlasIssuer/team-a/one", Namespace: "team-a"}, "namespace/team-a"},
		{Issuer{Key: "AtlasIssuer/team-a/two", Namespace: "team-a"}, "namespace/team-a"},
		{Issuer{Key: "AtlasClusterIssuer//shared"}, "AtlasClusterIssuer//shared"},
		{Issuer{Key: "AtlasClusterIssuer//other"}, "AtlasClusterIssuer//other"},
	}
	for _, tt := range tests {
		if got := tt.iss.shareKey(); got != tt.want {
			t.Errorf("shareKey(%s) = %q, want %q", tt.iss.Key, got, tt.want)
		}
	}
}
