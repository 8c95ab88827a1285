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
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// newTestClock is a settable Options.Clock on a whole second.
func newTestClock() *clocktesting.FakeClock {
	return clocktesting.NewFakeClock(time.Now().Truncate(time.Second))
}

func startFake(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// httpClient is a client that trusts the fake's server CA and presents
// certPEM/keyPEM (none when nil), over HTTP/2 or HTTP/1.1 only.
func httpClient(t *testing.T, s *Server, certPEM, keyPEM []byte, h2 bool) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.Credentials().ServerCAPEM) {
		t.Fatal("ServerCAPEM holds no certificate")
	}
	cfg := &tls.Config{RootCAs: pool}
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatalf("client key pair: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	protos := new(http.Protocols)
	if h2 {
		protos.SetHTTP2(true)
	} else {
		protos.SetHTTP1(true)
	}
	tr := &http.Transport{TLSClientConfig: cfg, Protocols: protos, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// apiClient is a minimal Atlas client written against the wire format only.
type apiClient struct {
	t     *testing.T
	s     *Server
	hc    *http.Client
	token string
}

func newAPIClient(t *testing.T, s *Server) *apiClient {
	t.Helper()
	c := s.Credentials()
	return &apiClient{t: t, s: s, hc: httpClient(t, s, c.CertPEM, c.KeyPEM, true)}
}

// loggedIn returns a client holding a fresh token.
func loggedIn(t *testing.T, s *Server) *apiClient {
	t.Helper()
	c := newAPIClient(t, s)
	c.login()
	return c
}

func (c *apiClient) login() {
	c.t.Helper()
	cr := c.s.Credentials()
	resp, body := c.do(http.MethodPost, "/login", atlas.LoginRequest{APIKey: cr.APIKey, APISecret: cr.APISecret})
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var lr atlas.LoginResponse
	if err := json.Unmarshal(body, &lr); err != nil || lr.AccessToken == "" {
		c.t.Fatalf("login body %q: %v", body, err)
	}
	c.token = lr.AccessToken
}

// do sends body as JSON (a string or []byte is sent as is) and returns the
// response with its body read.
func (c *apiClient) do(method, path string, body any) (*http.Response, []byte) {
	c.t.Helper()
	resp, b, err := c.try(method, path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, b
}

func (c *apiClient) try(method, path string, body any) (*http.Response, []byte, error) {
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rdr = strings.NewReader(b)
	case []byte:
		rdr = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, nil, err
		}
		rdr = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.s.URL()+path, rdr)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json;charset=utf-8")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

var locationRE = regexp.MustCompile(`^/v2/certificates/(01[0-9A-F]{30})$`)

// issue submits req, expects 201 with an empty body, and returns the serial.
func (c *apiClient) issue(req atlas.CertificateRequest) string {
	c.t.Helper()
	resp, body := c.do(http.MethodPost, "/certificates", req)
	if resp.StatusCode != http.StatusCreated {
		c.t.Fatalf("POST /certificates: %d %s", resp.StatusCode, body)
	}
	if len(body) != 0 {
		c.t.Errorf("201 body = %q, want empty", body)
	}
	m := locationRE.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		c.t.Fatalf("Location %q does not match %v", resp.Header.Get("Location"), locationRE)
	}
	return m[1]
}

// retrieve GETs an issued certificate and parses it.
func (c *apiClient) retrieve(serial string) (*x509.Certificate, atlas.CertificateInfo) {
	c.t.Helper()
	resp, body := c.do(http.MethodGet, "/certificates/"+serial, nil)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET certificate: %d %s", resp.StatusCode, body)
	}
	wantJSON(c.t, resp)
	var info atlas.CertificateInfo
	if err := json.Unmarshal(body, &info); err != nil {
		c.t.Fatalf("certificate body: %v", err)
	}
	block, rest := pem.Decode([]byte(info.Certificate))
	if block == nil || len(bytes.TrimSpace(rest)) != 0 {
		c.t.Fatalf("certificate is not one PEM block: %q", info.Certificate)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		c.t.Fatalf("parse certificate: %v", err)
	}
	return cert, info
}

func wantJSON(t *testing.T, resp *http.Response) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != contentTypeJSON {
		t.Errorf("Content-Type = %q, want %q", ct, contentTypeJSON)
	}
}

// wantProblem checks an Atlas error: the status, problem+json, and a
// description containing desc.
func wantProblem(t *testing.T, resp *http.Response, body []byte, status int, desc string) atlas.ErrorBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != contentTypeProblem {
		t.Errorf("Content-Type = %q, want %q", ct, contentTypeProblem)
	}
	var eb atlas.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("problem body %q: %v", body, err)
	}
	if !strings.Contains(eb.Description, desc) {
		t.Errorf("description = %q, want it to contain %q", eb.Description, desc)
	}
	return eb
}

var rsaKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for range 2 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
})

// rsaKey returns one of two RSA 2048 keys shared by the tests: generating
// them is slow.
func rsaKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	keys, err := rsaKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys[i]
}

func ecKey(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// csrPEM makes a CSR whose own subject and SANs must be ignored by Atlas.
func csrPEM(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "csr-subject-is-ignored"},
		DNSNames: []string{"csr-san-is-ignored.invalid"},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func spkiPEM(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// certRequest is a request the default policies accept.
func certRequest(publicKey string, now time.Time) atlas.CertificateRequest {
	return atlas.CertificateRequest{
		Validity:  atlas.Validity{NotBefore: now.Unix(), NotAfter: now.Add(24 * time.Hour).Unix()},
		SubjectDN: atlas.SubjectDN{CommonName: "app.example.com"},
		SAN:       &atlas.SAN{DNSNames: []string{"app.example.com"}},
		PublicKey: publicKey,
	}
}

// ecdsaServer is a fake with the ECDSA policy, whose keys are quick to make.
func ecdsaServer(t *testing.T, opts Options) (*Server, *apiClient) {
	t.Helper()
	if opts.Policy == nil {
		opts.Policy = DefaultECDSAPolicy()
	}
	s := startFake(t, opts)
	return s, loggedIn(t, s)
}

// ecRequest is a valid request for a fresh P-256 key.
func ecRequest(t *testing.T, now time.Time) (atlas.CertificateRequest, *ecdsa.PrivateKey) {
	t.Helper()
	k := ecKey(t, elliptic.P256())
	return certRequest(csrPEM(t, k), now), k
}
