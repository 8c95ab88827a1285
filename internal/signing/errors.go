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

package signing

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/cert-manager/issuer-lib/controllers/signer"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/credentials"
)

// Causes that start an issuer's Ready message when Check fails, so users and
// the README's troubleshooting table can key on them. Secret problems use
// the reasons of package credentials.
const (
	CauseCredentialsRejected       = "CredentialsRejected"
	CauseClientCertificateRejected = "ClientCertificateRejected"
	CauseAtlasUnreachable          = "AtlasUnreachable"
	CauseAtlasError                = "AtlasError"
	CauseAccountUnusable           = "AccountUnusable"
	CauseQuotaExhausted            = "QuotaExhausted"
)

// CauseChecked is the cause of a check that passed, and CauseCheckFailed of
// one that failed for a reason no other cause names.
const (
	CauseChecked     = "Checked"
	CauseCheckFailed = "CheckFailed"
)

// Cause names the outcome of a check for the issuer's status.reason: a
// CheckError's cause, a credentials.Error's reason, CauseChecked for nil.
func Cause(err error) string {
	if err == nil {
		return CauseChecked
	}
	if ce, ok := errors.AsType[*CheckError](err); ok {
		return ce.Cause
	}
	if ce, ok := errors.AsType[*credentials.Error](err); ok {
		return ce.Reason
	}
	return CauseCheckFailed
}

// CheckError is a failed issuer check with its cause.
type CheckError struct {
	Cause string
	Err   error
}

func (e *CheckError) Error() string { return e.Cause + ": " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// classifyCheck names the cause of an error from an Atlas call in Check.
func classifyCheck(op string, err error) error {
	switch {
	case atlas.IsAuth(err):
		return &CheckError{Cause: CauseCredentialsRejected, Err: fmt.Errorf("Atlas refused the API key and secret (%s): %w", op, err)}
	case atlas.IsQuota(err):
		return &CheckError{Cause: CauseQuotaExhausted, Err: err}
	case atlas.IsTLSRejection(err):
		return &CheckError{Cause: CauseClientCertificateRejected, Err: fmt.Errorf("Atlas refused the mTLS client certificate (%s): %w", op, err)}
	case isUnreachable(err):
		return &CheckError{Cause: CauseAtlasUnreachable, Err: fmt.Errorf("%s: %w", op, err)}
	default:
		return &CheckError{Cause: CauseAtlasError, Err: fmt.Errorf("%s: %w", op, err)}
	}
}

func isUnreachable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, context.DeadlineExceeded) ||
		atlas.StatusCode(err) >= 500 || atlas.StatusCode(err) == 429
}

// signError maps an Atlas error met while signing to what issuer-lib does
// with it: auth and quota problems mark the issuer not Ready (the request
// waits without spending its retry budget), permanent 4xx fail the request
// with Atlas's words, and everything else is retried with backoff.
func signError(op string, err error) error {
	wrapped := fmt.Errorf("%s: %w", op, err)
	switch {
	case atlas.IsAuth(err):
		return signer.IssuerError{Err: &CheckError{Cause: CauseCredentialsRejected, Err: wrapped}}
	case atlas.IsQuota(err):
		return signer.IssuerError{Err: &CheckError{Cause: CauseQuotaExhausted, Err: wrapped}}
	case atlas.IsTLSRejection(err):
		return signer.IssuerError{Err: &CheckError{Cause: CauseClientCertificateRejected, Err: wrapped}}
	case atlas.IsPermanent(err):
		return signer.PermanentError{Err: wrapped}
	default:
		return wrapped
	}
}
