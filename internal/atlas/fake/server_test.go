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
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func TestMTLSRequired(t *testing.T) {
	s := startFake(t, Options{})
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/v2") {
		t.Errorf("URL() = %q", s.URL())
	}
	untrustedCert, untrustedKey, err := s.NewClientCertificate(false)
	if err != nil {
		t.Fatal(err)
	}
	for name, hc := range map[string]*http.Client{
		"no client certificate":        httpClient(t, s, nil, nil, true),
		"untrusted client certificate": httpClient(t, s, untrustedCert, untrustedKey, true),
		"untrusted over HTTP/1.1":      httpClient(t, s, untrustedCert, untrustedKey, false),
	} {
		t.Run(name, func(t *testing.T) {
			c := &apiClient{t: t, s: s, hc: hc}
			if resp, body, err := c.try(http.MethodPost, "/login", atlas.LoginRequest{APIKey: "k", APISecret: "s"}); err == nil {
				t.Fatalf("handshake succeeded: %d %s", resp.StatusCode, body)
			}
		})
	}
	if n := s.TotalCalls(); n != 0 {
		t.Errorf("calls without a valid client certificate reached handlers: %d", n)
	}

	trustedCert, trustedKey, err := s.NewClientCertificate(true)
	if err != nil {
		t.Fatal(err)
	}
	c := &apiClient{t: t, s: s, hc: httpClient(t, s, trustedCert, trustedKey, true)}
	resp, body := c.do(http.MethodGet, "/quotas/issuance", nil)
	wantProblem(t, resp, body, http.StatusUnauthorized, "Unauthorized")
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol = %s, want HTTP/2", resp.Proto)
	}
}

func TestLogin(t *testing.T) {
	s := startFake(t, Options{})
	cr := s.Credentials()
	if len(cr.APIKey) != 16 || len(cr.APISecret) != 40 {
		t.Errorf("default credential lengths = %d, %d; want 16, 40", len(cr.APIKey), len(cr.APISecret))
	}
	c := newAPIClient(t, s)

	resp, body := c.do(http.MethodPost, "/login", atlas.LoginRequest{APIKey: cr.APIKey, APISecret: cr.APISecret})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	wantJSON(t, resp)
	var lr atlas.LoginResponse
	if err := json.Unmarshal(body, &lr); err != nil || lr.AccessToken == "" {
		t.Fatalf("login body %s: %v", body, err)
	}

	resp, body = c.do(http.MethodPost, "/login", atlas.LoginRequest{APIKey: cr.APIKey, APISecret: "wrong"})
	wantProblem(t, resp, body, http.StatusUnauthorized, "Unauthorized")
	resp, body = c.do(http.MethodPost, "/login", atlas.LoginRequest{APIKey: "wrong", APISecret: cr.APISecret})
	wantProblem(t, resp, body, http.StatusUnauthorized, "Unauthorized")
	resp, body = c.do(http.MethodPost, "/login", `{"api_key":`)
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "Invalid login request")
	resp, body = c.do(http.MethodPost, "/login", `{"api_key":"x"}`)
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "Invalid login request")

	if got := s.CallCount(OpLogin); got != 5 {
		t.Errorf("CallCount(Login) = %d, want 5", got)
	}

	c.token = lr.AccessToken
	resp, body = c.do(http.MethodGet, "/quotas/issuance", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("quota with token: %d %s", resp.StatusCode, body)
	}
	c.token = "not-a-token"
	resp, body = c.do(http.MethodGet, "/quotas/issuance", nil)
	wantProblem(t, resp, body, http.StatusUnauthorized, "Unauthorized")
}

func TestBodyHeaders(t *testing.T) {
	s := startFake(t, Options{})
	cr := s.Credentials()
	loginBody := `{"api_key":"` + cr.APIKey + `","api_secret":"` + cr.APISecret + `"}`
	for _, tc := range []struct {
		name        string
		contentType string
		chunked     bool
		h2          bool
		want        int
	}{
		{"documented type", "application/json;charset=utf-8", false, true, http.StatusOK},
		{"spaced upper-case charset", "application/json; charset=UTF-8", false, true, http.StatusOK},
		{"no charset", "Application/JSON", false, false, http.StatusOK},
		{"text/plain", "text/plain", false, true, http.StatusUnsupportedMediaType},
		{"no content type", "", false, true, http.StatusUnsupportedMediaType},
		{"no Content-Length over HTTP/1.1", "application/json", true, false, http.StatusLengthRequired},
		{"no Content-Length over HTTP/2", "application/json", true, true, http.StatusLengthRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc := httpClient(t, s, cr.CertPEM, cr.KeyPEM, tc.h2)
			var body io.Reader = strings.NewReader(loginBody)
			if tc.chunked {
				// A reader of unknown length makes the client stream the body
				// without Content-Length.
				body = io.MultiReader(strings.NewReader(loginBody))
			}
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/login", body)
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tc.want, b)
			}
			if tc.want != http.StatusOK {
				wantProblem(t, resp, b, tc.want, "")
			}
		})
	}
}

func TestTokenExpiry(t *testing.T) {
	clock := newTestClock()
	s := startFake(t, Options{Clock: clock, TokenLifetime: 10 * time.Minute})
	c := loggedIn(t, s)

	get := func() int {
		resp, _ := c.do(http.MethodGet, "/quotas/issuance", nil)
		return resp.StatusCode
	}
	clock.Step(9*time.Minute + 59*time.Second)
	if got := get(); got != http.StatusOK {
		t.Fatalf("before expiry: %d", got)
	}
	clock.Step(time.Second)
	if got := get(); got != http.StatusUnauthorized {
		t.Fatalf("at expiry: %d, want 401", got)
	}

	c.login()
	if got := get(); got != http.StatusOK {
		t.Fatalf("after new login: %d", got)
	}
	s.ExpireTokens()
	if got := get(); got != http.StatusUnauthorized {
		t.Fatalf("after ExpireTokens: %d, want 401", got)
	}
	c.login()
	if got := get(); got != http.StatusOK {
		t.Fatalf("login after ExpireTokens: %d", got)
	}
}

func TestUnknownPath(t *testing.T) {
	s := startFake(t, Options{})
	c := loggedIn(t, s)
	resp, body := c.do(http.MethodGet, "/nothing-here", nil)
	wantProblem(t, resp, body, http.StatusNotFound, "Not found")
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestLoggerNamesOperations(t *testing.T) {
	var buf syncBuffer
	s := startFake(t, Options{Logger: log.New(&buf, "", 0)})
	loggedIn(t, s)
	// The line is written after the response has gone out.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "Login POST /v2/login -> 200") {
		if time.Now().After(deadline) {
			t.Fatalf("log = %q", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(buf.String(), s.Credentials().APISecret) {
		t.Error("the API secret was logged")
	}
}
