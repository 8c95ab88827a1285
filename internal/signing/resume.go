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
	"net/http"
	"strings"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/chain"
)

// ReasonResubmittedUndecided is the reason of the warning event a request
// gets when it is submitted again although the restart lookup could not
// decide whether its earlier submission reached Atlas, because the
// operator's bound (Signer.ResubmitUndecidedAfter) passed.
const ReasonResubmittedUndecided = "ResubmittedUndecided"

// historyWindow is how far back a lookup that found nothing asks Atlas
// whether it lists any certificate of the account at all: an empty answer
// proves that nothing was submitted only from an endpoint that is seen to
// list certificates. A week stays well inside the 30-day window Atlas is
// said to allow.
const historyWindow = 7 * 24 * time.Hour

// resumeIntent handles a request whose intent annotation says a submission
// may have reached Atlas before a restart: it looks for that certificate
// and collects it, or waits while the lookup grace lasts, or while the
// lookup cannot decide. done is false when nothing was found after the
// grace, or when the operator's bound for undecided lookups passed, and
// the request is submitted anew.
func (s *Signer) resumeIntent(ctx context.Context, cl *atlas.Client, req Request, iss Issuer, want expected, intent Intent, trust *chain.Trust) (b Bundle, done bool, err error) {
	logger := log.FromContext(ctx)
	serial, found, err := s.lookup(ctx, cl, intent, want.policy)
	if und, ok := errors.AsType[*undecidedLookup](err); ok {
		s.lookups.undecided(iss.Key, req.Object.GetUID(), und)
		return s.waitUndecided(ctx, req, intent, und)
	}
	if err != nil {
		// Credentials or quota refused: the issuer goes not Ready and the
		// request waits for it.
		return Bundle{}, true, signError("look up earlier submission", err)
	}
	s.lookups.decided(req.Object.GetUID())
	if found {
		logger.Info("found the certificate submitted before a restart", "serial", serial)
		if err := s.persistSerial(ctx, req, serial); err != nil {
			return Bundle{}, true, err
		}
		// A twin of this request (cert-manager's second request for the
		// same key and contents) that comes after it takes this
		// certificate, as it would have before the restart.
		s.submissions.put(want.submission, submission{serial: serial, at: s.now(), uid: req.Object.GetUID()})
		b, err := s.collect(ctx, cl, req, want, serial, trust, intent.NotBefore)
		return b, true, err
	}
	if age := s.now().Sub(intent.NotBefore); age < s.LookupGrace {
		return Bundle{}, true, signer.PendingError{
			Err:          fmt.Errorf("a submission started at %s is not visible in Atlas yet; looking again before submitting anew", intent.NotBefore.UTC().Format(time.RFC3339)),
			RequeueAfter: pollInterval(age),
		}
	}
	logger.Info("no certificate found for an earlier intent; submitting anew", "intent", intent.String())
	return Bundle{}, false, nil
}

// waitUndecided keeps a request whose lookup cannot decide waiting, with
// the cause in its condition and without spending its retry budget: a
// failed request makes cert-manager create a new one, with a new key, and
// submit again while the first certificate may exist. Only once the
// operator's bound has passed since the intent is it submitted anew, with
// a warning naming the serials that could not be ruled out.
func (s *Signer) waitUndecided(ctx context.Context, req Request, intent Intent, und *undecidedLookup) (Bundle, bool, error) {
	age := s.now().Sub(intent.NotBefore)
	if s.ResubmitUndecidedAfter > 0 && age >= s.ResubmitUndecidedAfter {
		candidates := "none"
		if len(und.candidates) > 0 {
			candidates = strings.Join(und.candidates, ", ")
		}
		msg := fmt.Sprintf("submitting again although the restart lookup could not decide for %s whether the submission of %s reached Atlas (%v); candidate serials that could not be ruled out: %s",
			age.Round(time.Second), intent.NotBefore.UTC().Format(time.RFC3339), und.cause, candidates)
		log.FromContext(ctx).Info(msg, "resubmitUndecidedAfter", s.ResubmitUndecidedAfter)
		if s.Warn != nil {
			s.Warn(req.Object, ReasonResubmittedUndecided, msg)
		}
		return Bundle{}, false, nil
	}
	requeue := pollInterval(age)
	if wait, ok := atlas.RetryAfter(und.cause); ok {
		requeue = max(requeue, min(wait, maxRetryAfter))
	}
	return Bundle{}, true, signer.PendingError{Err: und, RequeueAfter: requeue}
}

// lookupMargin is how far the issued-stats window reaches beyond the
// intent's time and now. The window is on Atlas's clock and the intent on
// the manager's: a not_before that Atlas accepted lies within the policy's
// skews of Atlas's time, so the two clocks differ by at most the larger
// skew. The bound keeps a policy with a huge skew from making every lookup
// read thousands of rows.
func lookupMargin(policy *atlas.ValidationPolicy) time.Duration {
	var skew time.Duration
	if policy != nil && policy.Validity != nil {
		skew = time.Duration(max(policy.Validity.NotBeforeNegativeSkew, policy.Validity.NotBeforePositiveSkew, 0)) * time.Second
	}
	return time.Minute + min(skew, 15*time.Minute)
}

// lookup finds a certificate submitted for intent: Atlas's issued stats
// around the intent's time, narrowed to the exact not_before we sent, then
// each candidate's public key. Whatever keeps it from deciding (a failed
// stats call, an answer cut short, an empty answer from an endpoint not
// seen to list anything, a candidate it cannot read or that is still
// being issued) is an *undecidedLookup; credentials and quota refused are
// returned as they are.
func (s *Signer) lookup(ctx context.Context, cl *atlas.Client, intent Intent, policy *atlas.ValidationPolicy) (string, bool, error) {
	margin := lookupMargin(policy)
	q := atlas.StatsQuery{PerPage: s.lookupPerPage, From: intent.NotBefore.Add(-margin).Unix(), To: s.now().Add(margin).Unix()}
	var candidates []string
	listed := 0
	for q.Page = 1; ; q.Page++ {
		page, err := cl.StatsIssued(ctx, q)
		if err != nil {
			return "", false, undecidedOr(fmt.Errorf("list issued certificates: %w", err))
		}
		listed += len(page.Certificates)
		for _, m := range page.Certificates {
			if m.NotBefore == intent.NotBefore.Unix() {
				candidates = append(candidates, m.SerialNumber)
			}
		}
		if !page.Next || len(page.Certificates) == 0 {
			break
		}
		if q.Page >= s.lookupMaxPages {
			// Concluding "not submitted" from a partial scan could submit
			// twice.
			return "", false, &undecidedLookup{cause: fmt.Errorf("more than %d certificates were accepted around %s; the lookup stops there",
				q.Page*q.PerPage, intent.NotBefore.UTC().Format(time.RFC3339))}
		}
	}
	if listed == 0 {
		if err := s.listsHistory(ctx, cl, margin); err != nil {
			return "", false, err
		}
	}
	return s.matchCandidates(ctx, cl, intent, candidates)
}

// listsHistory checks that the issued stats list anything at all in the
// recent history of the account; without that, an empty answer may be an
// endpoint that lists nothing rather than proof that nothing was
// submitted.
func (s *Signer) listsHistory(ctx context.Context, cl *atlas.Client, margin time.Duration) error {
	now := s.now()
	page, err := cl.StatsIssued(ctx, atlas.StatsQuery{Page: 1, PerPage: 1, From: now.Add(-historyWindow).Unix(), To: now.Add(margin).Unix()})
	if err != nil {
		return undecidedOr(fmt.Errorf("list the account's issued certificates: %w", err))
	}
	if len(page.Certificates) == 0 {
		return &undecidedLookup{cause: fmt.Errorf("Atlas lists no certificate issued in the last %d days, so its empty answer cannot show that the submission never arrived", int(historyWindow.Hours()/24))}
	}
	return nil
}

// matchCandidates compares each candidate's public key with the intent's:
// keys already fetched by an earlier lookup first, then the others.
func (s *Signer) matchCandidates(ctx context.Context, cl *atlas.Client, intent Intent, candidates []string) (string, bool, error) {
	var unknown []string
	for _, serial := range candidates {
		fp, ok := s.fingerprints.get(cl, serial)
		if !ok {
			unknown = append(unknown, serial)
		} else if fp == intent.Fingerprint {
			return serial, true, nil
		}
	}
	// A candidate that cannot be decided yet does not end the search, since
	// another may match; only when none does is it reported, as the caller
	// must not conclude "not submitted" while a candidate is unknown.
	var pending *undecidedLookup
	for _, serial := range unknown {
		info, err := cl.RetrieveCertificate(ctx, serial)
		if err != nil {
			if ctx.Err() != nil {
				return "", false, &undecidedLookup{cause: err, candidates: []string{serial}}
			}
			switch classifyCandidate(err, s.now().Sub(intent.NotBefore) < s.LookupGrace) {
			case candidateFatal:
				return "", false, err
			case candidateNoMatch:
				s.fingerprints.put(cl, serial, "")
			case candidateUndecided:
				pending = pending.add(serial, fmt.Errorf("candidate certificate %s cannot be checked yet: %w", serial, err))
			}
			continue
		}
		if info.Status == atlas.StatusPending {
			pending = pending.add(serial, fmt.Errorf("candidate certificate %s is still being issued", serial))
			continue
		}
		fp, err := certFingerprint([]byte(info.Certificate))
		if err != nil {
			fp = "" // unreadable: never a match
		}
		s.fingerprints.put(cl, serial, fp)
		if fp != "" && fp == intent.Fingerprint {
			return serial, true, nil
		}
	}
	if pending != nil {
		return "", false, pending
	}
	return "", false, nil
}

// undecidedLookup is a lookup that can neither find the certificate of an
// intent nor rule out that it exists: cause says why, and candidates are
// the serials it could not rule out. The request waits and looks again.
type undecidedLookup struct {
	cause      error
	candidates []string
}

func (u *undecidedLookup) Error() string {
	msg := fmt.Sprintf("the restart lookup cannot decide whether the earlier submission reached Atlas (%v); waiting rather than risk a second certificate", u.cause)
	if len(u.candidates) > 0 {
		msg += "; candidates: " + strings.Join(u.candidates, ", ")
	}
	return msg
}

func (u *undecidedLookup) Unwrap() error { return u.cause }

// add records a candidate that could not be ruled out, keeping the first
// cause, and returns the lookup it belongs to.
func (u *undecidedLookup) add(serial string, cause error) *undecidedLookup {
	if u == nil {
		return &undecidedLookup{cause: cause, candidates: []string{serial}}
	}
	u.candidates = append(u.candidates, serial)
	return u
}

// undecidedOr makes a failed lookup call undecided, unless Atlas refused
// the credentials or the quota, which the issuer's condition must show
// instead.
func undecidedOr(err error) error {
	if atlas.IsAuth(err) || atlas.IsQuota(err) || atlas.IsTLSRejection(err) {
		return err
	}
	return &undecidedLookup{cause: err}
}

// candidateOutcome is what a failed GET of a lookup candidate means.
type candidateOutcome int

const (
	// candidateUndecided: the candidate may still be the certificate
	// submitted; look again later.
	candidateUndecided candidateOutcome = iota
	// candidateNoMatch: the candidate is certainly no certificate to
	// collect.
	candidateNoMatch
	// candidateFatal: no candidate can be checked (credentials or quota
	// refused); the lookup returns the error, which makes the issuer not
	// Ready while the request waits.
	candidateFatal
)

// classifyCandidate decides what a failed GET of a candidate means. A 422 is
// Atlas's answer for a certificate the CA rejected after accepting it (or a
// serial it cannot read): never issued, so neither the certificate to
// collect nor one a new submission would duplicate. A 404 is a serial Atlas
// has not made visible yet while the lookup grace lasts (withinGrace), and
// after it a serial Atlas does not have. Every other failure, other 4xx
// included, leaves the candidate undecided rather than failing the request.
func classifyCandidate(err error, withinGrace bool) candidateOutcome {
	switch code := atlas.StatusCode(err); {
	case atlas.IsAuth(err), atlas.IsQuota(err):
		return candidateFatal
	case code == http.StatusUnprocessableEntity:
		return candidateNoMatch
	case code == http.StatusNotFound && !withinGrace:
		return candidateNoMatch
	default:
		return candidateUndecided
	}
}

// persistSerial writes the serial of the request's certificate. The serial
// is the issuer's own annotation and true whatever else changed on the
// request since it was read, so the write carries no resourceVersion and a
// conflict cannot lose it: without it, the next reconcile, or the next
// leader, must find the certificate again by lookup.
func (s *Signer) persistSerial(ctx context.Context, req Request, serial string) error {
	if err := s.Annotator.AnnotateOwn(ctx, req.Object, map[string]string{v1alpha1.SerialAnnotation: serial}); err != nil {
		return fmt.Errorf("persist serial %s: %w", serial, err)
	}
	return nil
}
