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
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// failThen answers the first n API calls with fail and later ones with ok.
func failThen(n int32, fail, ok http.HandlerFunc) http.HandlerFunc {
	var calls atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			fail(w, r)
			return
		}
		ok(w, r)
	}
}

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		writeProblem(w, code, http.StatusText(code), "")
	}
}

func created(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Location", "/v2/certificates/01AB")
	w.WriteHeader(http.StatusCreated)
}

// dropConnection closes the connection after the request was read, without
// any response: the client cannot know whether Atlas acted.
func dropConnection(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

func identity(d time.Duration) time.Duration { return d }

// hang returns a handler that never answers. It does not return when the
// client gives up either: a response written then could still race the
// client's cancellation and be read.
func hang(t *testing.T) http.HandlerFunc {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	return func(w http.ResponseWriter, r *http.Request) { <-release }
}

func TestBackoffIsExponentialAndCapped(t *testing.T) {
	f := newFakeAtlas(t, false)
	f.setAPI(status(http.StatusServiceUnavailable))
	c, rec := newClient(t, f, func(cfg *atlas.Config) {
		cfg.Retry = atlas.RetryPolicy{MaxAttempts: 5, BaseDelay: 200 * time.Millisecond, MaxDelay: time.Second}
	})
	atlas.SetJitter(c, identity)
	_, err := c.CountIssued(testCtx(t))
	if atlas.StatusCode(err) != 503 || !atlas.IsRetryable(err) {
		t.Fatalf("error = %v, want the last 503", err)
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second}
	if got := rec.get(); !reflect.DeepEqual(got, want) {
		t.Errorf("delays = %v, want %v", got, want)
	}
	if _, api := f.counts(); api != 5 {
		t.Errorf("attempts = %d, want 5", api)
	}
}

func TestBackoffDefaultsWithJitter(t *testing.T) {
	f := newFakeAtlas(t, false)
	f.setAPI(status(http.StatusBadGateway))
	c, rec := newClient(t, f)
	if _, err := c.CountIssued(testCtx(t)); atlas.StatusCode(err) != 502 {
		t.Fatalf("error = %v", err)
	}
	got := rec.get()
	if len(got) != 3 { // 4 attempts by default
		t.Fatalf("delays = %v, want 3", got)
	}
	for i, d := range got {
		if limit := 200 * time.Millisecond << i; d < 0 || d > limit {
			t.Errorf("delay %d = %v, want within [0, %v]", i, d, limit)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	clock := newFakeClock()
	tests := []struct {
		name   string
		header string
		want   time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"HTTP date", clock.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat), 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAtlas(t, false)
			f.setAPI(failThen(1, status(http.StatusTooManyRequests, "Retry-After", tt.header), counterAPI))
			c, rec := newClient(t, f, func(cfg *atlas.Config) { cfg.Clock = clock })
			if _, err := c.CountIssued(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			if got := rec.get(); !reflect.DeepEqual(got, []time.Duration{tt.want}) {
				t.Errorf("delays = %v, want [%v]", got, tt.want)
			}
		})
	}
}

func TestRetryAfterTooLong(t *testing.T) {
	f := newFakeAtlas(t, false)
	f.setAPI(status(http.StatusTooManyRequests, "Retry-After", "120"))
	c, rec := newClient(t, f)
	_, err := c.CountIssued(testCtx(t))
	var ae *atlas.Error
	if !errors.As(err, &ae) || ae.StatusCode != 429 || ae.RetryAfter != 120*time.Second {
		t.Fatalf("error = %v, want the 429 with RetryAfter 2m", err)
	}
	if _, api := f.counts(); api != 1 || len(rec.get()) != 0 {
		t.Errorf("attempts = %d, sleeps = %v; want 1 attempt and no wait", api, rec.get())
	}
}

// TestReturnRetryAfter: a caller that holds a shared slot gets every
// Retry-After back at once instead of a wait, and RetryAfter reads it.
func TestReturnRetryAfter(t *testing.T) {
	for _, code := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		f := newFakeAtlas(t, false)
		f.setAPI(failThen(1, status(code, "Retry-After", "2"), counterAPI))
		c, rec := newClient(t, f)
		_, err := c.CountIssued(atlas.ReturnRetryAfter(testCtx(t)))
		if got, ok := atlas.RetryAfter(err); !ok || got != 2*time.Second {
			t.Fatalf("%d: RetryAfter(%v) = %v, %v; want 2s", code, err, got, ok)
		}
		if _, api := f.counts(); api != 1 || len(rec.get()) != 0 {
			t.Errorf("%d: attempts = %d, sleeps = %v; want 1 attempt and no wait", code, api, rec.get())
		}
		// Positive control: a caller that did not ask is made to wait the
		// same answer out, and the call is retried.
		f.setAPI(failThen(1, status(code, "Retry-After", "2"), counterAPI))
		if _, err := c.CountIssued(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if got := rec.get(); !reflect.DeepEqual(got, []time.Duration{2 * time.Second}) {
			t.Errorf("%d: delays = %v, want [2s], the wait of the second call only", code, got)
		}
	}
}

func TestRetryAfterClassifies(t *testing.T) {
	tests := []struct {
		err  error
		want time.Duration
		ok   bool
	}{
		{&atlas.Error{StatusCode: 429, RetryAfter: time.Minute}, time.Minute, true},
		{fmt.Errorf("wrapped: %w", &atlas.Error{StatusCode: 503, RetryAfter: time.Second}), time.Second, true},
		{&atlas.Error{StatusCode: 429}, 0, false},
		{&atlas.Error{StatusCode: 500, RetryAfter: time.Minute}, 0, false},
		{errors.New("plain"), 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		if got, ok := atlas.RetryAfter(tt.err); got != tt.want || ok != tt.ok {
			t.Errorf("RetryAfter(%v) = %v, %v; want %v, %v", tt.err, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRetryAfterBeyondDeadline(t *testing.T) {
	f := newFakeAtlas(t, false)
	f.setAPI(status(http.StatusServiceUnavailable, "Retry-After", "50"))
	c, rec := newClient(t, f)
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	_, err := c.CountIssued(ctx)
	if atlas.StatusCode(err) != 503 || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want the 503 at once", err)
	}
	if len(rec.get()) != 0 {
		t.Errorf("waited %v although the deadline comes first", rec.get())
	}
}

func TestCancelStopsRetries(t *testing.T) {
	f := newFakeAtlas(t, false)
	var calls atomic.Int32
	f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeProblem(w, http.StatusServiceUnavailable, "Service busy, please retry later", "")
	})
	c, _ := newClient(t, f, func(cfg *atlas.Config) {
		cfg.Retry = atlas.RetryPolicy{BaseDelay: time.Hour, MaxDelay: time.Hour}
	})
	// The real sleep, reporting when it starts: an hour-long backoff that
	// only cancellation can end.
	sleeping := make(chan time.Duration, 1)
	atlas.SetSleep(c, func(ctx context.Context, d time.Duration) error {
		sleeping <- d
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	})
	atlas.SetJitter(c, identity)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.CountIssued(ctx); done <- err }()
	if d := <-sleeping; d != time.Hour {
		t.Fatalf("backoff = %v, want 1h", d)
	}
	cancel()

	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
		if atlas.StatusCode(err) != 503 {
			t.Errorf("error = %v, want it to carry the last 503", err)
		}
		if atlas.IsRetryable(err) {
			t.Errorf("a cancelled call must not be retryable")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the client kept waiting after cancellation")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
}

func TestCancelDuringAttempt(t *testing.T) {
	f := newFakeAtlas(t, false)
	inHandler := make(chan struct{})
	hung := hang(t)
	f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		hung(w, r)
	})
	c, rec := newClient(t, f)
	if err := c.Login(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-inHandler; cancel() }()
	_, err := c.CountIssued(ctx)
	if !errors.Is(err, context.Canceled) || atlas.IsRetryable(err) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if len(rec.get()) != 0 {
		t.Errorf("retried after cancellation: %v", rec.get())
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	f := newFakeAtlas(t, false)
	f.setAPI(counterAPI)
	c, _ := newClient(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.CountIssued(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v", err)
	}
	if logins, api := f.counts(); logins+api != 0 {
		t.Errorf("requests sent after cancellation: %d", logins+api)
	}
}

func TestIssuanceNotRepeatedWhenAtlasMayHaveActed(t *testing.T) {
	tests := []struct {
		name      string
		fail      http.HandlerFunc
		retryable bool
	}{
		{"500", status(http.StatusInternalServerError), true},
		{"502", status(http.StatusBadGateway), true},
		{"504", status(http.StatusGatewayTimeout), true},
		{"connection dropped after the request", dropConnection, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAtlas(t, false)
			f.setAPI(failThen(1, tt.fail, created))
			c, rec := newClient(t, f)
			_, err := c.RequestCertificate(testCtx(t), &atlas.CertificateRequest{PublicKey: "PK"})
			if err == nil {
				t.Fatal("RequestCertificate succeeded; it must not have repeated the POST")
			}
			if atlas.IsRetryable(err) != tt.retryable {
				t.Errorf("IsRetryable(%v) = %v", err, !tt.retryable)
			}
			if _, api := f.counts(); api != 1 || len(rec.get()) != 0 {
				t.Errorf("POSTs = %d, sleeps = %v; want exactly 1 POST", api, rec.get())
			}
		})
	}

	t.Run("attempt timeout", func(t *testing.T) {
		f := newFakeAtlas(t, false)
		f.setAPI(failThen(1, hang(t), created))
		c, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.Timeout = 300 * time.Millisecond })
		if err := c.Login(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		_, err := c.RequestCertificate(testCtx(t), &atlas.CertificateRequest{PublicKey: "PK"})
		if !atlas.IsRetryable(err) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want a retryable attempt timeout", err)
		}
		if _, api := f.counts(); api != 1 {
			t.Errorf("POSTs = %d, want 1", api)
		}
	})
}

func TestIssuanceRepeatedWhenAtlasDidNotAct(t *testing.T) {
	for _, code := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			f := newFakeAtlas(t, false)
			f.setAPI(failThen(2, status(code), created))
			c, rec := newClient(t, f)
			serial, err := c.RequestCertificate(testCtx(t), &atlas.CertificateRequest{PublicKey: "PK"})
			if err != nil || serial != "01AB" {
				t.Fatalf("RequestCertificate = %q, %v", serial, err)
			}
			if _, api := f.counts(); api != 3 || len(rec.get()) != 2 {
				t.Errorf("POSTs = %d, sleeps = %v; want 3 POSTs", api, rec.get())
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		f := newFakeAtlas(t, false)
		c, rec := newClient(t, f)
		if err := c.Login(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		// Nothing listens on the port any more: every dial is refused, so
		// the request never leaves and repeating it is safe.
		f.srv.Close()
		c.CloseIdleConnections()
		_, err := c.RequestCertificate(testCtx(t), &atlas.CertificateRequest{PublicKey: "PK"})
		if !errors.Is(err, syscall.ECONNREFUSED) || !atlas.IsRetryable(err) {
			t.Fatalf("error = %v, want connection refused", err)
		}
		if got := len(rec.get()); got != 3 {
			t.Errorf("retries = %d, want 3 (4 attempts)", got)
		}
	})
}

func TestIdempotentCallsRetryTransportErrors(t *testing.T) {
	t.Run("dropped connection", func(t *testing.T) {
		f := newFakeAtlas(t, false)
		f.setAPI(failThen(1, dropConnection, counterAPI))
		c, _ := newClient(t, f)
		if _, err := c.CountIssued(testCtx(t)); err != nil {
			t.Fatalf("CountIssued: %v", err)
		}
		if _, api := f.counts(); api < 2 {
			t.Errorf("attempts = %d, want a retry", api)
		}
	})
	t.Run("attempt timeout", func(t *testing.T) {
		f := newFakeAtlas(t, false)
		f.setAPI(failThen(1, hang(t), counterAPI))
		c, rec := newClient(t, f, func(cfg *atlas.Config) { cfg.Timeout = 300 * time.Millisecond })
		if _, err := c.CountIssued(testCtx(t)); err != nil {
			t.Fatalf("CountIssued: %v", err)
		}
		if _, api := f.counts(); api != 2 || len(rec.get()) != 1 {
			t.Errorf("attempts = %d, sleeps = %v; want 2 attempts", api, rec.get())
		}
	})
	t.Run("revoke on 500", func(t *testing.T) {
		f := newFakeAtlas(t, false)
		f.setAPI(failThen(1, status(http.StatusInternalServerError), func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}))
		c, _ := newClient(t, f)
		if err := c.RevokeCertificate(testCtx(t), "01AB", atlas.RevokeRequest{RevocationReason: atlas.ReasonSuperseded}); err != nil {
			t.Fatalf("RevokeCertificate: %v", err)
		}
		if _, api := f.counts(); api != 2 {
			t.Errorf("attempts = %d, want 2", api)
		}
	})
	t.Run("login on 503", func(t *testing.T) {
		f := newFakeAtlas(t, false)
		var n atomic.Int32
		f.setLogin(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				writeProblem(w, http.StatusServiceUnavailable, "busy", "x")
				return
			}
			f.standardLogin(w, r)
		})
		c, _ := newClient(t, f)
		if err := c.Login(testCtx(t)); err != nil {
			t.Fatalf("Login: %v", err)
		}
		if logins, _ := f.counts(); logins != 2 {
			t.Errorf("login attempts = %d, want 2", logins)
		}
	})
}

func TestPermanentErrorsNotRetried(t *testing.T) {
	for _, code := range []int{400, 402, 403, 404, 409, 422} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			f := newFakeAtlas(t, false)
			f.setAPI(status(code))
			c, rec := newClient(t, f)
			if _, err := c.CountIssued(testCtx(t)); atlas.StatusCode(err) != code {
				t.Fatalf("error = %v", err)
			}
			if _, api := f.counts(); api != 1 || len(rec.get()) != 0 {
				t.Errorf("attempts = %d, want 1", api)
			}
		})
	}
}

func TestUntrustedClientCertificate(t *testing.T) {
	f := newFakeAtlas(t, false)
	p := getPKI(t)
	c, _ := newClient(t, f, func(cfg *atlas.Config) {
		cfg.ClientCertificate = p.stranger
		cfg.Retry.MaxAttempts = 1
	})
	if err := c.Login(testCtx(t)); err == nil {
		t.Fatal("login succeeded with a client certificate the server does not trust")
	}
	if logins, _ := f.counts(); logins != 0 {
		t.Errorf("the login handler ran %d times without mTLS", logins)
	}

	// And the server certificate is verified against RootCAs.
	c2, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.RootCAs = p.otherRoots })
	if err := c2.Login(testCtx(t)); err == nil || atlas.IsRetryable(err) {
		t.Fatalf("login against an untrusted server: %v, want a final error", err)
	}
}

func TestDefaultSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- atlas.SleepContext(ctx, time.Hour) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("sleep returned %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sleep ignored cancellation")
	}
	if err := atlas.SleepContext(context.Background(), time.Millisecond); err != nil {
		t.Errorf("short sleep: %v", err)
	}
}
