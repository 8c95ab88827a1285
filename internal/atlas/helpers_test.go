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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

const (
	testAPIKey    = "e510e289e6cd8947"
	testAPISecret = "a477a8393d17a55ecb2ba6a61f58feb84770b621"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and an mTLS
// client certificate, generated once per test binary.
type testPKI struct {
	roots      *x509.CertPool
	server     tls.Certificate
	client     tls.Certificate
	otherRoots *x509.CertPool
	// stranger is a client certificate from a CA the server does not trust.
	stranger tls.Certificate
}

var (
	pkiOnce sync.Once
	pki     *testPKI
)

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		caCert, caKey := newCA("Test Atlas CA")
		otherCert, otherKey := newCA("Other CA")
		pki = &testPKI{
			roots:      x509.NewCertPool(),
			otherRoots: x509.NewCertPool(),
			server: newLeaf(caCert, caKey, &x509.Certificate{
				Subject:     pkix.Name{CommonName: "atlas test server"},
				DNSNames:    []string{"localhost"},
				IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			}),
			client: newLeaf(caCert, caKey, &x509.Certificate{
				Subject:     pkix.Name{CommonName: "atlas test client"},
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			}),
			stranger: newLeaf(otherCert, otherKey, &x509.Certificate{
				Subject:     pkix.Name{CommonName: "stranger"},
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			}),
		}
		pki.roots.AddCert(caCert)
		pki.otherRoots.AddCert(otherCert)
	})
	return pki
}

func mustKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func serialNumber() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		panic(err)
	}
	return n
}

func newCA(cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	key := mustKey()
	tmpl := &x509.Certificate{
		SerialNumber:          serialNumber(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert, key
}

func newLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate) tls.Certificate {
	key := mustKey()
	tmpl.SerialNumber = serialNumber()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		panic(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	// tls.X509KeyPair keeps this fixture independent of LoadKeyPair.
	cert, err := tls.X509KeyPair(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		panic(err)
	}
	return cert
}

// recorded is what the fake saw of one API request.
type recorded struct {
	Method        string
	Path          string // escaped
	Query         url.Values
	Header        http.Header
	Body          []byte
	ContentLength int64
}

// fakeAtlas is a minimal Atlas for one test: mTLS, /v2/login with the test
// credentials, bearer checks, and one replaceable handler for the API.
type fakeAtlas struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	api        http.HandlerFunc
	login      http.HandlerFunc // replaces the standard login when set
	tokens     map[string]bool  // currently valid
	issued     []string         // every token ever issued
	loginCalls int
	apiCalls   int
	requests   []recorded
}

func newFakeAtlas(t *testing.T, http2 bool) *fakeAtlas {
	t.Helper()
	p := getPKI(t)
	f := &fakeAtlas{t: t, tokens: map[string]bool{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.EnableHTTP2 = http2
	f.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.roots,
		MinVersion:   tls.VersionTLS12,
	}
	// Handshake failures are expected in some tests; keep the output clean.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAtlas) url() string { return f.srv.URL + "/v2" }

func (f *fakeAtlas) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/login" {
		f.mu.Lock()
		f.loginCalls++
		h := f.login
		f.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		f.standardLogin(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.apiCalls++
	f.requests = append(f.requests, recorded{
		Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body, ContentLength: r.ContentLength,
	})
	h := f.api
	valid := false
	if tok, ok := bearer(r); ok {
		valid = f.tokens[tok]
	}
	f.mu.Unlock()
	if !valid {
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "")
		return
	}
	if h == nil {
		writeProblem(w, http.StatusNotFound, "Not found", "")
		return
	}
	h(w, r)
}

func bearer(r *http.Request) (string, bool) {
	const prefix = "Bearer "
	a := r.Header.Get("Authorization")
	if len(a) <= len(prefix) || a[:len(prefix)] != prefix {
		return "", false
	}
	return a[len(prefix):], true
}

func (f *fakeAtlas) standardLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json;charset=utf-8" {
		writeProblem(w, http.StatusUnsupportedMediaType, "Bad Content-Type", "")
		return
	}
	if r.ContentLength <= 0 {
		writeProblem(w, http.StatusLengthRequired, "Content-Length required", "")
		return
	}
	if r.Header.Get("Authorization") != "" {
		writeProblem(w, http.StatusBadRequest, "Bad Request", "")
		return
	}
	var req atlas.LoginRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeProblem(w, http.StatusUnprocessableEntity, "Invalid login request", "")
		return
	}
	if req.APIKey != testAPIKey || req.APISecret != testAPISecret {
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "")
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "tok" + hex.EncodeToString(b)
	f.mu.Lock()
	f.tokens[tok] = true
	f.issued = append(f.issued, tok)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, atlas.LoginResponse{AccessToken: tok})
}

// revokeTokens makes every issued token invalid, as if they expired early.
func (f *fakeAtlas) revokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = map[string]bool{}
}

func (f *fakeAtlas) setAPI(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.api = h
}

func (f *fakeAtlas) setLogin(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.login = h
}

func (f *fakeAtlas) counts() (logins, api int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loginCalls, f.apiCalls
}

func (f *fakeAtlas) lastRequest() recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		f.t.Fatal("no API request recorded")
	}
	return f.requests[len(f.requests)-1]
}

func (f *fakeAtlas) issuedTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, description, id string) {
	w.Header().Set("Content-Type", "application/problem+json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(atlas.ErrorBody{Description: description, ID: id})
}

// sleepRecorder replaces the client's sleep: it records each delay and
// returns at once, so retry tests take no wall time.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) get() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// newClient returns a client for f whose sleeps are recorded, not spent.
func newClient(t *testing.T, f *fakeAtlas, mutate ...func(*atlas.Config)) (*atlas.Client, *sleepRecorder) {
	t.Helper()
	p := getPKI(t)
	cfg := atlas.Config{
		URL:               f.url(),
		APIKey:            testAPIKey,
		APISecret:         testAPISecret,
		ClientCertificate: p.client,
		RootCAs:           p.roots,
		Timeout:           10 * time.Second,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := atlas.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	rec := &sleepRecorder{}
	atlas.SetSleep(c, rec.sleep)
	return c, rec
}

// testCtx bounds a test's calls so that a bug hangs no longer than this.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func tlsCertificateWithoutKey(p *testPKI) tls.Certificate {
	c := p.client
	c.PrivateKey = nil
	return c
}
