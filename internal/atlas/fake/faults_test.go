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

package fake

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func TestFaults(t *testing.T) {
	s := startFake(t, Options{})
	c := loggedIn(t, s)
	quota := func() (*http.Response, []byte) { return c.do(http.MethodGet, "/quotas/issuance", nil) }

	t.Run("rate limit with Retry-After", func(t *testing.T) {
		s.SetFaults(Faults{RateLimitRate: 1, RetryAfter: 1500 * time.Millisecond})
		resp, body := quota()
		wantProblem(t, resp, body, http.StatusTooManyRequests, "Rate Limit Reached")
		if got := resp.Header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After = %q, want 2 (whole seconds, rounded up)", got)
		}
		s.SetFaults(Faults{RateLimitRate: 1})
		resp, _ = quota()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "" {
			t.Errorf("without RetryAfter: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})
	t.Run("service busy", func(t *testing.T) {
		s.SetFaults(Faults{ErrorRate: 1})
		resp, body := quota()
		if eb := wantProblem(t, resp, body, http.StatusServiceUnavailable, "Service busy, please retry later"); eb.ID == "" {
			t.Error("503 without an id")
		}
	})
	t.Run("server error", func(t *testing.T) {
		s.SetFaults(Faults{ServerErrorRate: 1})
		resp, body := quota()
		wantProblem(t, resp, body, http.StatusInternalServerError, "")
	})
	t.Run("down, login included", func(t *testing.T) {
		s.SetFaults(Faults{Down: true})
		cr := s.Credentials()
		resp, body := c.do(http.MethodPost, "/login", map[string]string{"api_key": cr.APIKey, "api_secret": cr.APISecret})
		wantProblem(t, resp, body, http.StatusServiceUnavailable, "Service busy")
	})
	t.Run("lost response: carried out, never answered", func(t *testing.T) {
		es, ec := ecdsaServer(t, Options{})
		es.SetFaults(Faults{LostResponseRate: 1, Operations: []string{OpRequestCertificate}})
		req := certRequest(csrPEM(t, ecKey(t, elliptic.P256())), time.Now())
		if resp, body, err := ec.try(http.MethodPost, "/certificates", req); err == nil {
			t.Errorf("lost response answered %d %s", resp.StatusCode, body)
		}
		if es.Issued() != 1 {
			t.Errorf("issued = %d, want the call carried out", es.Issued())
		}
	})
	t.Run("drop over HTTP/2 and HTTP/1.1", func(t *testing.T) {
		s.SetFaults(Faults{DropRate: 1})
		cr := s.Credentials()
		for _, h2 := range []bool{true, false} {
			cl := &apiClient{t: t, s: s, hc: httpClient(t, s, cr.CertPEM, cr.KeyPEM, h2), token: c.token}
			before := s.CallCount(OpCountIssued)
			if resp, body, err := cl.try(http.MethodGet, "/counters/certificates/issued", nil); err == nil {
				t.Errorf("h2=%v: dropped call answered %d %s", h2, resp.StatusCode, body)
			}
			if s.CallCount(OpCountIssued) <= before {
				t.Errorf("h2=%v: dropped call not counted", h2)
			}
		}
	})
	t.Run("latency", func(t *testing.T) {
		s.SetFaults(Faults{Latency: 120 * time.Millisecond})
		start := time.Now()
		if resp, _ := quota(); resp.StatusCode != http.StatusOK {
			t.Errorf("status %d", resp.StatusCode)
		}
		if d := time.Since(start); d < 120*time.Millisecond {
			t.Errorf("call took %v, want at least the injected latency", d)
		}
		s.SetFaults(Faults{LatencySpikeRate: 1, LatencySpike: 100 * time.Millisecond})
		start = time.Now()
		quota()
		if d := time.Since(start); d < 100*time.Millisecond {
			t.Errorf("call took %v, want at least the spike", d)
		}
	})
	t.Run("peak in flight", func(t *testing.T) {
		s.Reset()
		// Each call waits in the hook until all three are in flight, so
		// they overlap whatever the scheduler does.
		var arrived sync.WaitGroup
		arrived.Add(3)
		s.SetCallHook(func(string) { arrived.Done(); arrived.Wait() })
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { _, _, _ = c.try(http.MethodGet, "/quotas/issuance", nil) })
		}
		wg.Wait()
		s.SetCallHook(nil)
		if got := s.PeakInFlight(); got != 3 {
			t.Errorf("peak in flight = %d after 3 overlapping calls, want 3", got)
		}
		s.Reset()
		if got := s.Stats().PeakInFlight; got != 0 {
			t.Errorf("peak in flight = %d after Reset with nothing in flight, want 0", got)
		}
		s.SetFaults(Faults{})
	})
	t.Run("only the named operations", func(t *testing.T) {
		s.SetFaults(Faults{RateLimitRate: 1, Operations: []string{OpRequestCertificate}})
		if resp, body := quota(); resp.StatusCode != http.StatusOK {
			t.Errorf("unselected operation faulted: %d %s", resp.StatusCode, body)
		}
		resp, body := c.do(http.MethodPost, "/certificates", `{}`)
		wantProblem(t, resp, body, http.StatusTooManyRequests, "Rate Limit Reached")
	})
	t.Run("off again", func(t *testing.T) {
		s.SetFaults(Faults{})
		if resp, body := quota(); resp.StatusCode != http.StatusOK {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("partial rates", func(t *testing.T) {
		s.SetFaults(Faults{ErrorRate: 0.5})
		defer s.SetFaults(Faults{})
		codes := map[int]int{}
		for range 200 {
			resp, _ := quota()
			codes[resp.StatusCode]++
		}
		if codes[http.StatusOK] < 40 || codes[http.StatusServiceUnavailable] < 40 {
			t.Errorf("status mix at rate 0.5 = %v", codes)
		}
	})
}

func TestFaultsCountedAndBeforeAuth(t *testing.T) {
	s := startFake(t, Options{})
	c := newAPIClient(t, s) // no token: the fault answers before the 401
	s.SetFaults(Faults{ErrorRate: 1})
	for range 3 {
		resp, body := c.do(http.MethodGet, "/trustchain", nil)
		wantProblem(t, resp, body, http.StatusServiceUnavailable, "")
	}
	if s.CallCount(OpTrustChain) != 3 || s.TotalCalls() != 3 {
		t.Errorf("calls = %v", s.Calls())
	}
}

func TestFaultsJSON(t *testing.T) {
	f := Faults{Latency: 250 * time.Millisecond, RateLimitRate: 0.25, RetryAfter: 2 * time.Second, Operations: []string{OpLogin}}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"latency":"250ms"`, `"retry_after":"2s"`, `"rate_limit_rate":0.25`, `"operations":["Login"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back Faults
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Latency != f.Latency || back.RetryAfter != f.RetryAfter || back.RateLimitRate != f.RateLimitRate || len(back.Operations) != 1 {
		t.Errorf("round trip = %+v", back)
	}
	for _, bad := range []string{`{"latency":"soon"}`, `{"error_rate":2}`, `{"errorRate":0.5}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestBusyTime(t *testing.T) {
	clk := newTestClock()
	s := startFake(t, Options{Clock: clk})
	c := newAPIClient(t, s)
	t0 := clk.Now()
	// Each call holds the server's time for two seconds while in flight.
	s.SetCallHook(func(string) { clk.Step(2 * time.Second) })
	for range 2 {
		_, _, _ = c.try(http.MethodGet, "/quotas/issuance", nil)
	}
	s.SetCallHook(nil)
	got := s.Stats().Busy
	if got.Seconds != 4 || !got.First.Equal(t0) || !got.Last.Equal(t0.Add(4*time.Second)) {
		t.Errorf("busy = %+v after two 2 s calls from %v, want 4 s from the first call's start to the last's end", got, t0)
	}
	spans := s.CallSpans()
	want := []CallSpan{
		{Op: OpQuota, Start: t0, End: t0.Add(2 * time.Second)},
		{Op: OpQuota, Start: t0.Add(2 * time.Second), End: t0.Add(4 * time.Second)},
	}
	if len(spans) != len(want) {
		t.Fatalf("spans = %+v, want %+v", spans, want)
	}
	for i := range want {
		if spans[i].Op != want[i].Op || !spans[i].Start.Equal(want[i].Start) || !spans[i].End.Equal(want[i].End) {
			t.Errorf("span %d = %+v, want %+v", i, spans[i], want[i])
		}
	}
	s.Reset()
	if got := s.BusyTime(); got != (Busy{}) {
		t.Errorf("busy = %+v after Reset, want zero", got)
	}
	if got := s.CallSpans(); len(got) != 0 {
		t.Errorf("spans = %+v after Reset, want none", got)
	}
}

func TestStatsIssuedFault(t *testing.T) {
	s, c := ecdsaServer(t, Options{})
	req, _ := ecRequest(t, s.now())
	c.issue(req)
	path := "/stats/issued?per_page=100&from=" + strconv.FormatInt(s.now().Add(-time.Hour).Unix(), 10)
	list := func() []atlas.CertificateMeta {
		t.Helper()
		resp, body := c.do(http.MethodGet, path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stats: %d %s", resp.StatusCode, body)
		}
		var out []atlas.CertificateMeta
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// The control: without the fault the certificate is listed.
	if got := list(); len(got) != 1 {
		t.Fatalf("stats without the fault list %d certificates, want 1", len(got))
	}
	s.SetFaults(Faults{StatsIssued: StatsNotFound})
	resp, body := c.do(http.MethodGet, path, nil)
	wantProblem(t, resp, body, http.StatusNotFound, "Not found")
	s.SetFaults(Faults{StatsIssued: StatsServerError})
	resp, body = c.do(http.MethodGet, path, nil)
	wantProblem(t, resp, body, http.StatusInternalServerError, "Internal Server Error")
	s.SetFaults(Faults{StatsIssued: StatsEmpty})
	if got := list(); len(got) != 0 {
		t.Errorf("empty stats list %d certificates", len(got))
	}
	// Other stats and other operations are untouched.
	if resp, body := c.do(http.MethodGet, "/stats/revoked", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("revoked stats under the issued-stats fault: %d %s", resp.StatusCode, body)
	}
	if n := s.FaultCounts()[FaultStatsIssued]; n != 3 {
		t.Errorf("stats_issued faults counted %d, want 3", n)
	}
	s.SetFaults(Faults{})
	if got := list(); len(got) != 1 {
		t.Errorf("stats after the fault list %d certificates, want 1", len(got))
	}
}

func TestSubmitHold(t *testing.T) {
	s, c := ecdsaServer(t, Options{})
	s.SetFaults(Faults{SubmitHold: time.Hour})
	req, _ := ecRequest(t, s.now())
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/certificates", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+c.token)
	done := make(chan error, 1)
	go func() {
		resp, err := c.hc.Do(hreq)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// The certificate exists while the answer is held.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for len(s.IssuedCertificates()) == 0 {
		select {
		case err := <-done:
			t.Fatalf("the POST answered (%v) before its certificate was listed", err)
		case <-tick.C:
		}
	}
	if got := s.InFlightByOp()[OpRequestCertificate]; got != 1 {
		t.Errorf("RequestCertificate in flight = %d while held, want 1", got)
	}
	select {
	case err := <-done:
		t.Fatalf("the POST answered while held: %v", err)
	default:
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("the cancelled POST answered")
	}
	// The handler leaves once the client has gone.
	for s.InFlightByOp()[OpRequestCertificate] != 0 {
		<-tick.C
	}
	if n := s.FaultCounts()[FaultSubmitHold]; n != 1 {
		t.Errorf("submit_hold faults counted %d, want 1", n)
	}
	got := s.IssuedCertificates()
	if len(got) != 1 || got[0].Fingerprint == "" || got[0].Revoked || got[0].Rejected {
		t.Errorf("issued = %+v", got)
	}
}
