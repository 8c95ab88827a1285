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
// (intent, submit, collect; resume after a restart; serve a twin request)
// that turns an approved request into a certificate without ever
// submitting one request to Atlas twice.
package signing

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/chain"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/internal/failpoint"
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

// slot takes an Atlas slot for the request, or returns the PendingError
// that says what it waits for while it keeps its place in line. A request
// that gets a place writes its intent then, when it is bound to be
// submitted (intentWhileQueued), and the place keeps that intent for the
// Sign that takes the slot; queued is that intent, nil otherwise.
func (s *Signer) slot(ctx context.Context, req Request, iss Issuer, cl *atlas.Client) (release func(), queued *queuedIntent, err error) {
	uid := req.Object.GetUID()
	var wake func()
	if s.Wake != nil {
		wake = func() { s.Wake(req.Object) }
	}
	g, err := s.Limiter.take(iss.shareKey(), uid, wake, s.Metrics)
	if err == nil {
		return g.release, g.queued, nil
	}
	if wait, ok := errors.AsType[*SlotWait](err); ok && wait.New {
		if q := s.intentWhileQueued(ctx, req, iss, cl); q != nil {
			s.Limiter.noteIntent(uid, q)
		}
	}
	return nil, nil, slotError(err, iss, s.now().Sub(req.Object.GetCreationTimestamp().Time))
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

// intent reads the request's intent annotation and reports whether it can
// be the signer's own (Intent.check). One that cannot is ignored, with a
// warning on the request: it neither starts a lookup nor delays a
// submission.
func (s *Signer) intent(ctx context.Context, req Request, mapped *issuance.Result) (Intent, bool) {
	raw := req.Object.GetAnnotations()[v1alpha1.IntentAnnotation]
	if raw == "" {
		return Intent{}, false
	}
	intent, err := ParseIntent(raw)
	if err == nil {
		err = intent.check(mapped.PublicKeyFingerprint, req.Object.GetCreationTimestamp().Time, s.now())
	}
	if err != nil {
		msg := fmt.Sprintf("ignoring the %s annotation: %v", v1alpha1.IntentAnnotation, err)
		log.FromContext(ctx).Info(msg)
		if s.Warn != nil {
			s.Warn(req.Object, "IntentIgnored", msg)
		}
		return Intent{}, false
	}
	return intent, true
}

// submittedAt is when the request's certificate was submitted, for pacing
// the polls of a serial: the intent's time when it can be trusted, else the
// request's creation, so that a serial Atlas does not know is given up
// after the lookup grace instead of polled every second.
func (s *Signer) submittedAt(req Request, intent Intent, ok bool) time.Time {
	if ok {
		return intent.NotBefore
	}
	return req.Object.GetCreationTimestamp().Time
}

// twinFreshness is how old the first request's ISSUED status may be for a
// twin to take its certificate without asking Atlas again. cert-manager
// creates a twin moments after the first request's issuance, while this
// process still keeps the first certificate (issuedCertificates
// keeps it for a grace of the same length after it settles). Within the
// window the twin gets exactly what the first request's Secret already
// holds: the twin is for the same Certificate revision and key, so skipping
// the GET hands out nothing the Secret does not have, and a status read is
// itself only a snapshot: a revocation a moment after it is missed just the
// same. Past the window the status is read again.
const twinFreshness = 10 * time.Second

// collectTwin serves a request from the certificate of its twin: another
// request for the same key and contents submitted moments ago
// (cert-manager creates such twins at times), so that one certificate
// serves both. The twin's certificate may have been revoked since (kubectl
// atlas certificate revoke, the Atlas portal), which no memory of this
// process can know, so its status is fetched before it is reused (one GET
// instead of the POST it saves), unless this process read it ISSUED less
// than twinFreshness ago. done is false when it is revoked or will never
// be issued, and the request is submitted on its own.
func (s *Signer) collectTwin(ctx context.Context, cl *atlas.Client, req Request, want expected, first submission, trust *chain.Trust) (b Bundle, done bool, err error) {
	logger := log.FromContext(ctx)
	leafPEM, seen, fresh := s.freshTwin(first)
	status := atlas.StatusIssued
	if !fresh {
		asked := s.now()
		info, err := cl.RetrieveCertificate(ctx, first.serial)
		if err != nil {
			return Bundle{}, true, s.collectError(first.serial, err, s.now().Sub(first.at))
		}
		leafPEM, seen, status = info.Certificate, asked, info.Status
	}
	if status != atlas.StatusIssued && status != atlas.StatusPending {
		logger.Info("the certificate of a request for the same key and contents is not usable; submitting anew", "serial", first.serial, "status", status)
		return Bundle{}, false, nil
	}
	logger.Info("a request for the same key and contents was just submitted; collecting its certificate instead of submitting again", "serial", first.serial, "statusRead", !fresh)
	if err := s.persistSerial(ctx, req, first.serial); err != nil {
		return Bundle{}, true, err
	}
	if status == atlas.StatusPending {
		return Bundle{}, true, signer.PendingError{
			Err:          fmt.Errorf("Atlas is still issuing certificate %s", first.serial),
			RequeueAfter: pollInterval(s.now().Sub(first.at)),
		}
	}
	b, err = s.finish(req, want, first.serial, leafPEM, seen, trust)
	return b, true, err
}

// freshTwin returns the first request's certificate when this process
// read its status ISSUED less than twinFreshness ago, and when.
func (s *Signer) freshTwin(first submission) (leafPEM string, seenIssued time.Time, ok bool) {
	kept, ok := s.issued.get(first.uid)
	if !ok || kept.serial != first.serial || kept.seenIssued.IsZero() || s.now().Sub(kept.seenIssued) >= twinFreshness {
		return "", time.Time{}, false
	}
	return kept.leaf, kept.seenIssued, true
}

// submit writes the intent, unless queued wrote it while the request
// queued for its slot, POSTs, and on the common path GETs the certificate
// at once: one annotation write and two Atlas calls.
func (s *Signer) submit(ctx context.Context, cl *atlas.Client, req Request, want expected, trust *chain.Trust, queued *queuedIntent) (Bundle, error) {
	mapped := want.mapped
	var intent Intent
	if queued != nil {
		intent = queued.intent
	} else {
		var err error
		if intent, err = s.writeIntent(ctx, req, mapped); err != nil {
			return Bundle{}, fmt.Errorf("record intent: %w", err)
		}
	}
	// From here on the POST may reach Atlas, whatever becomes of it.
	s.unposted.forget(req.Object.GetUID())
	serial, err := cl.RequestCertificate(ctx, mapped.Request)
	if err != nil {
		if definitive(err) {
			// Atlas answered and created nothing: clear the intent so the
			// retry submits at once instead of looking for a certificate
			// that does not exist.
			if aerr := s.Annotator.Annotate(ctx, req.Object, nil, v1alpha1.IntentAnnotation); aerr != nil {
				return Bundle{}, fmt.Errorf("clear intent after %w: %w", err, aerr)
			}
		}
		return Bundle{}, signError("request certificate", err)
	}
	s.submissions.put(want.submission, submission{serial: serial, at: s.now(), uid: req.Object.GetUID()})
	s.failpoint(failpoint.AfterSubmit)
	asked := s.now()
	info, err := cl.RetrieveCertificate(ctx, serial)
	if err == nil && info.Status == atlas.StatusIssued {
		return s.finish(req, want, serial, info.Certificate, asked, trust)
	}
	if aerr := s.persistSerial(ctx, req, serial); aerr != nil {
		// The serial is lost with this error, but the intent stays: the
		// retry finds the certificate by lookup instead of submitting again.
		return Bundle{}, aerr
	}
	if err != nil {
		return Bundle{}, s.collectError(serial, err, 0)
	}
	return s.collect(ctx, cl, req, want, serial, trust, intent.NotBefore)
}

// collect polls a submitted certificate.
func (s *Signer) collect(ctx context.Context, cl *atlas.Client, req Request, want expected, serial string, trust *chain.Trust, submitted time.Time) (Bundle, error) {
	age := time.Duration(0)
	if !submitted.IsZero() {
		age = s.now().Sub(submitted)
	}
	asked := s.now()
	info, err := cl.RetrieveCertificate(ctx, serial)
	if err != nil {
		return Bundle{}, s.collectError(serial, err, age)
	}
	switch info.Status {
	case atlas.StatusIssued:
		return s.finish(req, want, serial, info.Certificate, asked, trust)
	case atlas.StatusPending:
		return Bundle{}, signer.PendingError{
			Err:          fmt.Errorf("Atlas is still issuing certificate %s", serial),
			RequeueAfter: pollInterval(age),
		}
	case atlas.StatusRevoked:
		return Bundle{}, signer.PermanentError{Err: fmt.Errorf("certificate %s was revoked in Atlas before it was collected", serial)}
	default:
		return Bundle{}, signer.PermanentError{Err: fmt.Errorf("certificate %s has status %q in Atlas", serial, info.Status)}
	}
}

func (s *Signer) collectError(serial string, err error, age time.Duration) error {
	if atlas.IsNotFound(err) {
		// A serial Atlas has only just created may not be visible yet.
		if age < s.LookupGrace {
			return signer.PendingError{Err: fmt.Errorf("certificate %s is not visible in Atlas yet", serial), RequeueAfter: pollInterval(age)}
		}
		// Past the grace the serial is retried with backoff until the
		// retry budget is spent, not failed at once: failing makes
		// cert-manager submit a new request while the certificate may
		// exist and Atlas merely fail to return it for a while.
		return fmt.Errorf("retrieve certificate %s: %w", serial, err)
	}
	return signError("retrieve certificate "+serial, err)
}

// finish checks the certificate Atlas returned against the request and
// builds the chain. seenIssued is when the GET that reported it ISSUED was
// sent, so that the status's age is never understated. Every path ends
// here, so no certificate reaches a request unless it certifies the CSR's
// key with the names and subject the request asked for, whatever serial the
// request's annotations named. The leaf is parsed once for all three
// steps; Atlas returns one certificate, and an answer that is not exactly
// one fails the request, as a retry gets the same answer.
func (s *Signer) finish(req Request, want expected, serial, leafPEM string, seenIssued time.Time, trust *chain.Trust) (Bundle, error) {
	leaf, err := chain.ParseLeaf([]byte(leafPEM))
	if err != nil {
		return Bundle{}, signer.PermanentError{Err: fmt.Errorf("certificate %s: %w", serial, err)}
	}
	if err := samePublicKey(leaf, req.Details.CSR); err != nil {
		return Bundle{}, signer.PermanentError{Err: fmt.Errorf("certificate %s: %w", serial, err)}
	}
	if err := issuance.CheckIssued(leaf, want.mapped, want.policy); err != nil {
		return Bundle{}, signer.PermanentError{Err: fmt.Errorf("certificate %s does not match the request: %w", serial, err)}
	}
	built, err := trust.Build(leaf)
	if err != nil {
		return Bundle{}, fmt.Errorf("build chain for %s: %w", serial, err)
	}
	b := Bundle{ChainPEM: built.ChainPEM, CAPEM: built.CAPEM, Serial: serial}
	s.failpoint(failpoint.AfterIssue)
	s.issued.put(req.Object.GetUID(), issuedCertificate{serial: serial, leaf: leafPEM, trust: trust, seenIssued: seenIssued})
	return b, nil
}

// definitive reports whether Atlas answered a POST with an error that means
// it created nothing.
func definitive(err error) bool {
	code := atlas.StatusCode(err)
	return (code >= 400 && code < 500) || code == 503
}

// pollInterval backs off polling with the request's age: 1 s at first,
// a quarter of the age later, at most 30 s.
func pollInterval(age time.Duration) time.Duration {
	return min(max(age/4, time.Second), 30*time.Second)
}

func certFingerprint(certPEM []byte) (string, error) {
	c, err := parseCertificate(certPEM)
	if err != nil {
		return "", err
	}
	return issuance.PublicKeyFingerprint(c.PublicKey)
}

// parseCertificate parses the leaf of what Atlas returns: the first
// certificate of the PEM.
func parseCertificate(certPEM []byte) (*x509.Certificate, error) {
	return pki.DecodeX509CertificateBytes(certPEM)
}

// samePublicKey guards against handing out a certificate for another key:
// whatever Atlas returns must certify the key of the request.
func samePublicKey(cert *x509.Certificate, csrPEM []byte) error {
	csr, err := pki.DecodeX509CertificateRequestBytes(csrPEM)
	if err != nil {
		return fmt.Errorf("parse CSR: %w", err)
	}
	equal, err := pki.PublicKeysEqual(cert.PublicKey, csr.PublicKey)
	if err != nil {
		return fmt.Errorf("compare public keys: %w", err)
	}
	if !equal {
		return errors.New("Atlas returned a certificate for a different public key")
	}
	return nil
}
