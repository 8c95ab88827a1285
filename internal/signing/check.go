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
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/issuance"
)

// Health is what a successful or partly successful Check learned, for the
// issuer's status.
type Health struct {
	CheckedAt           time.Time
	CredentialsNotAfter time.Time
	Quota               *int64
	PolicySummary       string
	// LookupWarning, when set, says that restart lookups of the issuer's
	// requests have kept failing to decide: those requests wait, and the
	// operator should know why.
	LookupWarning string
}

// ExpiryWarning is how long before the mTLS certificate expires the issuer
// starts warning.
const ExpiryWarning = 30 * 24 * time.Hour

// Check logs in to Atlas with the issuer's credentials, fetches the
// validation policy, the quota and the trust chain, and returns an error a
// user can act on when any of that fails. It makes three real calls (plus a
// login when the token is due) at the recheck interval, so that a broken
// account shows on the issuer before a request needs it.
func (s *Signer) Check(ctx context.Context, iss Issuer) (Health, error) {
	h := Health{CheckedAt: s.now()}
	ctx, cancel := withTimeout(ctx, s.CheckTimeout)
	defer cancel()
	err := s.check(ctx, iss, &h)
	h.LookupWarning = s.lookups.warning(iss.Key)
	if err != nil {
		s.checks.Delete(iss.Key)
	}
	s.Metrics.observeCheck(iss, h, err)
	return h, err
}

// secretVersion is one version of a Secret.
type secretVersion struct {
	uid             types.UID
	resourceVersion string
}

// CheckedWith reports whether the issuer's check that is running or last
// succeeded read this version of its Secret. An event for that version
// (the informer's first sight of a Secret that the check read from the API
// before the informer had it, or a resync) says nothing the check does not
// see, and checking again costs three Atlas calls. A check that failed, a
// changed or recreated Secret, and a deleted issuer all make it false; a
// running check that fails is retried by issuer-lib in any case.
func (s *Signer) CheckedWith(issuerKey string, uid types.UID, resourceVersion string) bool {
	v, ok := s.checks.Get(issuerKey)
	return ok && uid != "" && v == secretVersion{uid, resourceVersion}
}

func (s *Signer) check(ctx context.Context, iss Issuer, h *Health) error {
	cl, creds, err := s.Loader.Load(ctx, iss.Secret, iss.Endpoint)
	if err != nil {
		return loadError(err)
	}
	h.CredentialsNotAfter = creds.NotAfter
	// Recorded before the Atlas calls: the Secret's late Add may well
	// arrive while they run.
	s.checks.Set(iss.Key, secretVersion{creds.SecretUID, creds.SecretResourceVersion}, accountTTL)

	policy, err := cl.ValidationPolicy(ctx)
	if err != nil {
		if atlas.StatusCode(err) == 0 && ctx.Err() == nil {
			// A transport failure may hide a refused client certificate.
			if derr := cl.DiagnoseTLS(ctx); derr != nil && atlas.IsTLSRejection(derr) {
				return classifyCheck("get validationpolicy", derr)
			}
		}
		return classifyCheck("get validationpolicy", err)
	}
	h.PolicySummary = issuance.Summary(policy)
	if err := issuance.CheckAccount(policy); err != nil {
		return &CheckError{Cause: CauseAccountUnusable, Err: err}
	}
	if off, ok := cl.ClockOffset(); ok {
		if err := checkClockOffset(off, policy); err != nil {
			return &CheckError{Cause: CauseClockSkew, Err: err}
		}
	}
	quota, err := cl.Quota(ctx)
	if err != nil {
		return classifyCheck("get quota", err)
	}
	h.Quota = &quota
	trust, err := trustChain(ctx, cl)
	if err != nil {
		return classifyCheck("get trustchain", err)
	}
	s.accounts.set(iss, cl, policy, trust)
	if quota <= 0 {
		return &CheckError{Cause: CauseQuotaExhausted, Err: fmt.Errorf("the account has no issuance quota left; requests wait until it is raised")}
	}
	return nil
}

// clockMargin is what a Date header cannot tell about Atlas's clock: its
// one-second resolution and the time a request takes to arrive.
const clockMargin = 5 * time.Second

// checkClockOffset tells whether Atlas, whose clock is off ahead of the
// manager's, accepts the manager's time as a certificate's not_before: the
// policy allows not_before at most its negative skew before Atlas's time
// and its positive skew after it, so off must lie within [-positive,
// negative], less clockMargin. A policy with no validity section sets no
// bound.
func checkClockOffset(off time.Duration, policy *atlas.ValidationPolicy) error {
	if policy == nil || policy.Validity == nil {
		return nil
	}
	neg := time.Duration(policy.Validity.NotBeforeNegativeSkew) * time.Second
	pos := time.Duration(policy.Validity.NotBeforePositiveSkew) * time.Second
	if off > neg-clockMargin || off < -(pos-clockMargin) {
		return fmt.Errorf("Atlas's clock is %s %s the manager's (from its Date header), and the account accepts a not_before at most %s before and %s after Atlas's time; put the nodes' clocks right",
			off.Abs().Round(time.Second), map[bool]string{true: "ahead of", false: "behind"}[off > 0], neg, pos)
	}
	return nil
}

// ConditionDegraded is the issuer condition that says the issuer signs but
// something keeps some of its requests waiting, such as restart lookups
// that cannot decide. The Ready condition stays issuer-lib's.
const ConditionDegraded = "Degraded"

// Reasons of the Degraded condition.
const (
	ReasonLookupUndecided = "LookupUndecided"
	ReasonAsExpected      = "AsExpected"
)

// DegradedCondition is the Degraded condition a check's health gives, at
// now; prev is the condition the issuer has, whose transition time stays
// while its status does.
func DegradedCondition(h Health, prev *metav1.Condition, generation int64, now time.Time) metav1.Condition {
	c := metav1.Condition{
		Type: ConditionDegraded, Status: metav1.ConditionFalse, Reason: ReasonAsExpected,
		Message: "nothing keeps the issuer's requests waiting", ObservedGeneration: generation,
		LastTransitionTime: metav1.NewTime(now),
	}
	if h.LookupWarning != "" {
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, ReasonLookupUndecided, h.LookupWarning
	}
	if prev != nil && prev.Status == c.Status {
		c.LastTransitionTime = prev.LastTransitionTime
	}
	return c
}
