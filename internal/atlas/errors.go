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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrInProgress is returned by ReassertClaim when Atlas answers 202: the
// claim's previous assertion has to finish before a new token is issued.
var ErrInProgress = errors.New("atlas: a previous assertion is still in progress")

// Error is a response from Atlas with a status code the operation does not
// accept, usually a problem+json error document.
type Error struct {
	// Operation is the client method that failed, as in doc.go ("Login",
	// "RequestCertificate", ...).
	Operation string
	// StatusCode is the HTTP status code.
	StatusCode int
	// Description is Atlas's message, or the HTTP status text when the body
	// carried none.
	Description string
	// ID is the request or incident id Atlas adds to some errors (503).
	ID string
	// Errors are the detailed findings, such as "gsb" or "blacklist" hits on
	// a 422.
	Errors map[string]string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
}

// Error formats the error as "atlas <Operation>: <code> <description>
// [k: v; ...]". Request bodies never appear: they hold keys and secrets.
func (e *Error) Error() string {
	s := fmt.Sprintf("atlas %s: %d %s", e.Operation, e.StatusCode, e.Description)
	if f := e.Findings(); f != "" {
		s += " [" + f + "]"
	}
	return s
}

// Status is the status line of the response, "401 Unauthorized", or the
// bare code when HTTP gives it no text.
func (e *Error) Status() string {
	if t := http.StatusText(e.StatusCode); t != "" {
		return fmt.Sprintf("%d %s", e.StatusCode, t)
	}
	return strconv.Itoa(e.StatusCode)
}

// Findings joins the detailed findings as "k: v; k: v", sorted by key so the
// text is the same on every call, or is empty when there are none.
func (e *Error) Findings() string {
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Errors[k]
	}
	return strings.Join(parts, "; ")
}

// Summary is the error in words for a person rather than a log: the status
// line, Atlas's description when it says more than the status text, the
// findings in parentheses and the incident id Atlas support asks for, as in
// "422 Unprocessable Entity: Validation error (gsb: flagged) [Atlas incident
// 0vqe8]". The operation is left out: the caller knows what it attempted.
func (e *Error) Summary() string {
	s := e.Status()
	if e.Description != "" && e.Description != http.StatusText(e.StatusCode) {
		s += ": " + e.Description
	}
	if f := e.Findings(); f != "" {
		s += " (" + f + ")"
	}
	if e.ID != "" {
		s += " [Atlas incident " + e.ID + "]"
	}
	return s
}

// IsTLSRejection reports a TLS alert from the server, which is how a server
// that requires client certificates refuses one it does not trust. Neither
// crypto/tls nor net/http exports a type for a received alert, so it is known
// by its words; an error that carries an HTTP status is never one.
func IsTLSRejection(err error) bool {
	if err == nil || StatusCode(err) != 0 {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "remote error: tls:") || strings.Contains(msg, "tls: certificate required")
}

// maxTextErrorBody bounds how much of a non-JSON error body reaches an error
// message: proxies answer with whole HTML pages.
const maxTextErrorBody = 200

// newError builds the *Error for a response the operation does not accept.
func newError(op string, status int, header http.Header, body []byte, now time.Time) *Error {
	e := &Error{Operation: op, StatusCode: status}
	var doc ErrorBody
	if len(body) > 0 && json.Unmarshal(body, &doc) == nil && doc.Description != "" {
		e.Description = doc.Description
		e.ID = doc.ID
		e.Errors = doc.Errors
	} else {
		e.Description = statusText(status)
		if text := textSnippet(header, body); text != "" {
			e.Description += ": " + text
		}
	}
	e.RetryAfter = parseRetryAfter(header.Get("Retry-After"), now)
	return e
}

func statusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "unexpected status"
}

// textSnippet returns the start of a text/plain body, on one line, so that a
// load balancer's short message is not lost.
func textSnippet(header http.Header, body []byte) string {
	if len(body) == 0 {
		return ""
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil || mt != "text/plain" {
		return ""
	}
	if len(body) > maxTextErrorBody {
		body = body[:maxTextErrorBody]
	}
	// The cut may split a rune; ToValidUTF8 drops the fragment.
	s := strings.ToValidUTF8(string(body), "")
	return strings.Join(strings.Fields(s), " ")
}

// parseRetryAfter reads a Retry-After header in either of its forms:
// delay-seconds or an HTTP-date. Invalid or past values give zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if strings.Trim(v, "0123456789") == "" {
		const maxSecs = int64(1<<63-1) / int64(time.Second)
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > maxSecs {
			secs = maxSecs // only overflow fails on digits
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return d
	}
	return 0
}

// transportError is a failure below HTTP: no status came back.
type transportError struct {
	err error
	// sent reports whether any of the request may have reached Atlas. When it
	// is false Atlas certainly did not act and even a POST can be repeated.
	sent bool
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// attemptTimeoutError is one attempt running out of Config.Timeout. It
// deliberately does not wrap context.DeadlineExceeded, which would make it
// look like the caller's own deadline and so not retryable.
type attemptTimeoutError struct {
	op      string
	timeout time.Duration
}

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("atlas %s: no response within %s", e.op, e.timeout)
}

// Timeout marks the error as a timeout for net.Error-style checks.
func (e *attemptTimeoutError) Timeout() bool { return true }

// Temporary is part of net.Error.
func (e *attemptTimeoutError) Temporary() bool { return true }

// ctxDoneError is returned when the caller's context ends while the client
// retries: it wraps both the context's error and the last attempt's error.
type ctxDoneError struct {
	op   string
	ctx  error
	last error
}

func (e *ctxDoneError) Error() string {
	if e.last == nil {
		return fmt.Sprintf("atlas %s: %v", e.op, e.ctx)
	}
	return fmt.Sprintf("atlas %s: %v (last error: %v)", e.op, e.ctx, e.last)
}

func (e *ctxDoneError) Unwrap() []error {
	if e.last == nil {
		return []error{e.ctx}
	}
	return []error{e.ctx, e.last}
}

// IsRetryable reports whether repeating the call may succeed: 408, 429 and
// 5xx responses, timeouts of a single attempt, refused or reset connections
// and connections closed mid-response. The end of the caller's context is
// never retryable, even when the last attempt before it was.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if ae, ok := errors.AsType[*Error](err); ok {
		return retryableStatus(ae.StatusCode)
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) ||
		isHTTP2Reset(err)
}

// http2Resets are the messages of net/http's HTTP/2 errors for a call the
// server or a proxy reset (RST_STREAM) or a connection that went away: over
// HTTP/2 these take the place of a reset connection. net/http does not
// export their types, so they are known by their words.
var http2Resets = []string{
	"stream error: stream ID ",
	"http2: client connection lost",
	"http2: server sent GOAWAY and closed the connection",
}

func isHTTP2Reset(err error) bool {
	msg := err.Error()
	for _, s := range http2Resets {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// retryableStatus holds 408 although it is a 4xx: it means a proxy or the
// server gave up waiting for the request, not that the request was wrong.
func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// IsAuth reports whether Atlas refused the credentials or the token (401,
// 403). The client has already logged in again once when this is returned.
func IsAuth(err error) bool {
	c := StatusCode(err)
	return c == http.StatusUnauthorized || c == http.StatusForbidden
}

// IsQuota reports a 402 "Quota Reached": neither retryable soon nor
// permanent, the caller should wait for the quota to be raised.
func IsQuota(err error) bool {
	return StatusCode(err) == http.StatusPaymentRequired
}

// IsNotBeforeRejected reports a 422 on RequestCertificate that names the
// validity's not_before: Atlas accepts it only within the policy's skews of
// its own time, so this request's time, the manager's, is too far from
// Atlas's. A clock put right makes the same request succeed, so it is not
// the request's fault.
func IsNotBeforeRejected(err error) bool {
	e, ok := errors.AsType[*Error](err)
	if !ok || e.StatusCode != http.StatusUnprocessableEntity || e.Operation != "RequestCertificate" {
		return false
	}
	for k := range e.Errors {
		if strings.Contains(k, "not_before") {
			return true
		}
	}
	return strings.Contains(e.Description, "not_before")
}

// IsPermanent reports a 4xx that repeating the same request cannot fix
// (400, 404, 409, 411, 415, 422, 424, ...). 401, 402, 403, 408 and 429 are
// not permanent: credentials, quota and rate limits change.
func IsPermanent(err error) bool {
	c := StatusCode(err)
	if c < 400 || c > 499 {
		return false
	}
	switch c {
	case http.StatusUnauthorized, http.StatusPaymentRequired, http.StatusForbidden,
		http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return true
}

// RetryAfter returns how long the server asked the caller to wait before
// calling again: the Retry-After of a 429 or 503 in err's chain. ok is
// false when err carries no such request.
func RetryAfter(err error) (wait time.Duration, ok bool) {
	ae, isErr := errors.AsType[*Error](err)
	if !isErr || ae.RetryAfter <= 0 {
		return 0, false
	}
	if ae.StatusCode != http.StatusTooManyRequests && ae.StatusCode != http.StatusServiceUnavailable {
		return 0, false
	}
	return ae.RetryAfter, true
}

// IsNotFound reports a 404.
func IsNotFound(err error) bool {
	return StatusCode(err) == http.StatusNotFound
}

// StatusCode returns the HTTP status of the *Error in err's chain, or 0.
func StatusCode(err error) int {
	if ae, ok := errors.AsType[*Error](err); ok {
		return ae.StatusCode
	}
	return 0
}
