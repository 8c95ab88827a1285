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
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func TestStatsIssuedPaging(t *testing.T) {
	clock := newTestClock()
	_, c := ecdsaServer(t, Options{Clock: clock, PendingPolls: 5})
	start := clock.Now()
	var serials []string
	for range 5 {
		req, _ := ecRequest(t, clock.Now())
		serials = append(serials, c.issue(req))
		clock.Step(time.Second)
	}

	page := func(query string) ([]atlas.CertificateMeta, http.Header) {
		t.Helper()
		resp, body := c.do(http.MethodGet, "/stats/issued?"+query, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stats %s: %d %s", query, resp.StatusCode, body)
		}
		wantJSON(t, resp)
		var rows []atlas.CertificateMeta
		if err := json.Unmarshal(body, &rows); err != nil {
			t.Fatal(err)
		}
		return rows, resp.Header
	}

	// Still pending (5 polls to go), yet listed: the issuer's crash recovery
	// depends on that.
	var got []string
	for p := 1; ; p++ {
		rows, h := page(fmt.Sprintf("page=%d&per_page=2", p))
		if h.Get("Total-Count") != "5" {
			t.Errorf("page %d Total-Count = %q", p, h.Get("Total-Count"))
		}
		links := h.Get("Links")
		if !strings.Contains(links, `rel="last"`) || !strings.Contains(links, "/stats/issued?") {
			t.Errorf("page %d Links = %q", p, links)
		}
		for _, r := range rows {
			got = append(got, r.SerialNumber)
			if r.NotAfter-r.NotBefore != 24*3600 {
				t.Errorf("row %+v", r)
			}
		}
		if p < 3 != strings.Contains(links, `rel="next"`) {
			t.Errorf("page %d: rel=next presence wrong in %q", p, links)
		}
		if p > 1 != strings.Contains(links, `rel="previous"`) {
			t.Errorf("page %d: rel=previous presence wrong in %q", p, links)
		}
		if p == 3 {
			if len(rows) != 1 {
				t.Errorf("last page has %d rows", len(rows))
			}
			break
		}
		if len(rows) != 2 {
			t.Fatalf("page %d has %d rows", p, len(rows))
		}
		if !strings.Contains(links, fmt.Sprintf(`page=%d`, p+1)) {
			t.Errorf("next link of page %d = %q", p, links)
		}
	}
	if !slices.Equal(got, serials) {
		t.Errorf("listed %v, want %v in acceptance order", got, serials)
	}

	// The window is on acceptance time, inclusive.
	from, to := start.Unix()+1, start.Unix()+2
	rows, h := page(fmt.Sprintf("from=%d&to=%d", from, to))
	if len(rows) != 2 || rows[0].SerialNumber != serials[1] || h.Get("Total-Count") != "2" {
		t.Errorf("window rows = %v, total %s", rows, h.Get("Total-Count"))
	}
	rows, _ = page(fmt.Sprintf("from=%d&to=%d", start.Unix()-100, start.Unix()-1))
	if len(rows) != 0 {
		t.Errorf("empty window listed %v", rows)
	}
	if resp, body := c.do(http.MethodGet, "/stats/issued?from=1", nil); string(body) != "[]" {
		t.Errorf("no rows should be [], got %d %s", resp.StatusCode, body)
	}

	// Default window: the last 30 days.
	clock.Step(31 * 24 * time.Hour)
	c.login()
	if rows, _ := page(""); len(rows) != 0 {
		t.Errorf("default window still lists %d rows after 31 days", len(rows))
	}

	for _, q := range []string{"page=0", "per_page=0", "per_page=1001", "page=x", "from=10&to=5"} {
		resp, body := c.do(http.MethodGet, "/stats/issued?"+q, nil)
		wantProblem(t, resp, body, http.StatusUnprocessableEntity, "")
	}
}

func TestStatsRevokedAndExpiring(t *testing.T) {
	clock := newTestClock()
	_, c := ecdsaServer(t, Options{Clock: clock})
	now := clock.Now()
	var serials []string
	for _, days := range []int{10, 20, 60} {
		req, _ := ecRequest(t, now)
		req.Validity.NotAfter = now.Add(time.Duration(days) * 24 * time.Hour).Unix()
		serials = append(serials, c.issue(req))
	}
	c.do(http.MethodDelete, "/certificates/"+serials[1], nil)

	list := func(path string) []string {
		t.Helper()
		resp, body := c.do(http.MethodGet, path, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Total-Count") == "" {
			t.Fatalf("%s: %d %s %v", path, resp.StatusCode, body, resp.Header)
		}
		var rows []atlas.CertificateMeta
		if err := json.Unmarshal(body, &rows); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var out []string
		for _, r := range rows {
			out = append(out, r.SerialNumber)
		}
		if n, _ := strconv.Atoi(resp.Header.Get("Total-Count")); n != len(out) {
			t.Errorf("%s: Total-Count %d for %d rows", path, n, len(out))
		}
		return out
	}
	if got := list("/stats/revoked"); !reflect.DeepEqual(got, []string{serials[1]}) {
		t.Errorf("revoked = %v", got)
	}
	// Expiring in the next 30 days and not revoked.
	if got := list("/stats/expiring"); !reflect.DeepEqual(got, []string{serials[0]}) {
		t.Errorf("expiring = %v", got)
	}
	to := now.Add(90 * 24 * time.Hour).Unix()
	if got := list(fmt.Sprintf("/stats/expiring?from=%d&to=%d", now.Unix(), to)); !reflect.DeepEqual(got, []string{serials[0], serials[2]}) {
		t.Errorf("expiring in 90 days = %v", got)
	}
}

func TestValidationPolicyEndpoint(t *testing.T) {
	s := startFake(t, Options{})
	c := loggedIn(t, s)
	get := func() atlas.ValidationPolicy {
		resp, body := c.do(http.MethodGet, "/validationpolicy", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		wantJSON(t, resp)
		var p atlas.ValidationPolicy
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := get()
	if !reflect.DeepEqual(&p, DefaultPolicy()) {
		t.Errorf("served policy differs from DefaultPolicy:\n%+v", p)
	}
	if p.KeyFormat() != atlas.KeyFormatPKCS10 || p.PublicKey.KeyType != atlas.KeyTypeRSA || p.NeedsPrivateKey() {
		t.Errorf("default policy public key = %+v", p.PublicKey)
	}

	mine := DefaultECDSAPolicy()
	s.SetPolicy(mine)
	mine.PublicKey.KeyType = "MUTATED"
	if got := get(); got.PublicKey.KeyType != atlas.KeyTypeECDSA || !slices.Equal(got.PublicKey.AllowedLengths, []int{256, 384}) {
		t.Errorf("after SetPolicy: %+v (a caller's later mutation must not leak in)", got.PublicKey)
	}
}
