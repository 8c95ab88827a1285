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
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassificationByStatus(t *testing.T) {
	tests := []struct {
		code                                        int
		retryable, auth, quota, permanent, notFound bool
	}{
		{code: 400, permanent: true},
		{code: 401, auth: true},
		{code: 402, quota: true},
		{code: 403, auth: true},
		{code: 404, permanent: true, notFound: true},
		{code: 408, retryable: true},
		{code: 409, permanent: true},
		{code: 411, permanent: true},
		{code: 415, permanent: true},
		{code: 422, permanent: true},
		{code: 424, permanent: true},
		{code: 429, retryable: true},
		{code: 500, retryable: true},
		{code: 502, retryable: true},
		{code: 503, retryable: true},
		{code: 504, retryable: true},
		{code: 202},
		{code: 302},
	}
	for _, tt := range tests {
		for _, wrapped := range []bool{false, true} {
			var err error = &atlas.Error{Operation: "X", StatusCode: tt.code}
			if wrapped {
				err = fmt.Errorf("retrieve certificate 01: %w", err)
			}
			t.Run(fmt.Sprintf("%d wrapped=%v", tt.code, wrapped), func(t *testing.T) {
				if got := atlas.IsRetryable(err); got != tt.retryable {
					t.Errorf("IsRetryable = %v", got)
				}
				if got := atlas.IsAuth(err); got != tt.auth {
					t.Errorf("IsAuth = %v", got)
				}
				if got := atlas.IsQuota(err); got != tt.quota {
					t.Errorf("IsQuota = %v", got)
				}
				if got := atlas.IsPermanent(err); got != tt.permanent {
					t.Errorf("IsPermanent = %v", got)
				}
				if got := atlas.IsNotFound(err); got != tt.notFound {
					t.Errorf("IsNotFound = %v", got)
				}
				if got := atlas.StatusCode(err); got != tt.code {
					t.Errorf("StatusCode = %d", got)
				}
			})
		}
	}
}

func TestClassificationOfOtherErrors(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "https://atlas/v2/login", Err: &net.OpError{
		Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	reset := &url.Error{Op: "Get", URL: "https://atlas/v2/trustchain", Err: &net.OpError{
		Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}
	tests := []struct {
		name      string
		err       error
		retryable bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("boom"), false},
		{"connection refused", refused, true},
		{"connection reset", reset, true},
		{"wrapped reset", fmt.Errorf("rekey: %w", reset), true},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"net timeout", &url.Error{Op: "Get", URL: "u", Err: timeoutErr{}}, true},
		{"caller cancelled", context.Canceled, false},
		{"caller deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"cancelled after a 503", fmt.Errorf("atlas X: %w (last error: %w)", context.Canceled, &atlas.Error{StatusCode: 503}), false},
		{"url error on caller deadline", &url.Error{Op: "Get", URL: "u", Err: context.DeadlineExceeded}, false},
		{"unknown authority", &url.Error{Op: "Get", URL: "u", Err: x509.UnknownAuthorityError{}}, false},
		{"in progress", atlas.ErrInProgress, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := atlas.IsRetryable(tt.err); got != tt.retryable {
				t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.retryable)
			}
			if atlas.IsPermanent(tt.err) || atlas.IsAuth(tt.err) || atlas.IsQuota(tt.err) || atlas.IsNotFound(tt.err) {
				t.Errorf("%v is classified as an HTTP status error", tt.err)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		err  *atlas.Error
		want string
	}{
		{&atlas.Error{Operation: "Login", StatusCode: 401, Description: "Unauthorized"}, "atlas Login: 401 Unauthorized"},
		{&atlas.Error{Operation: "RequestCertificate", StatusCode: 422, Description: "Validation error message",
			Errors: map[string]string{"gsb": "flagged", "blacklist": "denied"}},
			"atlas RequestCertificate: 422 Validation error message [blacklist: denied; gsb: flagged]"},
		{&atlas.Error{Operation: "Quota", StatusCode: 503, Description: "Service busy", ID: "id1", RetryAfter: time.Second},
			"atlas Quota: 503 Service busy"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorSummary(t *testing.T) {
	tests := []struct {
		name                      string
		err                       *atlas.Error
		status, findings, summary string
	}{
		{"description is the status text", &atlas.Error{StatusCode: 401, Description: "Unauthorized"},
			"401 Unauthorized", "", "401 Unauthorized"},
		{"description says more", &atlas.Error{StatusCode: 409, Description: "Cannot revoke a REJECTED certificate"},
			"409 Conflict", "", "409 Conflict: Cannot revoke a REJECTED certificate"},
		{"findings sorted by key", &atlas.Error{StatusCode: 422, Description: "Validation error message",
			Errors: map[string]string{"gsb": "flagged", "blacklist": "denied"}},
			"422 Unprocessable Entity", "blacklist: denied; gsb: flagged",
			"422 Unprocessable Entity: Validation error message (blacklist: denied; gsb: flagged)"},
		{"incident id", &atlas.Error{StatusCode: 503, Description: "Service busy, please retry later", ID: "0vqe8"},
			"503 Service Unavailable", "", "503 Service Unavailable: Service busy, please retry later [Atlas incident 0vqe8]"},
		{"code without status text", &atlas.Error{StatusCode: 599},
			"599", "", "599"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Status(); got != tt.status {
				t.Errorf("Status() = %q, want %q", got, tt.status)
			}
			if got := tt.err.Findings(); got != tt.findings {
				t.Errorf("Findings() = %q, want %q", got, tt.findings)
			}
			if got := tt.err.Summary(); got != tt.summary {
				t.Errorf("Summary() = %q, want %q", got, tt.summary)
			}
		})
	}
}

func TestIsTLSRejection(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"bad certificate alert", errors.New(`Post "https://atlas.example/v2/login": remote error: tls: bad certificate`), true},
		{"certificate required alert", fmt.Errorf("login: %w", errors.New("tls: certificate required")), true},
		{"unknown authority is our own verdict", x509.UnknownAuthorityError{}, false},
		{"refused connection", syscall.ECONNREFUSED, false},
		{"HTTP status quoting an alert", &atlas.Error{Operation: "Login", StatusCode: 400, Description: "remote error: tls: bad certificate"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := atlas.IsTLSRejection(tt.err); got != tt.want {
				t.Errorf("IsTLSRejection(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
