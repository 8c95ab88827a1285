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

package atlas_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func counterAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, atlas.Counter{Value: 1})
}

func TestConcurrentCallersShareOneLogin(t *testing.T) {
	f := newFakeAtlas(t, true) // HTTP/2, as against Atlas
	f.setAPI(counterAPI)
	// A slow login keeps it in flight while the other callers arrive.
	f.setLogin(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		f.standardLogin(w, r)
	})
	c, _ := newClient(t, f)

	const callers = 100
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := c.CountIssued(testCtx(t))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("call failed: %v", err)
		}
	}
	logins, api := f.counts()
	if logins != 1 || c.Logins() != 1 {
		t.Errorf("logins: server saw %d, client counted %d; want 1", logins, c.Logins())
	}
	if api != callers {
		t.Errorf("API calls = %d, want %d", api, callers)
	}
}

// newFakeClock returns a Config.Clock the test moves by hand.
func newFakeClock() *clocktesting.FakePassiveClock {
	return clocktesting.NewFakePassiveClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

func TestTokenRefreshedBeforeItExpires(t *testing.T) {
	f := newFakeAtlas(t, false)
	f.setAPI(counterAPI)
	clock := newFakeClock()
	c, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.Clock = clock })
	ctx := testCtx(t)

	call := func() {
		t.Helper()
		if _, err := c.CountIssued(ctx); err != nil {
			t.Fatal(err)
		}
	}
	call()
	// Defaults: lifetime 10m, margin 1m, so the token is used until 9m.
	clock.SetTime(clock.Now().Add(9*time.Minute - time.Second))
	call()
	if n := c.Logins(); n != 1 {
		t.Fatalf("logins after 8m59s = %d, want 1", n)
	}
	clock.SetTime(clock.Now().Add(time.Second))
	call()
	if n := c.Logins(); n != 2 {
		t.Fatalf("logins after 9m = %d, want 2", n)
	}
	if logins, _ := f.counts(); logins != 2 {
		t.Errorf("server saw %d logins, want 2", logins)
	}
}

func TestReloginOnceAfter401(t *testing.T) {
	f := newFakeAtlas(t, false)
	f.setAPI(counterAPI)
	c, _ := newClient(t, f)
	ctx := testCtx(t)
	if _, err := c.CountIssued(ctx); err != nil {
		t.Fatal(err)
	}
	f.revokeTokens() // the token dies early, server side
	if _, err := c.CountIssued(ctx); err != nil {
		t.Fatalf("call after token revocation: %v", err)
	}
	logins, api := f.counts()
	if logins != 2 || c.Logins() != 2 {
		t.Errorf("logins = %d (client %d), want 2", logins, c.Logins())
	}
	if api != 3 { // ok, 401, ok
		t.Errorf("API calls = %d, want 3", api)
	}
}

func TestReloginRepeatsIssuance(t *testing.T) {
	// A 401 proves Atlas did not act, so even the POST is repeated.
	f := newFakeAtlas(t, false)
	f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/v2/certificates/01AB")
		w.WriteHeader(http.StatusCreated)
	})
	c, _ := newClient(t, f)
	ctx := testCtx(t)
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	f.revokeTokens()
	serial, err := c.RequestCertificate(ctx, &atlas.CertificateRequest{PublicKey: "PK"})
	if err != nil || serial != "01AB" {
		t.Fatalf("RequestCertificate = %q, %v", serial, err)
	}
	if _, api := f.counts(); api != 2 {
		t.Errorf("POSTs = %d, want 2", api)
	}
}

func TestPersistent401(t *testing.T) {
	f := newFakeAtlas(t, false)
	f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "")
	})
	c, rec := newClient(t, f)
	_, err := c.CountIssued(testCtx(t))
	if !atlas.IsAuth(err) || atlas.IsRetryable(err) || atlas.IsPermanent(err) {
		t.Fatalf("error = %v, want an auth error", err)
	}
	var ae *atlas.Error
	if !errors.As(err, &ae) || ae.Operation != "CountIssued" {
		t.Fatalf("error = %#v", err)
	}
	logins, api := f.counts()
	if logins != 2 || c.Logins() != 2 || api != 2 {
		t.Errorf("logins = %d (client %d), API calls = %d; want 2, 2", logins, c.Logins(), api)
	}
	if d := rec.get(); len(d) != 0 {
		t.Errorf("slept %v before a relogin", d)
	}
}

func TestLoginRejected(t *testing.T) {
	f := newFakeAtlas(t, false)
	f.setAPI(counterAPI)
	c, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.APISecret = "wrong-secret-value" })
	ctx := testCtx(t)

	err := c.Login(ctx)
	var ae *atlas.Error
	if !atlas.IsAuth(err) || !errors.As(err, &ae) || ae.Operation != "Login" {
		t.Fatalf("Login error = %v, want a 401 from Login", err)
	}
	if logins, _ := f.counts(); logins != 1 {
		t.Errorf("login attempts = %d, want 1 (a 401 from /login is final)", logins)
	}
	if _, err := c.CountIssued(ctx); !atlas.IsAuth(err) {
		t.Errorf("CountIssued error = %v, want the login's 401", err)
	}
	if logins, api := f.counts(); logins != 2 || api != 0 {
		t.Errorf("after CountIssued: %d logins, %d API calls; want 2, 0", logins, api)
	}
	if c.Logins() != 0 {
		t.Errorf("Logins() = %d, want 0", c.Logins())
	}
}

func TestLoginReplacesCachedToken(t *testing.T) {
	f := newFakeAtlas(t, false)
	f.setAPI(counterAPI)
	c, _ := newClient(t, f)
	ctx := testCtx(t)
	if _, err := c.CountIssued(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CountIssued(ctx); err != nil {
		t.Fatal(err)
	}
	tokens := f.issuedTokens()
	if len(tokens) != 2 {
		t.Fatalf("tokens issued = %d, want 2", len(tokens))
	}
	if got, _ := bearer(&http.Request{Header: f.lastRequest().Header}); got != tokens[1] {
		t.Errorf("last call used %q, want the new token %q", got, tokens[1])
	}
}

func TestLoginLeaderCancelled(t *testing.T) {
	// The caller whose login is in flight gives up; a caller waiting for
	// that login must then log in itself instead of failing too.
	f := newFakeAtlas(t, false)
	f.setAPI(counterAPI)
	release := make(chan struct{})
	started := make(chan struct{})
	var first atomic.Bool
	f.setLogin(func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			close(started)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			writeProblem(w, http.StatusServiceUnavailable, "late", "")
			return
		}
		f.standardLogin(w, r)
	})
	defer close(release)
	c, _ := newClient(t, f)

	leaderCtx, cancelLeader := context.WithCancel(testCtx(t))
	leaderErr := make(chan error, 1)
	go func() { _, err := c.CountIssued(leaderCtx); leaderErr <- err }()
	<-started

	waiterErr := make(chan error, 1)
	go func() { _, err := c.CountIssued(testCtx(t)); waiterErr <- err }()
	// The waiter may still be on its way to the wait when we cancel; either
	// way it must end up with its own successful login.
	cancelLeader()

	if err := <-leaderErr; !errors.Is(err, context.Canceled) || atlas.IsRetryable(err) {
		t.Errorf("leader error = %v, want context.Canceled", err)
	}
	if err := <-waiterErr; err != nil {
		t.Errorf("waiter error = %v, want success", err)
	}
	if c.Logins() != 1 {
		t.Errorf("Logins() = %d, want 1", c.Logins())
	}
}
