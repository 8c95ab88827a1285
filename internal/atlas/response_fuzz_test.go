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
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// fuzzToken is what the fuzz server's login hands out when the login
// itself is not under test; it must never surface in an error.
const fuzzToken = "fuzz-token-5b0c6e1d9a2f4873b1e0c4d7a9f3e215"

// fuzzAnswer is the response the fuzz server gives to the call under test.
type fuzzAnswer struct {
	status int
	header http.Header
	body   []byte
}

var (
	fuzzOnce  sync.Once
	fuzzSrv   *httptest.Server
	fuzzMu    sync.Mutex
	fuzzLogin *fuzzAnswer // nil: a good login with fuzzToken
	fuzzAPI   *fuzzAnswer
)

func fuzzServer(t *testing.T) *httptest.Server {
	fuzzOnce.Do(func() {
		p := getPKI(t)
		fuzzSrv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			fuzzMu.Lock()
			a := fuzzAPI
			if r.URL.Path == "/v2/login" {
				a = fuzzLogin
			}
			fuzzMu.Unlock()
			if a == nil {
				writeJSON(w, http.StatusOK, atlas.LoginResponse{AccessToken: fuzzToken})
				return
			}
			for k, vs := range a.header {
				for _, v := range vs {
					w.Header().Add(k, v)
				}
			}
			w.WriteHeader(a.status)
			_, _ = w.Write(a.body)
		}))
		fuzzSrv.TLS = &tls.Config{
			Certificates: []tls.Certificate{p.server},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    p.roots,
			MinVersion:   tls.VersionTLS12,
		}
		fuzzSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
		fuzzSrv.StartTLS()
	})
	return fuzzSrv
}

// parseHeader reads "Key: value" lines; lines without a colon or with a
// name the server could not send are skipped.
func parseHeader(block string) http.Header {
	h := http.Header{}
	for line := range strings.SplitSeq(block, "\n") {
		k, v, ok := strings.Cut(line, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\x00()<>@,;\\\"/[]?={}") {
			continue
		}
		for _, c := range k {
			if c < '!' || c > '~' {
				k = ""
				break
			}
		}
		if k == "" || strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Transfer-Encoding") ||
			strings.EqualFold(k, "Connection") || strings.EqualFold(k, "Trailer") {
			continue
		}
		h.Add(k, strings.TrimSpace(v))
	}
	return h
}

// FuzzResponse feeds the client arbitrary Atlas answers (status, headers
// and body) over a real mTLS connection, for each kind of call the issuer
// makes: the client must not panic, must turn every answer it does not
// accept into an *atlas.Error with that status, and must never put the API
// secret or the bearer token into an error. testdata/fuzz/FuzzResponse
// holds answers Atlas and proxies in front of it really give.
func FuzzResponse(f *testing.F) {
	f.Add(uint8(1), uint16(201), "Location: /v2/certificates/01AB23CD45EF\nContent-Type: application/json", []byte(""))
	f.Add(uint8(2), uint16(200), "Content-Type: application/json;charset=utf-8", []byte(`{"status":"ISSUED","certificate":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","updated_at":1700000000}`))
	f.Add(uint8(2), uint16(202), "Content-Type: application/json", []byte(`{"description":"Operation in progress"}`))
	f.Add(uint8(3), uint16(429), "Retry-After: 3\nContent-Type: application/problem+json", []byte(`{"description":"Rate Limit Reached"}`))
	f.Add(uint8(4), uint16(503), "Content-Type: application/problem+json", []byte(`{"description":"Service busy, please retry later","id":"ABC"}`))
	f.Add(uint8(5), uint16(200), "Content-Type: application/json\nTotal-Count: 2\nLink: </v2/stats/issued?page=2>; rel=\"next\"", []byte(`[{"serial_number":"01AA","not_before":1,"not_after":2}]`))
	f.Add(uint8(0), uint16(200), "Content-Type: application/json", []byte(`{"access_token":"abc.def"}`))
	f.Add(uint8(6), uint16(500), "Content-Type: text/plain", []byte("<html>upstream error</html>"))
	f.Add(uint8(1), uint16(422), "Content-Type: application/problem+json", []byte(`{"description":"Validation error","errors":{"san.dns_names":"not allowed"}}`))
	f.Add(uint8(7), uint16(200), "Content-Type: application/json", []byte(`{"value":42}`))

	f.Fuzz(func(t *testing.T, op uint8, status uint16, header string, body []byte) {
		srv := fuzzServer(t)
		code := 200 + int(status)%400 // 200..599: 1xx are informational, not answers
		answer := &fuzzAnswer{status: code, header: parseHeader(header), body: body}
		op %= 8
		fuzzMu.Lock()
		fuzzLogin, fuzzAPI = nil, answer
		if op == 0 {
			fuzzLogin, fuzzAPI = answer, nil
		}
		fuzzMu.Unlock()

		p := getPKI(t)
		c, err := atlas.New(atlas.Config{
			URL: srv.URL + "/v2", APIKey: testAPIKey, APISecret: testAPISecret,
			ClientCertificate: p.client, RootCAs: p.roots,
			Timeout: 5 * time.Second, Retry: atlas.RetryPolicy{MaxAttempts: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseIdleConnections()
		atlas.SetSleep(c, func(context.Context, time.Duration) error { return nil })
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()

		var callErr error
		switch op {
		case 0:
			callErr = c.Login(ctx)
		case 1:
			var serial string
			serial, callErr = c.RequestCertificate(ctx, &atlas.CertificateRequest{})
			if callErr == nil && serial == "" {
				t.Fatal("RequestCertificate succeeded with an empty serial")
			}
		case 2:
			var info *atlas.CertificateInfo
			info, callErr = c.RetrieveCertificate(ctx, "01AB23CD45EF")
			if callErr == nil && info == nil {
				t.Fatal("RetrieveCertificate succeeded with no result")
			}
		case 3:
			_, callErr = c.ValidationPolicy(ctx)
		case 4:
			_, callErr = c.TrustChain(ctx)
		case 5:
			var page *atlas.StatsPage
			page, callErr = c.StatsIssued(ctx, atlas.StatsQuery{Page: 1, PerPage: 100, From: 1, To: 2})
			if callErr == nil && (page == nil || page.TotalCount < 0) {
				t.Fatalf("StatsIssued succeeded with %+v", page)
			}
		case 6:
			_, callErr = c.Quota(ctx)
		case 7:
			_, callErr = c.CountIssued(ctx)
		}
		if callErr == nil {
			return
		}
		msg := callErr.Error()
		if strings.Contains(msg, testAPISecret) {
			t.Fatalf("error carries the API secret: %q", msg)
		}
		if strings.Contains(msg, fuzzToken) {
			t.Fatalf("error carries the bearer token: %q", msg)
		}
		if ae, ok := errors.AsType[*atlas.Error](callErr); ok {
			if ae.StatusCode != code {
				t.Fatalf("error has status %d, the server answered %d", ae.StatusCode, code)
			}
			if ae.RetryAfter < 0 {
				t.Fatalf("negative Retry-After %v", ae.RetryAfter)
			}
			if ae.Description == "" {
				t.Fatalf("error without a description: %#v", ae)
			}
		}
	})
}
