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
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func TestAdminAPI(t *testing.T) {
	s, c := ecdsaServer(t, Options{})
	hs := httptest.NewServer(s.AdminHandler())
	t.Cleanup(hs.Close)
	admin := &AdminClient{URL: hs.URL}
	ctx := context.Background()

	req, _ := ecRequest(t, time.Now())
	c.issue(req)
	c.issue(req)
	st, err := admin.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Calls[OpLogin] != 1 || st.Calls[OpRequestCertificate] != 2 || st.TotalCalls != 3 ||
		st.Issued != 2 || st.Duplicates != 1 || len(st.IssuedPerKey) != 1 || st.Quota != defaultQuota-2 {
		t.Errorf("stats = %+v", st)
	}
	spans, err := admin.Spans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 3 || spans[0].Op != OpLogin || spans[2].Op != OpRequestCertificate || spans[2].End.Before(spans[2].Start) {
		t.Errorf("spans = %+v, want the login and two POSTs", spans)
	}

	if err := admin.SetQuota(ctx, 0); err != nil {
		t.Fatal(err)
	}
	resp, body := c.do(http.MethodPost, "/certificates", req)
	wantProblem(t, resp, body, http.StatusPaymentRequired, "Quota Reached")
	if err := admin.SetQuota(ctx, 10); err != nil || s.Quota() != 10 {
		t.Fatalf("SetQuota: %v, quota %d", err, s.Quota())
	}

	if err := admin.SetFaults(ctx, Faults{RateLimitRate: 1, RetryAfter: 3 * time.Second, Operations: []string{OpQuota}}); err != nil {
		t.Fatal(err)
	}
	if f := s.Faults(); f.RateLimitRate != 1 || f.RetryAfter != 3*time.Second || len(f.Operations) != 1 {
		t.Errorf("faults = %+v", f)
	}
	resp, _ = c.do(http.MethodGet, "/quotas/issuance", nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("after SetFaults: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	r, err := http.Get(hs.URL + "/faults")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(got), `"retry_after":"3s"`) {
		t.Errorf("GET /faults = %s", got)
	}
	if err := admin.SetFaults(ctx, Faults{}); err != nil {
		t.Fatal(err)
	}

	if err := admin.SetPending(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	req2, _ := ecRequest(t, time.Now())
	serial := c.issue(req2)
	if resp, _ := c.do(http.MethodGet, "/certificates/"+serial, nil); resp.StatusCode != http.StatusAccepted {
		t.Errorf("after SetPending(1): %d, want 202", resp.StatusCode)
	}
	if err := admin.SetPending(ctx, 0, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	polls, pfor := s.pendingPolls, s.pendingFor
	s.mu.Unlock()
	if polls != 0 || pfor != 2*time.Second {
		t.Errorf("pending = %d, %v", polls, pfor)
	}
	if err := admin.SetPending(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}

	if err := admin.Reject(ctx, 1); err != nil {
		t.Fatal(err)
	}
	req3, _ := ecRequest(t, time.Now())
	resp, body = c.do(http.MethodGet, "/certificates/"+c.issue(req3), nil)
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "CA validation error")

	p := DefaultECDSAPolicy()
	p.SubjectDN.CommonName = &atlas.StringPolicy{Presence: atlas.PresenceForbidden}
	if err := admin.SetPolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	req4, _ := ecRequest(t, time.Now())
	resp, body = c.do(http.MethodPost, "/certificates", req4)
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "subject_dn.common_name: is forbidden")

	if err := admin.ExpireTokens(ctx); err != nil {
		t.Fatal(err)
	}
	resp, body = c.do(http.MethodGet, "/trustchain", nil)
	wantProblem(t, resp, body, http.StatusUnauthorized, "Unauthorized")

	if err := admin.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := admin.Stats(ctx); err != nil || st.TotalCalls != 0 || st.Issued != 0 || st.Duplicates != 0 || len(st.Calls) != 0 {
		t.Errorf("after Reset: %+v %v", st, err)
	}

	// Mistakes in a harness surface as errors.
	for path, body := range map[string]string{"/faults": `{"error_rat":1}`, "/quota": `{"value":"x"}`, "/pending": `{"for":"soon"}`} {
		req, _ := http.NewRequest(http.MethodPut, hs.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %s %s = %d, want 400", path, body, resp.StatusCode)
		}
	}
	if err := (&AdminClient{URL: hs.URL + "/nope"}).Reset(ctx); err == nil {
		t.Error("AdminClient hid a 404")
	}
}

func TestAdminTokens(t *testing.T) {
	s, c := ecdsaServer(t, Options{})
	hs := httptest.NewServer(s.AdminHandler())
	t.Cleanup(hs.Close)
	admin := &AdminClient{URL: hs.URL}
	ctx := context.Background()

	first := c.token
	if err := admin.ExpireTokens(ctx); err != nil {
		t.Fatal(err)
	}
	second := loggedIn(t, s).token
	got, err := admin.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != first || got[1] != second || first == second {
		t.Errorf("GET /tokens = %q, want [%q %q]: expired tokens are listed too", got, first, second)
	}
}

func TestAdminCredentialsAndServerNames(t *testing.T) {
	s, _ := ecdsaServer(t, Options{ServerNames: []string{"fake-atlas.atlas-test.svc"}})
	hs := httptest.NewServer(s.AdminHandler())
	t.Cleanup(hs.Close)
	got, err := (&AdminClient{URL: hs.URL}).Credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := s.Credentials()
	if got.APIKey != want.APIKey || got.APISecret != want.APISecret || !bytes.Equal(got.CertPEM, want.CertPEM) ||
		!bytes.Equal(got.KeyPEM, want.KeyPEM) || !bytes.Equal(got.ServerCAPEM, want.ServerCAPEM) {
		t.Fatal("GET /credentials differs from the server's credentials")
	}
	// A client that trusts the server CA reaches the fake by its extra name.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(got.ServerCAPEM)
	client, err := tls.X509KeyPair(got.CertPEM, got.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	state := s.ln.Addr().String()
	conn, err := tls.Dial("tcp", state, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{client}, ServerName: "fake-atlas.atlas-test.svc"})
	if err != nil {
		t.Fatalf("TLS to the fake as fake-atlas.atlas-test.svc: %v", err)
	}
	_ = conn.Close()
	if conn, err := tls.Dial("tcp", state, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{client}, ServerName: "other.atlas-test.svc"}); err == nil {
		_ = conn.Close()
		t.Fatal("the server certificate is valid for a name it was not given")
	}
}
