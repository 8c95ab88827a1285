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
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func TestOversizedAnswers(t *testing.T) {
	s := startFake(t, Options{})
	c := loggedIn(t, s)
	s.SetFaults(Faults{OversizeBytes: 200_000, Operations: []string{OpQuota}})
	resp, body := c.do(http.MethodGet, "/quotas/issuance", nil)
	if resp.StatusCode != http.StatusOK || len(body) < 200_000 {
		t.Fatalf("quota answered %d with %d bytes, want 200 with the padding", resp.StatusCode, len(body))
	}
	var counter atlas.Counter
	if err := json.Unmarshal(body, &counter); err != nil || counter.Value == 0 {
		t.Errorf("padded answer is not the JSON counter: %v %+v", err, counter)
	}
	// Other operations and answers without a body are left alone.
	if _, body := c.do(http.MethodGet, "/validationpolicy", nil); len(body) > 100_000 {
		t.Errorf("unselected operation padded to %d bytes", len(body))
	}
	if got := s.FaultCounts()[FaultOversize]; got != 1 {
		t.Errorf("oversize faults counted = %d, want 1", got)
	}
}

func TestHugeTrustChain(t *testing.T) {
	s := startFake(t, Options{})
	c := loggedIn(t, s)
	chain := func() []string {
		resp, body := c.do(http.MethodGet, "/trustchain", nil)
		var out []string
		if err := json.Unmarshal(body, &out); resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("trust chain: %d %v", resp.StatusCode, err)
		}
		return out
	}
	if n := len(chain()); n != 2 {
		t.Fatalf("plain chain has %d certificates, want 2", n)
	}
	s.SetFaults(Faults{TrustChainExtra: 500})
	got := chain()
	if len(got) != 502 || got[0] != string(s.IntermediatePEM()) || got[501] != string(s.RootPEM()) {
		t.Errorf("hostile chain: %d certificates", len(got))
	}
	if n := s.FaultCounts()[FaultHugeChain]; n != 1 {
		t.Errorf("huge chain faults counted = %d, want 1", n)
	}
}

func TestFaultCounts(t *testing.T) {
	s := startFake(t, Options{})
	c := loggedIn(t, s)
	for _, f := range []Faults{{RateLimitRate: 1}, {ErrorRate: 1}, {ServerErrorRate: 1}, {Down: true}, {Latency: 1}} {
		s.SetFaults(f)
		_, _, _ = c.try(http.MethodGet, "/quotas/issuance", nil)
	}
	s.SetFaults(Faults{DropRate: 1})
	_, _, _ = c.try(http.MethodGet, "/quotas/issuance", nil)
	s.SetFaults(Faults{LostResponseRate: 1})
	_, _, _ = c.try(http.MethodGet, "/quotas/issuance", nil)
	s.SetFaults(Faults{})
	_, _, _ = c.try(http.MethodGet, "/quotas/issuance", nil)
	want := map[string]int{FaultRateLimit: 1, FaultBusy: 1, FaultServerError: 1, FaultDown: 1, FaultLatency: 1, FaultDrop: 1, FaultLostResponse: 1}
	got := s.Stats().FaultsInjected
	for k, n := range want {
		if got[k] < n {
			t.Errorf("faults_injected[%s] = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	// A client may retry a dropped call by itself, but nothing else adds.
	for k, n := range got {
		if _, ok := want[k]; !ok && n > 0 {
			t.Errorf("fault %s counted %d times without being injected", k, n)
		}
	}
	s.Reset()
	if got := s.FaultCounts(); len(got) != 0 {
		t.Errorf("fault counts after Reset = %v", got)
	}
}

func TestInFlight(t *testing.T) {
	s := startFake(t, Options{})
	c := loggedIn(t, s)
	entered, release := make(chan struct{}), make(chan struct{})
	s.SetCallHook(func(string) { entered <- struct{}{}; <-release })
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, _ = c.try(http.MethodGet, "/quotas/issuance", nil)
	}()
	<-entered
	if got := s.Stats().InFlight; got != 1 {
		t.Errorf("in flight while a call is held = %d, want 1", got)
	}
	s.SetCallHook(nil)
	close(release)
	<-done
	if got := s.InFlight(); got != 0 {
		t.Errorf("in flight after the call = %d, want 0", got)
	}
}

func TestHostileFaultsThroughAdmin(t *testing.T) {
	s := startFake(t, Options{})
	h := s.AdminHandler()
	body := `{"oversize_bytes":1048576,"trust_chain_extra":3000,"rate_limit_rate":0.5,"retry_after":"10s","latency":"2s"}`
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/faults", strings.NewReader(body)))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("PUT /faults: %d %s", rec.Code, rec.Body)
	}
	if f := s.Faults(); f.OversizeBytes != 1<<20 || f.TrustChainExtra != 3000 {
		t.Errorf("faults = %+v", f)
	}
	for _, bad := range []string{`{"oversize_bytes":-1}`, `{"trust_chain_extra":100000000}`} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/faults", bytes.NewBufferString(bad)))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("PUT /faults %s: %d, want 400", bad, rec.Code)
		}
	}
}

func TestSeed(t *testing.T) {
	clk := newTestClock()
	s := startFake(t, Options{Clock: clk})
	c := loggedIn(t, s)
	rec := httptest.NewRecorder()
	s.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/seed", strings.NewReader(`{"count":250}`)))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("POST /seed: %d %s", rec.Code, rec.Body)
	}
	from := clk.Now().Add(-seedSpan).Unix()
	resp, body := c.do(http.MethodGet, "/stats/issued?per_page=100&from="+strconv.FormatInt(from, 10)+"&to="+strconv.FormatInt(clk.Now().Unix(), 10), nil)
	var page []atlas.CertificateMeta
	if err := json.Unmarshal(body, &page); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("stats: %d %v", resp.StatusCode, err)
	}
	if len(page) != 100 || resp.Header.Get("Total-Count") != "250" {
		t.Errorf("first page: %d rows, Total-Count %q; want 100 of 250", len(page), resp.Header.Get("Total-Count"))
	}
	// The seeded certificates are real: each can be retrieved.
	if _, info := c.retrieve(page[0].SerialNumber); info.Status != "ISSUED" {
		t.Errorf("seeded certificate status %q", info.Status)
	}
	// A window of the last day holds only a day's share of them.
	resp, _ = c.do(http.MethodGet, "/stats/issued?from="+strconv.FormatInt(clk.Now().Add(-24*time.Hour).Unix(), 10), nil)
	if n, _ := strconv.Atoi(resp.Header.Get("Total-Count")); n > 250/30+1 {
		t.Errorf("the last day holds %d seeded certificates, want them spread over %s", n, seedSpan)
	}
	if st := s.Stats(); st.Issued != 0 || st.Duplicates != 0 {
		t.Errorf("seeding counted as issuance: issued %d, duplicates %d", st.Issued, st.Duplicates)
	}
	if err := s.Seed(-1); err == nil {
		t.Error("a negative count was accepted")
	}
}
