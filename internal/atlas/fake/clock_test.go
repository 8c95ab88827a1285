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
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func TestClockOffset(t *testing.T) {
	clk := newTestClock()
	s, c := ecdsaServer(t, Options{Clock: clk})
	client := clk.Now()
	s.SetClockOffset(5 * time.Minute)

	// The Date header says the skewed time.
	resp, _ := c.do(http.MethodGet, "/quotas/issuance", nil)
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || !date.Equal(client.Add(5*time.Minute)) {
		t.Errorf("Date %q (%v), want %s", resp.Header.Get("Date"), err, client.Add(5*time.Minute).UTC().Format(http.TimeFormat))
	}

	// A client's not_before five minutes behind Atlas is within the
	// policy's skew; the certificate is accepted at Atlas's time.
	req, _ := ecRequest(t, client)
	serial := c.issue(req)
	issued := s.IssuedCertificates()
	if len(issued) != 1 || issued[0].Serial != serial || !issued[0].AcceptedAt.Equal(client.Add(5*time.Minute)) {
		t.Fatalf("IssuedCertificates = %+v, want %s accepted at %s", issued, serial, client.Add(5*time.Minute))
	}

	// The issued statistics window is on Atlas's clock: a window around
	// the client's time misses the certificate, one around Atlas's finds it.
	stats := func(from, to time.Time) []atlas.CertificateMeta {
		t.Helper()
		resp, body := c.do(http.MethodGet, "/stats/issued?from="+strconv.FormatInt(from.Unix(), 10)+"&to="+strconv.FormatInt(to.Unix(), 10), nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stats: %d %s", resp.StatusCode, body)
		}
		var out []atlas.CertificateMeta
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := stats(client.Add(-time.Minute), client.Add(time.Minute)); len(got) != 0 {
		t.Errorf("a window on the client's clock found %v", got)
	}
	if got := stats(client.Add(4*time.Minute), client.Add(6*time.Minute)); len(got) != 1 || got[0].SerialNumber != serial {
		t.Errorf("a window on Atlas's clock found %v, want %s", got, serial)
	}

	// Tokens expire on Atlas's clock: ten minutes of the token's life are
	// gone once the clock is moved ten minutes ahead.
	s.SetClockOffset(15 * time.Minute)
	if resp, _ := c.do(http.MethodGet, "/quotas/issuance", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a token ten minutes old on Atlas's clock: %d, want 401", resp.StatusCode)
	}

	// Behind: a not_before eleven minutes ahead of Atlas is outside the
	// default policy's ten-minute positive skew.
	s.SetClockOffset(-11 * time.Minute)
	c.login()
	late, _ := ecRequest(t, client)
	resp, body := c.do(http.MethodPost, "/certificates", late)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "validity.not_before") {
		t.Errorf("not_before 11m ahead of Atlas: %d %s, want 422 naming validity.not_before", resp.StatusCode, body)
	}
}

func TestAdminClock(t *testing.T) {
	s, _ := ecdsaServer(t, Options{})
	hs := httptest.NewServer(s.AdminHandler())
	t.Cleanup(hs.Close)
	admin := &AdminClient{URL: hs.URL}
	ctx := context.Background()

	for _, d := range []time.Duration{5 * time.Minute, -5 * time.Minute, 0} {
		if err := admin.SetClockOffset(ctx, d); err != nil {
			t.Fatal(err)
		}
		if s.ClockOffset() != d {
			t.Errorf("after PUT /clock %s the server's offset is %s", d, s.ClockOffset())
		}
		got, err := admin.ClockOffset(ctx)
		if err != nil || got != d {
			t.Errorf("GET /clock = %s, %v; want %s", got, err, d)
		}
	}
	for _, body := range []string{`{"offset":"soon"}`, `{"ofset":"5m"}`} {
		req, _ := http.NewRequest(http.MethodPut, hs.URL+"/clock", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT /clock %s = %d, want 400", body, resp.StatusCode)
		}
	}
}
