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
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

var claimLocationRE = regexp.MustCompile(`^/v2/claims/domains/([0-9A-F]{32})$`)

func submitClaim(t *testing.T, c *apiClient, domain string) (string, atlas.ClaimAssertion) {
	t.Helper()
	resp, body := c.do(http.MethodPost, "/claims/domains/"+domain, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit %s: %d %s", domain, resp.StatusCode, body)
	}
	m := claimLocationRE.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		t.Fatalf("Location = %q", resp.Header.Get("Location"))
	}
	var a atlas.ClaimAssertion
	if err := json.Unmarshal(body, &a); err != nil || a.Token == "" || a.AssertBy == 0 {
		t.Fatalf("assertion %s: %v", body, err)
	}
	return m[1], a
}

func getClaim(t *testing.T, c *apiClient, id string) atlas.Claim {
	t.Helper()
	resp, body := c.do(http.MethodGet, "/claims/domains/"+id, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get claim: %d %s", resp.StatusCode, body)
	}
	var cl atlas.Claim
	if err := json.Unmarshal(body, &cl); err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestClaimStateMachine(t *testing.T) {
	clock := newTestClock()
	s := startFake(t, Options{Clock: clock})
	c := loggedIn(t, s)

	id, assertion := submitClaim(t, c, "Sub.Example.COM")
	cl := getClaim(t, c, id)
	if cl.ID != id || cl.Domain != "sub.example.com." || cl.Status != atlas.ClaimPending ||
		cl.Token != assertion.Token || cl.AssertBy != assertion.AssertBy || cl.CreatedAt != clock.Now().Unix() {
		t.Errorf("claim = %+v", cl)
	}

	resp, body := c.do(http.MethodGet, "/claims/domains/"+id+"/dns", nil)
	var adns []string
	if err := json.Unmarshal(body, &adns); err != nil || resp.StatusCode != http.StatusOK || !slices.Equal(adns, []string{"sub.example.com", "example.com"}) {
		t.Errorf("ADNs = %d %s", resp.StatusCode, body)
	}
	resp, body = c.do(http.MethodGet, "/claims/domains/"+id+"/email", nil)
	var emails atlas.ClaimEmails
	if err := json.Unmarshal(body, &emails); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("emails: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{"admin@sub.example.com", "administrator@example.com", "webmaster@example.com", "hostmaster@sub.example.com", "postmaster@example.com"} {
		if !slices.Contains(emails.Constructed, want) {
			t.Errorf("constructed emails %v lack %s", emails.Constructed, want)
		}
	}
	if len(emails.DNS.SOA.Emails) == 0 {
		t.Error("no SOA emails")
	}

	// An AND that is not one of the claim's is refused.
	resp, body = c.do(http.MethodPost, "/claims/domains/"+id+"/dns", atlas.DNSVerifyRequest{AuthorizationDomain: "example.org"})
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "authorization_domain")
	// First verification call schedules, the next verifies.
	resp, _ = c.do(http.MethodPost, "/claims/domains/"+id+"/dns", nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("first /dns = %d, want 201", resp.StatusCode)
	}
	if cl := getClaim(t, c, id); cl.Status != atlas.ClaimPending {
		t.Errorf("after 201: %s", cl.Status)
	}
	resp, _ = c.do(http.MethodPost, "/claims/domains/"+id+"/dns", atlas.DNSVerifyRequest{AuthorizationDomain: "example.com."})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second /dns = %d, want 204", resp.StatusCode)
	}
	cl = getClaim(t, c, id)
	if cl.Status != atlas.ClaimVerified || cl.LastVerificationMethod != "DNS" || cl.LastVerifiedAt != clock.Now().Unix() || len(cl.Log) < 3 {
		t.Errorf("verified claim = %+v", cl)
	}
	if resp, _ := c.do(http.MethodPost, "/claims/domains/"+id+"/http", atlas.HTTPVerifyRequest{Scheme: "https"}); resp.StatusCode != http.StatusNoContent {
		t.Errorf("verifying a VERIFIED claim = %d, want 204", resp.StatusCode)
	}

	// A second claim lets assert_by pass: 424 until reassert.
	id2, first := submitClaim(t, c, "other.example.net.")
	clock.Step(time.Duration(first.AssertBy-clock.Now().Unix()+1) * time.Second)
	c.login()
	resp, body = c.do(http.MethodPost, "/claims/domains/"+id2+"/http", atlas.HTTPVerifyRequest{Scheme: "http"})
	wantProblem(t, resp, body, http.StatusFailedDependency, "Claim expired. Reassert first")
	resp, body = c.do(http.MethodPost, "/claims/domains/"+id2+"/reassert", nil)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") != "/claims/domains/"+id2 {
		t.Fatalf("reassert: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	var again atlas.ClaimAssertion
	if err := json.Unmarshal(body, &again); err != nil {
		t.Fatal(err)
	}
	if again.Token == first.Token || again.AssertBy <= first.AssertBy {
		t.Errorf("reassert did not renew: %+v vs %+v", again, first)
	}
	resp, body = c.do(http.MethodPost, "/claims/domains/"+id2+"/http", atlas.HTTPVerifyRequest{Scheme: "ftp"})
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "scheme")
	if resp, _ := c.do(http.MethodPost, "/claims/domains/"+id2+"/http", atlas.HTTPVerifyRequest{Scheme: "http"}); resp.StatusCode != http.StatusCreated {
		t.Errorf("after reassert /http = %d, want 201", resp.StatusCode)
	}
	resp, body = c.do(http.MethodPost, "/claims/domains/"+id2+"/email", atlas.EmailVerifyRequest{EmailAddress: "someone@else.com"})
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "email_address")
	if resp, _ := c.do(http.MethodPost, "/claims/domains/"+id2+"/email", atlas.EmailVerifyRequest{EmailAddress: "admin@example.net"}); resp.StatusCode != http.StatusNoContent {
		t.Errorf("approver email = %d, want 204", resp.StatusCode)
	}
	if cl := getClaim(t, c, id2); cl.Status != atlas.ClaimVerified || cl.LastVerificationMethod != "EMAIL" {
		t.Errorf("claim 2 = %+v", cl)
	}

	resp, body = c.do(http.MethodGet, "/claims/domains/not-an-id", nil)
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "")
	resp, body = c.do(http.MethodGet, "/claims/domains/0123456789ABCDEF0123456789ABCDEF", nil)
	wantProblem(t, resp, body, http.StatusNotFound, "Not found")
	resp, body = c.do(http.MethodPost, "/claims/domains/not_a_domain", nil)
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "domain")

	if resp, _ := c.do(http.MethodDelete, "/claims/domains/"+id, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	resp, body = c.do(http.MethodGet, "/claims/domains/"+id, nil)
	wantProblem(t, resp, body, http.StatusNotFound, "Not found")

	for op, want := range map[string]int{OpSubmitClaim: 3, OpVerifyClaimDNS: 3, OpVerifyClaimHTTP: 4, OpVerifyClaimEmail: 2, OpReassertClaim: 1, OpDeleteClaim: 1, OpClaimDNSDomains: 1, OpClaimEmails: 1} {
		if got := s.CallCount(op); got != want {
			t.Errorf("CallCount(%s) = %d, want %d", op, got, want)
		}
	}
}

func TestListClaims(t *testing.T) {
	s := startFake(t, Options{})
	c := loggedIn(t, s)
	var ids []string
	for _, d := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		id, _ := submitClaim(t, c, d)
		ids = append(ids, id)
	}
	c.do(http.MethodPost, "/claims/domains/"+ids[1]+"/dns", nil)
	c.do(http.MethodPost, "/claims/domains/"+ids[1]+"/dns", nil)

	list := func(q string) ([]atlas.Claim, http.Header) {
		t.Helper()
		resp, body := c.do(http.MethodGet, "/claims/domains"+q, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list %s: %d %s", q, resp.StatusCode, body)
		}
		var out []atlas.Claim
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		return out, resp.Header
	}
	all, h := list("")
	if len(all) != 3 || h.Get("Total-Count") != "3" {
		t.Errorf("all = %d claims, Total-Count %s", len(all), h.Get("Total-Count"))
	}
	pending, h := list("?status=pending&per_page=1")
	if len(pending) != 1 || pending[0].ID != ids[0] || h.Get("Total-Count") != "2" {
		t.Errorf("pending page 1 = %+v, Total-Count %s", pending, h.Get("Total-Count"))
	}
	if !regexp.MustCompile(`<[^>]*page=2[^>]*status=PENDING[^>]*>; rel="next"`).MatchString(h.Get("Links")) {
		t.Errorf("Links = %q", h.Get("Links"))
	}
	verified, _ := list("?status=VERIFIED")
	if len(verified) != 1 || verified[0].ID != ids[1] {
		t.Errorf("verified = %+v", verified)
	}
	resp, body := c.do(http.MethodGet, "/claims/domains?status=EXPIRED", nil)
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "")
}
