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
	"time"

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
	CauseURLNotAllowed             = "URLNotAllowed"
	// CauseClockSkew: Atlas refused the not_before the manager sent, its
	// own time, as too far from Atlas's clock.
	CauseClockSkew = "ClockSkew"
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

// Defaults of Signer.SignTimeout and Signer.CheckTimeout. A Sign makes up
// to four Atlas calls of up to --atlas-timeout each on its common path; a
// Check makes three, and a blackholed URL should show on the issuer soon.
const (
	DefaultSignTimeout  = 2 * time.Minute
	DefaultCheckTimeout = 30 * time.Second
)

// The shortest requeue delay of a request turned away from the line for a
// slot, and the longest Retry-After a request waits out: a server asking
// for more is asked again then, so that a hostile Retry-After cannot park a
// request for ever.
const (
	busyRequeue   = 2 * time.Second
	maxRetryAfter = 5 * time.Minute
)

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// loadError names the cause of a failed credentials load that is not the
// Secret's: an issuer URL the manager may not send credentials to.
func loadError(err error) error {
	if ue, ok := errors.AsType[*atlas.URLNotAllowedError](err); ok {
		return &CheckError{Cause: CauseURLNotAllowed, Err: fmt.Errorf(
			"spec.url %q matches none of the manager's --allowed-atlas-urls (%s; chart value allowedAtlasURLs), so no credentials are sent there", ue.URL, ue.Rules)}
	}
	return err
}

// slotError turns a request that could not get an Atlas slot into a
// pending one, whose message issuer-lib writes on the request's Ready
// condition: it is not the request's fault, so it must not spend the
// request's retry budget. A request in line comes back when its place is
// granted a slot (Signer.Wake), or after queuedRequeue to keep its place. A
// request turned away comes back later the older it is, as pending
// certificates are polled, so that an issuer whose slots stay busy costs
// few reconciles (each writes the request's status).
func slotError(err error, iss Issuer, age time.Duration) error {
	wait, ok := errors.AsType[*SlotWait](err)
	if !ok {
		return err
	}
	werr := slotWaitError{iss: iss, wait: wait}
	if wait.Queued {
		return signer.PendingError{Err: werr, RequeueAfter: queuedRequeue}
	}
	return signer.PendingError{Err: werr, RequeueAfter: max(busyRequeue, pollInterval(age))}
}

// slotWaitError says what a request without a slot waits for: which share
// of the slots its issuer holds, and how full the pool is.
type slotWaitError struct {
	iss  Issuer
	wait *SlotWait
}

func (e slotWaitError) Error() string {
	// The AtlasIssuers of a namespace share one share (Issuer.shareKey).
	owner, holds, its := "issuer "+e.iss.Kind+" "+e.iss.Name, "holds", "its"
	if e.iss.Namespace != "" {
		owner, holds, its = "the AtlasIssuers of namespace "+e.iss.Namespace, "hold", "their"
	}
	w := e.wait
	msg := fmt.Sprintf("waiting for an Atlas slot: %s %s %d of %s %s (%d of the manager's %s in use)",
		owner, holds, w.Held, its, plural(w.Share, "slot"), w.InUse, plural(w.Size, "slot"))
	if !w.Queued {
		msg += fmt.Sprintf(", and %s already in line for them; asking again later", plural(w.InLine, "request"))
	}
	return msg
}

func (e slotWaitError) Unwrap() error { return e.wait }

// plural is n and the noun, in the plural unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
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
// with Atlas's words, a 429 or 503 with Retry-After comes back after that
// wait as a pending request, and everything else is retried with backoff.
func signError(op string, err error) error {
	wrapped := fmt.Errorf("%s: %w", op, err)
	if wait, ok := atlas.RetryAfter(err); ok {
		// The client returned at once instead of waiting in the slot.
		wait = min(wait, maxRetryAfter)
		return signer.PendingError{Err: fmt.Errorf("waiting %s for Atlas's Retry-After: %w", wait, wrapped), RequeueAfter: wait}
	}
	switch {
	case atlas.IsAuth(err):
		return signer.IssuerError{Err: &CheckError{Cause: CauseCredentialsRejected, Err: wrapped}}
	case atlas.IsQuota(err):
		return signer.IssuerError{Err: &CheckError{Cause: CauseQuotaExhausted, Err: wrapped}}
	case atlas.IsTLSRejection(err):
		return signer.IssuerError{Err: &CheckError{Cause: CauseClientCertificateRejected, Err: wrapped}}
	case atlas.IsNotBeforeRejected(err):
		// The request is not at fault: it waits while the issuer says what
		// is wrong, instead of failing and being submitted again.
		return signer.IssuerError{Err: &CheckError{Cause: CauseClockSkew, Err: fmt.Errorf(
			"Atlas refused the certificate's not_before, the manager's current time, as too far from its own clock; the node's clock and Atlas's differ by more than the account's validation policy allows: %w", wrapped)}}
	case atlas.IsPermanent(err):
		return signer.PermanentError{Err: wrapped}
	default:
		return wrapped
	}
}
