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

// Package signing is the Atlas-specific core of the issuer: Check proves an
// issuer's credentials and account work, and Sign runs the state machine
// that turns an approved request into a certificate without ever
// submitting one request to Atlas twice. The files follow its stages:
// signer.go dispatches a request to one; submit.go signs a new request
// (slot, intent, POST, collect, finish); intent.go, resume.go and
// lookup.go resume after a restart (the intent, the lookup, its
// candidates); twins.go and sibling.go serve cert-manager's second request
// for the same key from the first's certificate.
package signing

import (
	"context"
	"errors"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/internal/issuance"
	"github.com/globalsign/atlas-issuer/internal/ttlcache"
)

// Issuer is an AtlasIssuer or AtlasClusterIssuer resolved to what signing
// needs.
type Issuer struct {
	// Key identifies the issuer in caches and metrics: kind/namespace/name.
	Key  string
	Kind string
	// Namespace is an AtlasIssuer's namespace, empty for a cluster issuer.
	Namespace string
	Name      string
	Endpoint  credentials.Endpoint
	Secret    types.NamespacedName
}

// shareKey is who a share of the Atlas slots belongs to. AtlasIssuers of
// one namespace share one share, or a tenant could multiply its share by
// creating issuers; each cluster issuer, which only administrators create,
// has its own.
func (i Issuer) shareKey() string {
	if i.Namespace != "" {
		return "namespace/" + i.Namespace
	}
	return i.Key
}

// Request is a CertificateRequest or Kubernetes CSR to sign.
type Request struct {
	// Object is the request itself; Sign annotates it.
	Object  client.Object
	Details signer.CertificateDetails
}

// Annotator writes annotations on a request object, failing with a conflict
// when the object changed since it was read: a stale read must never lead
// to a second submission.
type Annotator interface {
	Annotate(ctx context.Context, obj client.Object, set map[string]string, remove ...string) error
	// AnnotateOwn sets annotations that only the signer writes and that
	// stay true whatever else changed on the object, such as the serial of
	// a certificate Atlas accepted: it writes them on the object with obj's
	// UID whatever its resourceVersion, so that a conflict cannot lose them.
	AnnotateOwn(ctx context.Context, obj client.Object, set map[string]string) error
}

// Signer holds the caches shared by every reconcile.
type Signer struct {
	Loader    *credentials.Loader
	Annotator Annotator
	Metrics   *Metrics
	// LookupGrace is how long after an intent was written a restart keeps
	// looking for the submitted certificate before submitting again. Atlas
	// may take a moment to list a new certificate.
	LookupGrace time.Duration
	// Notify, when set, receives the notes of the CSR mapping (a duration
	// shortened to the policy, an attribute the policy leaves out) once,
	// when the request is submitted, so users see them on the request.
	Notify func(obj client.Object, notes []string)
	// Failpoint, when set, is called at the named points of the state
	// machine (package failpoint); chaos tests crash the process there.
	Failpoint func(name string)
	// Limiter, when set, bounds the requests signed against Atlas at once.
	Limiter *Limiter
	// Wake, when set, brings a request back to Sign at once. It is called
	// when the request's place in line is granted an Atlas slot, which is
	// held for it until it comes.
	Wake func(obj client.Object)
	// SignTimeout bounds one Sign and CheckTimeout one Check, so that an
	// Atlas that never answers holds a reconcile worker and a slot no
	// longer than that. New sets DefaultSignTimeout and
	// DefaultCheckTimeout.
	SignTimeout, CheckTimeout time.Duration

	// Warn, when set, tells users on the request about state the signer
	// found on it and ignored, such as a forged intent annotation.
	Warn func(obj client.Object, reason, message string)

	// Siblings, when set, lists the other requests for a request's
	// Certificate revision, so that one certificate answers cert-manager's
	// second request for the same key even when another process answered
	// the first (fromSibling).
	Siblings SiblingLister

	// ResubmitUndecidedAfter, when positive, is how long after its intent
	// a request whose restart lookup cannot decide is submitted anew, with
	// a warning naming the serials that could not be ruled out. Zero keeps
	// such a request waiting, saying why, until the lookup decides: a
	// second submission may be a second paid certificate.
	ResubmitUndecidedAfter time.Duration

	// lookupPerPage and lookupMaxPages bound the stats pages a lookup reads.
	lookupPerPage, lookupMaxPages int

	clock    clock.PassiveClock
	accounts accountStates
	// checks holds, per issuer key, the Secret version its running or
	// last successful check read (CheckedWith).
	checks       *ttlcache.Cache[string, secretVersion]
	issued       *issuedCertificates
	fingerprints fingerprints
	submissions  recentSubmissions
	unposted     unpostedIntents
	lookups      *lookupHealth
}

// New returns a Signer that tells the time for intents, caches and metrics
// by clk.
func New(loader *credentials.Loader, annotator Annotator, metrics *Metrics, clk clock.PassiveClock) *Signer {
	return &Signer{
		Loader:       loader,
		Annotator:    annotator,
		Metrics:      metrics,
		LookupGrace:  2 * time.Minute,
		SignTimeout:  DefaultSignTimeout,
		CheckTimeout: DefaultCheckTimeout,
		// 2,000 certificates accepted around one intent's second: far more
		// than one account issues, and a bound on what one lookup costs.
		lookupPerPage:  100,
		lookupMaxPages: 20,
		clock:          clk,
		accounts:       newAccountStates(clk),
		checks:         ttlcache.New[string, secretVersion](accountsMax, time.Hour, clk),
		issued:         newIssuedCertificates(5*time.Minute, clk),
		fingerprints:   newFingerprints(clk),
		submissions:    newRecentSubmissions(clk),
		unposted:       newUnpostedIntents(10*time.Minute, clk),
		lookups:        newLookupHealth(clk),
	}
}

// Settled tells the signer that the informer cache now shows the request
// with this UID settled (Ready, Failed or Denied), so Sign will not be asked
// for it again and what it kept for the request can go.
func (s *Signer) Settled(uid types.UID) {
	s.issued.settled(uid)
	s.unposted.forget(uid)
	s.lookups.decided(uid)
	s.Limiter.forget(uid)
}

func (s *Signer) failpoint(name string) {
	if s.Failpoint != nil {
		s.Failpoint(name)
	}
}

func (s *Signer) now() time.Time {
	return s.clock.Now()
}

// Sign returns the certificate for a request, or the issuer-lib error that
// says what happens next: PendingError (poll again), PermanentError (the
// request fails), IssuerError (the issuer goes not Ready; the request waits),
// or a plain error (retried with backoff).
func (s *Signer) Sign(ctx context.Context, req Request, iss Issuer) (Bundle, error) {
	start := s.now()
	ctx, cancel := withTimeout(ctx, s.SignTimeout)
	defer cancel()
	b, err := s.sign(ctx, req, iss)
	s.Metrics.observeSign(iss, err, req.Object.GetCreationTimestamp().Time, start, s.now())
	return b, err
}

func (s *Signer) sign(ctx context.Context, req Request, iss Issuer) (Bundle, error) {
	logger := log.FromContext(ctx).WithValues("issuer", iss.Key)
	ctx = log.IntoContext(ctx, logger)
	if err := checkApproval(req.Object); err != nil {
		return Bundle{}, err
	}
	if kept, ok := s.issued.get(req.Object.GetUID()); ok {
		// Already signed by this process; the informer is behind.
		if b, err := kept.bundle(); err == nil {
			return b, nil
		}
	}
	if req.Details.IsCA {
		return Bundle{}, signer.PermanentError{Err: errors.New("isCA: Atlas issues end-entity certificates only")}
	}
	cl, _, err := s.Loader.Load(ctx, iss.Secret, iss.Endpoint)
	if err != nil {
		return Bundle{}, signer.IssuerError{Err: loadError(err)}
	}
	// Everything below may call Atlas; loading the credentials above needs
	// no slot.
	release, queued, err := s.slot(ctx, req, iss, cl)
	if err != nil {
		return Bundle{}, err
	}
	defer release()
	// Nothing sleeps in a slot: a Retry-After ends the call, and the
	// request comes back after it (signError).
	ctx = atlas.ReturnRetryAfter(ctx)
	policy, trust, err := s.accounts.load(ctx, iss, cl)
	if err != nil {
		return Bundle{}, signError("load account", err)
	}

	// The mapping verifies the CSR's signature and gives what the returned
	// certificate must carry, so it runs on every path: a serial or an
	// intent on the request is the requester's to write, never proof. The
	// mapping an intent was just written for while queued is that same
	// check, made moments ago under the same policy.
	var mapped *issuance.Result
	if queued.usable(policy, s.now(), s.LookupGrace) {
		mapped = queued.mapped
	} else {
		queued = nil
		if mapped, err = issuance.Map(mapInput(req, s.now()), policy); err != nil {
			return Bundle{}, signer.PermanentError{Err: err}
		}
	}
	for _, n := range mapped.Notes {
		logger.V(1).Info("mapping note", "note", n)
	}
	want := expected{mapped: mapped, policy: policy, submission: submissionKeyOf(cl, mapped)}

	ann := req.Object.GetAnnotations()
	intent, intentOK := s.intent(ctx, req, mapped)
	if serial := ann[v1alpha1.SerialAnnotation]; serial != "" {
		return s.collect(ctx, cl, req, want, serial, trust, s.submittedAt(req, intent, intentOK))
	}
	// An intent this process wrote and has not submitted for needs no
	// lookup: nothing reached Atlas for it.
	if intentOK && !s.unposted.has(req.Object.GetUID(), intent.String()) {
		if b, done, err := s.resumeIntent(ctx, cl, req, iss, want, intent, trust); done {
			return b, err
		}
	}
	if first, ok := s.submissions.get(want.submission); ok {
		if b, done, err := s.collectTwin(ctx, cl, req, want, first, trust); done {
			return b, err
		}
		s.submissions.forget(want.submission)
	}
	if b, done, err := s.fromSibling(ctx, cl, req, want, trust); done {
		return b, err
	}
	if len(mapped.Notes) > 0 && s.Notify != nil {
		s.Notify(req.Object, mapped.Notes)
	}
	return s.submit(ctx, cl, req, want, trust, queued)
}

// mapInput is what the mapping reads from a request, at now.
func mapInput(req Request, now time.Time) issuance.Input {
	return issuance.Input{
		CSR:         req.Details.CSR,
		Duration:    req.Details.Duration,
		IsCA:        req.Details.IsCA,
		KeyUsage:    req.Details.KeyUsage,
		ExtKeyUsage: req.Details.ExtKeyUsage,
		Now:         now,
	}
}

// expected is what a certificate returned for a request must carry: the
// names and subject of the mapped request, under the policy it was mapped
// with, and the CSR's key.
type expected struct {
	mapped *issuance.Result
	policy *atlas.ValidationPolicy
	// submission is where the submissions remember the mapped request
	// (submissionKeyOf), nil if they cannot.
	submission *submissionKey
}
