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

package atlas

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/globalsign/atlas-issuer/internal/version"
)

// Config configures a Client. URL, APIKey, APISecret and ClientCertificate
// are required; every other field has a default.
type Config struct {
	// URL is the API base URL including the version, for example
	// https://emea.api.hvca.globalsign.com:8443/v2. It must be https.
	URL string
	// APIKey and APISecret are the account's API credentials.
	APIKey, APISecret string
	// ClientCertificate is the mTLS certificate GlobalSign issued to the
	// account, with its private key (see LoadKeyPair).
	ClientCertificate tls.Certificate
	// RootCAs verify the server; nil uses the system roots.
	RootCAs *x509.CertPool
	// Timeout bounds each HTTP attempt, including reading the body. Default
	// 30s.
	Timeout time.Duration
	// TokenLifetime is how long an access token is valid. Atlas does not
	// return an expiry; it documents 10 minutes, the default.
	TokenLifetime time.Duration
	// TokenRefreshMargin: a token older than TokenLifetime minus this margin
	// is replaced before use, so that it cannot expire in flight. Default 1m.
	TokenRefreshMargin time.Duration
	// Retry is the retry policy; zero fields take their defaults.
	Retry RetryPolicy
	// Clock tells the time for token age and Retry-After dates. Default
	// clock.RealClock.
	Clock clock.PassiveClock
	// Metrics receives per-attempt and login metrics; nil disables them.
	Metrics *Metrics
	// Logger receives one V(1) line per attempt. The zero value discards.
	Logger logr.Logger
	// UserAgent is sent on every request. Default DefaultUserAgent.
	UserAgent string
	// AllowedURLs, when set, refuses to build a client for any other URL,
	// so that no credential is ever sent there.
	AllowedURLs *URLAllowlist
	// Proxy chooses the proxy of every connection, DiagnoseTLS's
	// included. Default http.ProxyFromEnvironment.
	Proxy func(*http.Request) (*url.URL, error)
}

// Defaults of Config.
const (
	DefaultTimeout            = 30 * time.Second
	DefaultTokenLifetime      = 10 * time.Minute
	DefaultTokenRefreshMargin = time.Minute
)

// DefaultUserAgent names this build to Atlas, e.g. atlas-issuer/v1.2.3, so
// that GlobalSign can tell releases apart in its logs.
var DefaultUserAgent = version.UserAgent("atlas-issuer")

// Client calls the Atlas API for one credential set. It is safe for
// concurrent use and should be shared: it holds the connection pool and the
// access token.
type Client struct {
	base      string
	creds     *credentials
	http      *http.Client
	transport *http.Transport
	timeout   time.Duration
	retry     RetryPolicy
	userAgent string
	clock     clock.PassiveClock
	metrics   *Metrics
	log       logr.Logger

	tokens *tokenCache
	logins atomic.Int64
	// offset is Atlas's clock minus ours, in nanoseconds, from the Date
	// header of the last answer that had one; offsetKnown says whether
	// one did.
	offset      atomic.Int64
	offsetKnown atomic.Bool

	// sleep waits between attempts; tests replace it to record delays.
	sleep func(ctx context.Context, d time.Duration) error
	// jitter picks the actual backoff in [0, ceiling]; tests make it fixed.
	jitter func(ceiling time.Duration) time.Duration
}

// credentials sit behind a pointer so that printing a Client with %+v shows
// an address rather than the secret.
type credentials struct {
	apiKey, apiSecret string
}

// newTransport is the HTTP transport of one client: mTLS with the
// issuer's certificate, HTTP/2 and a pool sized for many concurrent
// requests to one host.
func newTransport(cfg Config, timeout time.Duration) *http.Transport {
	proxy := cfg.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	return &http.Transport{
		Proxy: proxy,
		DialContext: (&net.Dialer{
			Timeout:   timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{cfg.ClientCertificate},
			RootCAs:      cfg.RootCAs,
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// New validates cfg and builds the client and its transport. It does no
// network I/O: the first call logs in.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("atlas: URL is required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("atlas: invalid URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("atlas: URL %q must be an absolute https URL", cfg.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("atlas: URL %q must not have user info, query or fragment", u.Redacted())
	}
	if err := cfg.AllowedURLs.Check(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.APIKey == "" || cfg.APISecret == "" {
		return nil, errors.New("atlas: API key and API secret are required")
	}
	if len(cfg.ClientCertificate.Certificate) == 0 || cfg.ClientCertificate.PrivateKey == nil {
		return nil, errors.New("atlas: the mTLS client certificate and its private key are required")
	}
	if cfg.Timeout < 0 || cfg.TokenLifetime < 0 || cfg.TokenRefreshMargin < 0 {
		return nil, errors.New("atlas: Timeout, TokenLifetime and TokenRefreshMargin must not be negative")
	}
	timeout := orDefault(cfg.Timeout, DefaultTimeout)
	lifetime := orDefault(cfg.TokenLifetime, DefaultTokenLifetime)
	margin := orDefault(cfg.TokenRefreshMargin, DefaultTokenRefreshMargin)
	if margin >= lifetime {
		return nil, fmt.Errorf("atlas: TokenRefreshMargin %s must be shorter than TokenLifetime %s", margin, lifetime)
	}
	retry, err := cfg.Retry.withDefaults()
	if err != nil {
		return nil, err
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	log := cfg.Logger
	if log.GetSink() == nil {
		log = logr.Discard()
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}

	transport := newTransport(cfg, timeout)
	c := &Client{
		base:      strings.TrimRight(u.String(), "/"),
		creds:     &credentials{apiKey: cfg.APIKey, apiSecret: cfg.APISecret},
		transport: transport,
		http: &http.Client{
			Transport: transport,
			// Atlas sends no redirects; following one would replay a POST
			// or carry the token elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout:   timeout,
		retry:     retry,
		userAgent: ua,
		clock:     clk,
		metrics:   cfg.Metrics,
		log:       log,
		tokens:    &tokenCache{lifetime: lifetime, margin: margin},
		sleep:     sleepContext,
		jitter:    fullJitter,
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// CloseIdleConnections closes the pooled connections. Call it when a client
// is replaced, for example after its credentials changed.
func (c *Client) CloseIdleConnections() {
	c.transport.CloseIdleConnections()
}

// ClockOffset is how far Atlas's clock is ahead of this client's (negative:
// behind), read from the Date header of the last answer that carried one,
// against the middle of that call. ok is false before any did. The header
// has a resolution of a second, so the offset is good to about a second
// plus half a round trip.
func (c *Client) ClockOffset() (offset time.Duration, ok bool) {
	return time.Duration(c.offset.Load()), c.offsetKnown.Load()
}

// noteDate records the clock offset a Date header gives for a call sent at
// sent and answered at answered, both on the client's clock.
func (c *Client) noteDate(date string, sent, answered time.Time) {
	if date == "" {
		return
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return
	}
	mid := sent.Add(answered.Sub(sent) / 2)
	c.offset.Store(int64(t.Sub(mid)))
	c.offsetKnown.Store(true)
}

// Logins returns the number of successful logins so far.
func (c *Client) Logins() int64 {
	return c.logins.Load()
}

// request is one logical API call, possibly sent several times.
type request struct {
	op     string
	method string
	// path is relative to the base URL, with segments already escaped.
	path  string
	query url.Values
	// body is marshalled to JSON; nil sends no body.
	body any
	// noAuth marks /login, the one call without a bearer token.
	noAuth bool
	// unsafe marks calls with side effects that must not happen twice
	// (issuance, claim creation, approval emails): they are repeated only
	// when Atlas certainly did not act.
	unsafe bool
	// accept lists the success codes; nil accepts every 2xx except 202,
	// which Atlas uses for "still in progress".
	accept []int
	// limit caps the body read, accepted or not (limits.go). Every
	// operation sets its own; a request without one is refused.
	limit int64
}

func (r *request) accepts(code int) bool {
	if r.accept == nil {
		return code >= 200 && code <= 299 && code != http.StatusAccepted
	}
	return slices.Contains(r.accept, code)
}

// response is an accepted response with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send performs one HTTP attempt. Responses the request does not accept
// become *Error; failures without a status become *transportError or
// *attemptTimeoutError.
func (c *Client) send(ctx context.Context, r *request, payload []byte, token string, attempt int) (*response, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	// WroteHeaders fires before any of the request can have left the
	// client: until then a failed POST is safe to repeat.
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{WroteHeaders: func() { sent.Store(true) }}
	actx = httptrace.WithClientTrace(actx, trace)

	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hreq, err := http.NewRequestWithContext(actx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("atlas %s: %w", r.op, err)
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		hreq.Header.Set("Content-Type", "application/json;charset=utf-8")
	}
	if token != "" {
		hreq.Header.Set("Authorization", "Bearer "+token)
	}

	start := time.Now()
	sentAt := c.clock.Now()
	hresp, err := c.http.Do(hreq)
	if err == nil {
		c.noteDate(hresp.Header.Get("Date"), sentAt, c.clock.Now())
	}
	var data []byte
	if err == nil {
		data, err = readBody(hresp.Body, hresp.ContentLength, r.op, r.limit)
		_ = hresp.Body.Close()
		if err != nil {
			// The status arrived, so Atlas has the request.
			sent.Store(true)
		}
	}
	elapsed := time.Since(start)

	if tooLarge, ok := errors.AsType[*ResponseTooLargeError](err); ok {
		c.metrics.observeRequest(r.op, hresp.StatusCode, elapsed)
		c.log.V(1).Info("atlas request", "operation", r.op, "attempt", attempt, "code", hresp.StatusCode, "duration", elapsed, "error", err.Error())
		return nil, tooLarge
	}
	if err != nil {
		if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = &attemptTimeoutError{op: r.op, timeout: c.timeout}
		}
		c.metrics.observeRequest(r.op, 0, elapsed)
		c.log.V(1).Info("atlas request", "operation", r.op, "attempt", attempt, "code", "error", "duration", elapsed, "error", err.Error())
		return nil, &transportError{err: err, sent: sent.Load()}
	}
	c.metrics.observeRequest(r.op, hresp.StatusCode, elapsed)
	c.log.V(1).Info("atlas request", "operation", r.op, "attempt", attempt, "code", hresp.StatusCode, "duration", elapsed)
	if !r.accepts(hresp.StatusCode) {
		return nil, newError(r.op, hresp.StatusCode, hresp.Header, data, c.clock.Now())
	}
	return &response{status: hresp.StatusCode, header: hresp.Header, body: data}, nil
}

// readBody reads at most limit bytes of the body. A body that declares
// (length) or turns out to be longer is a *ResponseTooLargeError, and no
// more of it is read.
func readBody(body io.Reader, length int64, op string, limit int64) ([]byte, error) {
	if length > limit {
		return nil, &ResponseTooLargeError{Op: op, Limit: limit}
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &ResponseTooLargeError{Op: op, Limit: limit}
	}
	return data, nil
}

// decode unmarshals a JSON success body into v. allowEmpty treats an empty
// body as "nothing to decode", for lists Atlas may leave empty.
func decode(op string, resp *response, v any, allowEmpty bool) error {
	if len(bytes.TrimSpace(resp.body)) == 0 {
		if allowEmpty {
			return nil
		}
		return fmt.Errorf("atlas %s: empty response body (status %d)", op, resp.status)
	}
	if ct := resp.header.Get("Content-Type"); ct != "" && !isJSONMediaType(ct) {
		return fmt.Errorf("atlas %s: unexpected content type %q (status %d)", op, ct, resp.status)
	}
	if err := json.Unmarshal(resp.body, v); err != nil {
		return fmt.Errorf("atlas %s: decoding response: %w", op, err)
	}
	return nil
}

// isJSONMediaType accepts application/json with any parameters, and +json
// types, since the live service is laxer than its documented charset.
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// lastSegment returns the final path segment of a Location header, which may
// be host-relative (/v2/certificates/X) or absolute. The segment is kept as
// given: serials with leading zeros or in lower case must round-trip.
func lastSegment(op, location string) (string, error) {
	if location == "" {
		return "", fmt.Errorf("atlas %s: response has no Location header", op)
	}
	p := location
	if u, err := url.Parse(location); err == nil {
		p = u.EscapedPath()
	} else if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimRight(p, "/")
	seg := p[strings.LastIndex(p, "/")+1:]
	if unescaped, err := url.PathUnescape(seg); err == nil {
		seg = unescaped
	}
	if seg == "" {
		return "", fmt.Errorf("atlas %s: no identifier in Location %q", op, location)
	}
	return seg, nil
}

// segment escapes an identifier for use as one path segment. Empty and dot
// segments are refused: they would address a different resource.
func segment(what, v string) (string, error) {
	if v == "" || v == "." || v == ".." {
		return "", fmt.Errorf("atlas: invalid %s %q", what, v)
	}
	return url.PathEscape(v), nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// fullJitter spreads retries of many clients evenly over [0, ceiling],
// which avoids synchronised retry waves after an outage.
func fullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1) //nolint:gosec // G404: backoff spread, not a secret.
}
