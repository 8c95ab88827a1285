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

// Package fake is an in-process GlobalSign Atlas HVCA API v2 server for
// tests, benchmarks, chaos runs and demos.
//
// It is a real HTTPS server on loopback: mutual TLS against its own client
// CA, HTTP/2, login with an API key and secret, tokens that expire, a
// generated root and issuing CA that really sign the submitted public key,
// validation-policy enforcement with Atlas-style 422 messages, asynchronous
// issuance, revocation, rekey, statistics, domain claims, and fault
// injection. Counters of calls per operation and of issued certificates per
// public key let tests assert that nothing was issued twice.
//
// The wire format follows the Atlas HVCA API v2 documentation. Where Atlas's behaviour is
// not documented the fake picks one plausible answer and says so in the
// comment of the handler concerned.
package fake

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// Options configures a fake server. The zero value is usable.
type Options struct {
	// Addr is the listen address; default "127.0.0.1:0".
	Addr string
	// APIKey and APISecret are the login credentials; default random hex
	// of 16 and 40 characters, the lengths of Atlas's own.
	APIKey, APISecret string
	// TokenLifetime is how long an access token stays valid; default 10m.
	TokenLifetime time.Duration
	// Clock is the server's time: token expiry, the not_before skew,
	// pending-for delays, claims and statistics. Default time.Now. The TLS
	// and CA certificates use the real time, so a fake clock never breaks
	// the handshake.
	Clock clock.PassiveClock
	// Policy is the account's validation policy; default DefaultPolicy().
	Policy *atlas.ValidationPolicy
	// PendingPolls makes GET /certificates/{serial} answer 202 this many
	// times before 200; default 0, issued at once.
	PendingPolls int
	// PendingFor keeps a certificate pending until this long after its
	// acceptance, on Clock; default 0.
	PendingFor time.Duration
	// Quota is the remaining issuance quota; default 1_000_000 (zero means
	// the default: use SetQuota(0) for an exhausted account).
	Quota int64
	// Logger receives one line per request; nil is silent.
	Logger *log.Logger
	// ServerNames are further DNS names or IPs the server certificate is
	// valid for, e.g. the fake's Service name when it runs in a cluster.
	ServerNames []string
}

// Credentials is what an Atlas customer holds: the API key and secret, and
// the mTLS client certificate with its key. ServerCAPEM is the CA that
// signed the fake's server certificate, for a client's RootCAs.
type Credentials struct {
	APIKey, APISecret string
	// CertPEM is the mTLS client certificate issued by the fake's client CA.
	CertPEM []byte
	// KeyPEM is its private key, PKCS#8 PEM.
	KeyPEM []byte
	// ServerCAPEM is the CA certificate that signed the server certificate.
	ServerCAPEM []byte
}

const (
	defaultTokenLifetime = 10 * time.Minute
	defaultQuota         = 1_000_000
	basePath             = "/v2"
	maxBodyBytes         = 1 << 20

	contentTypeJSON    = "application/json;charset=utf-8"
	contentTypeProblem = "application/problem+json;charset=utf-8"
)

// Operation names, as in the method column of internal/atlas/doc.go. Calls
// are counted and faults are selected by these names.
const (
	OpLogin                       = "Login"
	OpRequestCertificate          = "RequestCertificate"
	OpRetrieveCertificate         = "RetrieveCertificate"
	OpRevokeCertificate           = "RevokeCertificate"
	OpRevokeCertificateDeprecated = "RevokeCertificateDeprecated"
	OpRekeyCertificate            = "RekeyCertificate"
	OpTrustChain                  = "TrustChain"
	OpValidationPolicy            = "ValidationPolicy"
	OpCountIssued                 = "CountIssued"
	OpCountRevoked                = "CountRevoked"
	OpQuota                       = "Quota"
	OpStatsIssued                 = "StatsIssued"
	OpStatsRevoked                = "StatsRevoked"
	OpStatsExpiring               = "StatsExpiring"
	OpListClaims                  = "ListClaims"
	OpSubmitClaim                 = "SubmitClaim"
	OpRetrieveClaim               = "RetrieveClaim"
	OpDeleteClaim                 = "DeleteClaim"
	OpClaimDNSDomains             = "ClaimDNSDomains"
	OpVerifyClaimDNS              = "VerifyClaimDNS"
	OpVerifyClaimHTTP             = "VerifyClaimHTTP"
	OpClaimEmails                 = "ClaimEmails"
	OpVerifyClaimEmail            = "VerifyClaimEmail"
	OpReassertClaim               = "ReassertClaim"
)

// Server is a running fake Atlas. All methods are safe for concurrent use.
type Server struct {
	opts   Options
	pki    *pki
	ln     net.Listener
	srv    *http.Server
	url    string
	creds  Credentials
	closer sync.Once

	mu           sync.Mutex
	policy       *atlas.ValidationPolicy
	quota        int64
	pendingPolls int
	pendingFor   time.Duration
	rejectNext   int
	faults       Faults
	tokens       map[string]time.Time
	certs        map[string]*certRecord
	certOrder    []*certRecord
	claims       map[string]*claimRecord
	claimOrder   []*claimRecord
	// tokenLog is every token ever handed out, expired or not, so that
	// harnesses can search logs for leaked tokens (admin GET /tokens).
	tokenLog []string

	// Counters have their own lock: every request touches them, and a
	// test reading them must not wait behind certificate signing.
	cmu   sync.Mutex
	calls map[string]int
	// faultCounts counts injected faults by kind (FaultCounts).
	faultCounts map[string]int
	// callHook, when set, runs for every call once it is counted in
	// flight: tests hold calls there to make overlaps happen on purpose.
	callHook func(op string)
	issued   int
	perKey   map[string]int
	// inFlight and peakInFlight count calls being served, so that a
	// harness can see how many calls a client really keeps open at once.
	inFlight, peakInFlight int
	// inFlightByOp counts the calls being served per operation.
	inFlightByOp map[string]int
	busy         Busy
	// spans are the calls since start or the last Reset, up to maxSpans
	// (CallSpans).
	spans []CallSpan

	// clockOffset moves the server's time away from Options.Clock
	// (SetClockOffset), in nanoseconds.
	clockOffset atomic.Int64
}

// withDefaults fills in the options left zero.
func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.APIKey == "" {
		o.APIKey = randomHex(8)
	}
	if o.APISecret == "" {
		o.APISecret = randomHex(20)
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = defaultTokenLifetime
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Quota <= 0 {
		o.Quota = defaultQuota
	}
	return o
}

// Start generates the PKI, listens on opts.Addr and serves until Close.
func Start(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	policy := DefaultPolicy()
	if opts.Policy != nil {
		var err error
		if policy, err = clonePolicy(opts.Policy); err != nil {
			return nil, err
		}
	}

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("fake atlas: listen: %w", err)
	}
	host := urlHost(ln.Addr())
	p, err := newPKI(append(serverNames(opts.Addr), opts.ServerNames...))
	if err != nil {
		_ = ln.Close() // the error above is the one to report
		return nil, err
	}
	s := &Server{
		opts:         opts,
		pki:          p,
		ln:           ln,
		url:          "https://" + host + basePath,
		policy:       policy,
		quota:        opts.Quota,
		pendingPolls: opts.PendingPolls,
		pendingFor:   opts.PendingFor,
		tokens:       map[string]time.Time{},
		certs:        map[string]*certRecord{},
		claims:       map[string]*claimRecord{},
		calls:        map[string]int{},
		inFlightByOp: map[string]int{},
		faultCounts:  map[string]int{},
		perKey:       map[string]int{},
	}
	certPEM, keyPEM, err := p.clientCertificate(true)
	if err != nil {
		_ = ln.Close() // the error above is the one to report
		return nil, err
	}
	s.creds = Credentials{
		APIKey:      opts.APIKey,
		APISecret:   opts.APISecret,
		CertPEM:     certPEM,
		KeyPEM:      keyPEM,
		ServerCAPEM: p.serverCAPEM,
	}
	errorLog := opts.Logger
	if errorLog == nil {
		// Rejected handshakes are expected in tests; without a logger they
		// would otherwise land on stderr.
		errorLog = log.New(io.Discard, "", 0)
	}
	s.srv = &http.Server{
		Handler:           s.withDate(s.routes()),
		TLSConfig:         p.serverTLSConfig(),
		ErrorLog:          errorLog,
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() {
		// ServeTLS adds "h2" to NextProtos, which turns HTTP/2 on.
		if err := s.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("serve: %v", err)
		}
	}()
	return s, nil
}

// URL is the API base URL, "https://127.0.0.1:PORT/v2".
func (s *Server) URL() string { return s.url }

// Credentials returns the API key and secret, a trusted mTLS client
// certificate and key, and the CA to trust for the server.
func (s *Server) Credentials() Credentials {
	c := s.creds
	c.CertPEM = append([]byte(nil), c.CertPEM...)
	c.KeyPEM = append([]byte(nil), c.KeyPEM...)
	c.ServerCAPEM = append([]byte(nil), c.ServerCAPEM...)
	return c
}

// ClientConfig is an atlas.Config that logs in to this server with the
// credentials of Credentials and trusts its CA.
func (s *Server) ClientConfig() (atlas.Config, error) {
	pair, err := atlas.LoadKeyPair(s.creds.CertPEM, s.creds.KeyPEM, nil)
	if err != nil {
		return atlas.Config{}, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(s.creds.ServerCAPEM)
	return atlas.Config{URL: s.URL(), APIKey: s.creds.APIKey, APISecret: s.creds.APISecret, ClientCertificate: pair, RootCAs: roots}, nil
}

// NewClientCertificate issues another mTLS client certificate and PKCS#8
// key. With trusted false it comes from a CA the server does not trust, so
// the handshake fails.
func (s *Server) NewClientCertificate(trusted bool) (certPEM, keyPEM []byte, err error) {
	return s.pki.clientCertificate(trusted)
}

// RootPEM is the root CA certificate of the issuing hierarchy.
func (s *Server) RootPEM() []byte { return append([]byte(nil), s.pki.rootPEM...) }

// IntermediatePEM is the issuing CA certificate that signs every leaf.
func (s *Server) IntermediatePEM() []byte { return append([]byte(nil), s.pki.interPEM...) }

// Close stops the server and drops every connection. It is idempotent.
func (s *Server) Close() {
	s.closer.Do(func() {
		_ = s.srv.Close() // only the listener's close error, which Close has no use for
	})
}

func (s *Server) now() time.Time { return s.opts.Clock.Now().Add(s.ClockOffset()) }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logger != nil {
		s.opts.Logger.Printf("fake-atlas: "+format, args...)
	}
}

// bodyMode says what an endpoint expects of the request body, which decides
// the 411 and 415 checks.
type bodyMode int

const (
	bodyNone bodyMode = iota
	bodyOptional
	bodyRequired
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	add := func(pattern, op string, body bodyMode, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+basePath+path, s.endpoint(op, body, h))
	}
	add("POST /login", OpLogin, bodyRequired, s.handleLogin)
	add("POST /certificates", OpRequestCertificate, bodyRequired, s.handleRequestCertificate)
	add("GET /certificates/{serial}", OpRetrieveCertificate, bodyNone, s.handleRetrieveCertificate)
	add("PATCH /certificates/{serial}", OpRevokeCertificate, bodyRequired, s.handleRevokeCertificate)
	add("DELETE /certificates/{serial}", OpRevokeCertificateDeprecated, bodyNone, s.handleRevokeCertificateDeprecated)
	add("POST /certificates/{serial}/rekey", OpRekeyCertificate, bodyRequired, s.handleRekeyCertificate)
	add("GET /trustchain", OpTrustChain, bodyNone, s.handleTrustChain)
	add("GET /validationpolicy", OpValidationPolicy, bodyNone, s.handleValidationPolicy)
	add("GET /counters/certificates/issued", OpCountIssued, bodyNone, s.handleCountIssued)
	add("GET /counters/certificates/revoked", OpCountRevoked, bodyNone, s.handleCountRevoked)
	add("GET /quotas/issuance", OpQuota, bodyNone, s.handleQuota)
	add("GET /stats/issued", OpStatsIssued, bodyNone, s.handleStats(statsIssued))
	add("GET /stats/revoked", OpStatsRevoked, bodyNone, s.handleStats(statsRevoked))
	add("GET /stats/expiring", OpStatsExpiring, bodyNone, s.handleStats(statsExpiring))
	add("GET /claims/domains", OpListClaims, bodyNone, s.handleListClaims)
	add("POST /claims/domains/{domain}", OpSubmitClaim, bodyNone, s.handleSubmitClaim)
	add("GET /claims/domains/{id}", OpRetrieveClaim, bodyNone, s.handleRetrieveClaim)
	add("DELETE /claims/domains/{id}", OpDeleteClaim, bodyNone, s.handleDeleteClaim)
	add("GET /claims/domains/{id}/dns", OpClaimDNSDomains, bodyNone, s.handleClaimDNSDomains)
	add("POST /claims/domains/{id}/dns", OpVerifyClaimDNS, bodyOptional, s.handleVerifyClaim(verifyDNS))
	add("POST /claims/domains/{id}/http", OpVerifyClaimHTTP, bodyRequired, s.handleVerifyClaim(verifyHTTP))
	add("GET /claims/domains/{id}/email", OpClaimEmails, bodyNone, s.handleClaimEmails)
	add("POST /claims/domains/{id}/email", OpVerifyClaimEmail, bodyRequired, s.handleVerifyClaim(verifyEmail))
	add("POST /claims/domains/{id}/reassert", OpReassertClaim, bodyNone, s.handleReassertClaim)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "Not found", nil)
	})
	return mux
}

// endpoint wraps a handler with what every Atlas call goes through, in this
// order: the call counter, fault injection, the bearer token (not for
// /login), and the Content-Length and Content-Type checks for bodies.
func (s *Server) endpoint(op string, body bodyMode, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer s.countCall(op)()
		s.runCallHook(op)
		if s.opts.Logger != nil {
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			start := time.Now()
			defer func() {
				s.logf("%s %s %s -> %d (%s)", op, r.Method, r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Microsecond))
			}()
			w = rec
		}
		if s.injectFault(w, r, op) {
			return
		}
		if op != OpLogin && !s.authorized(r) {
			writeProblem(w, http.StatusUnauthorized, "Unauthorized", nil)
			return
		}
		if !checkBody(w, r, body) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if s.loseResponse(op) {
			h(&discardWriter{h: http.Header{}}, r)
			drop(w)
			return
		}
		pw := &padWriter{ResponseWriter: w}
		h(pw, r)
		s.pad(pw, op)
	})
}

// checkBody answers 411 for a body of unknown length and 415 for a body that
// is not JSON. Any application/json media type passes, with or without a
// charset and in any case: a production SDK sent "application/json;
// charset=UTF-8" and was served, so Atlas is laxer than its documented
// pattern.
func checkBody(w http.ResponseWriter, r *http.Request, mode bodyMode) bool {
	if mode == bodyNone {
		return true
	}
	if r.ContentLength < 0 {
		writeProblem(w, http.StatusLengthRequired, "Content-Length required", nil)
		return false
	}
	if mode == bodyOptional && r.ContentLength == 0 {
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeProblem(w, http.StatusUnsupportedMediaType, "Bad Content-Type", nil)
		return false
	}
	return true
}

// readJSON decodes the request body. Unknown fields are ignored, as a
// lenient server would; an empty body is an error.
func readJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return errors.New("empty body")
	}
	return json.Unmarshal(b, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "Internal Server Error", nil)
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away; nothing to tell it
}

func writeProblem(w http.ResponseWriter, status int, description string, errs map[string]string) {
	writeProblemBody(w, status, atlas.ErrorBody{Description: description, Errors: errs})
}

func writeProblemBody(w http.ResponseWriter, status int, body atlas.ErrorBody) {
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", contentTypeProblem)
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away; nothing to tell it
}

// writeInProgress is the 202 answer. Atlas sends it as plain
// application/json, not problem+json, which is why some clients report it
// as an unknown error.
func writeInProgress(w http.ResponseWriter) {
	writeJSON(w, http.StatusAccepted, map[string]string{"description": "Operation in progress"})
}

// statusRecorder remembers the status for the request log. Unwrap lets
// http.ResponseController reach the connection for dropped-call faults.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// incidentID mimics the opaque id Atlas puts on 503s.
func incidentID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 27)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// urlHost is the host:port clients dial: a wildcard listen address is
// reached on loopback.
func urlHost(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// serverNames are the names the server certificate is valid for: loopback,
// plus the listen host when it names something else, so a fake listening on
// a pod or bridge address can still be verified.
func serverNames(addr string) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return names
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return names
	}
	if slices.Contains(names, host) {
		return names
	}
	return append(names, host)
}
