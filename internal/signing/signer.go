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
	"encoding/pem"
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
)

// Issuer is an AtlasIssuer or AtlasClusterIssuer resolved to what signing
// needs.
type Issuer struct {
	// Key identifies the issuer in caches and metrics: kind/namespace/name.
	Key      string
	Kind     string
	Name     string
	Endpoint credentials.Endpoint
	Secret   types.NamespacedName
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

	clock        clock.PassiveClock
	accounts     accountStates
	issued       *issuedCertificates
	fingerprints fingerprints
	submissions  recentSubmissions
}

// New returns a Signer that tells the time for intents, caches and metrics
// by clk.
func New(loader *credentials.Loader, annotator Annotator, metrics *Metrics, clk clock.PassiveClock) *Signer {
	return &Signer{
		Loader:       loader,
		Annotator:    annotator,
		Metrics:      metrics,
		LookupGrace:  2 * time.Minute,
		clock:        clk,
		accounts:     newAccountStates(clk),
		issued:       newIssuedCertificates(5*time.Minute, clk),
		fingerprints: newFingerprints(clk),
		submissions:  newRecentSubmissions(clk),
	}
}

// Settled tells the signer that the informer cache now shows the request
// with this UID settled (Ready, Failed or Denied), so Sign will not be asked
// for it again and what it kept for the request can go.
func (s *Signer) Settled(uid types.UID) {
	s.issued.settled(uid)
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
	b, err := s.sign(ctx, req, iss)
	s.Metrics.observeSign(iss, err, req.Object.GetCreationTimestamp().Time, start, s.now())
	return b, err
}

func (s *Signer) sign(ctx context.Context, req Request, iss Issuer) (Bundle, error) {
	logger := log.FromContext(ctx).WithValues("issuer", iss.Key)
	ctx = log.IntoContext(ctx, logger)
	if kept, ok := s.issued.get(req.Object.GetUID()); ok {
		// Already signed by this process; the informer is behind.
		if built, err := chain.Build([]byte(kept.leaf), kept.trust); err == nil {
			return Bundle{ChainPEM: built.ChainPEM, CAPEM: built.CAPEM, Serial: kept.serial}, nil
		}
	}
	if req.Details.IsCA {
		return Bundle{}, signer.PermanentError{Err: errors.New("isCA: Atlas issues end-entity certificates only")}
	}
	// Everything below may call Atlas. The slot is taken before the intent
	// is written, so that a request never waits between its intent and its
	// POST: a crash in that gap costs the lookup grace.
	release, err := s.Limiter.acquire(ctx, s.Metrics)
	if err != nil {
		return Bundle{}, err
	}
	defer release()
	cl, _, err := s.Loader.Load(ctx, iss.Secret, iss.Endpoint)
	if err != nil {
		return Bundle{}, signer.IssuerError{Err: err}
	}
	policy, trust, err := s.accounts.load(ctx, iss, cl)
	if err != nil {
		return Bundle{}, signError("load account", err)
	}

	ann := req.Object.GetAnnotations()
	if serial := ann[v1alpha1.SerialAnnotation]; serial != "" {
		return s.collect(ctx, cl, req, serial, trust, intentTime(ann))
	}

	mapped, err := issuance.Map(issuance.Input{
		CSR:         req.Details.CSR,
		Duration:    req.Details.Duration,
		IsCA:        req.Details.IsCA,
		KeyUsage:    req.Details.KeyUsage,
		ExtKeyUsage: req.Details.ExtKeyUsage,
		Now:         s.now(),
	}, policy)
	if err != nil {
		return Bundle{}, signer.PermanentError{Err: err}
	}
	for _, n := range mapped.Notes {
		logger.V(1).Info("mapping note", "note", n)
	}
	notes := mapped.Notes

	if raw := ann[v1alpha1.IntentAnnotation]; raw != "" {
		if b, done, err := s.resumeIntent(ctx, cl, req, raw, trust); done {
			return b, err
		}
	}
	if first, ok := s.submissions.get(cl, mapped); ok {
		return s.collectTwin(ctx, cl, req, first, trust)
	}
	if len(notes) > 0 && s.Notify != nil {
		s.Notify(req.Object, notes)
	}
	return s.submit(ctx, cl, req, mapped, trust)
}

// resumeIntent handles a request whose intent annotation says a submission
// may have reached Atlas before a restart: it looks for that certificate
// and collects it, or waits while the lookup grace lasts. done is false
// when nothing was found after the grace, and the request is submitted
// anew.
func (s *Signer) resumeIntent(ctx context.Context, cl *atlas.Client, req Request, raw string, trust []string) (b Bundle, done bool, err error) {
	logger := log.FromContext(ctx)
	intent, perr := ParseIntent(raw)
	if perr != nil {
		return Bundle{}, false, nil
	}
	serial, found, err := s.lookup(ctx, cl, intent)
	if pc, ok := errors.AsType[*pendingCandidate](err); ok {
		return Bundle{}, true, signer.PendingError{Err: pc, RequeueAfter: pollInterval(s.now().Sub(intent.NotBefore))}
	}
	if err != nil {
		return Bundle{}, true, signError("look up earlier submission", err)
	}
	if found {
		logger.Info("found the certificate submitted before a restart", "serial", serial)
		if err := s.Annotator.Annotate(ctx, req.Object, map[string]string{v1alpha1.SerialAnnotation: serial}); err != nil {
			return Bundle{}, true, fmt.Errorf("persist serial %s: %w", serial, err)
		}
		b, err := s.collect(ctx, cl, req, serial, trust, intent.NotBefore)
		return b, true, err
	}
	if age := s.now().Sub(intent.NotBefore); age < s.LookupGrace {
		return Bundle{}, true, signer.PendingError{
			Err:          fmt.Errorf("a submission started at %s is not visible in Atlas yet; looking again before submitting anew", intent.NotBefore.UTC().Format(time.RFC3339)),
			RequeueAfter: pollInterval(age),
		}
	}
	logger.Info("no certificate found for an earlier intent; submitting anew", "intent", raw)
	return Bundle{}, false, nil
}

// collectTwin serves a request from the certificate of its twin: another
// request for the same key and contents submitted moments ago
// (cert-manager creates such twins at times), so that one certificate
// serves both.
func (s *Signer) collectTwin(ctx context.Context, cl *atlas.Client, req Request, first submission, trust []string) (Bundle, error) {
	log.FromContext(ctx).Info("a request for the same key and contents was just submitted; collecting its certificate instead of submitting again", "serial", first.serial)
	if err := s.Annotator.Annotate(ctx, req.Object, map[string]string{v1alpha1.SerialAnnotation: first.serial}); err != nil {
		return Bundle{}, fmt.Errorf("persist serial %s: %w", first.serial, err)
	}
	if kept, ok := s.issued.get(first.uid); ok && kept.serial == first.serial {
		// The first request's certificate is still at hand: no GET.
		return s.finish(req, first.serial, &atlas.CertificateInfo{Status: atlas.StatusIssued, Certificate: kept.leaf}, kept.trust)
	}
	return s.collect(ctx, cl, req, first.serial, trust, first.at)
}

// submit writes the intent, POSTs, and on the common path GETs the
// certificate at once: one annotation write and two Atlas calls.
func (s *Signer) submit(ctx context.Context, cl *atlas.Client, req Request, mapped *issuance.Result, trust []string) (Bundle, error) {
	intent := Intent{NotBefore: mapped.NotBefore.Truncate(time.Second), Fingerprint: mapped.PublicKeyFingerprint}
	mapped.Request.Validity.NotBefore = intent.NotBefore.Unix()
	if err := s.Annotator.Annotate(ctx, req.Object, map[string]string{v1alpha1.IntentAnnotation: intent.String()}); err != nil {
		return Bundle{}, fmt.Errorf("record intent: %w", err)
	}
	s.failpoint(failpoint.AfterIntent)
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
	s.submissions.put(cl, mapped, serial, req.Object.GetUID(), s.now())
	s.failpoint(failpoint.AfterSubmit)
	info, err := cl.RetrieveCertificate(ctx, serial)
	if err == nil && info.Status == atlas.StatusIssued {
		return s.finish(req, serial, info, trust)
	}
	if aerr := s.Annotator.Annotate(ctx, req.Object, map[string]string{v1alpha1.SerialAnnotation: serial}); aerr != nil {
		// The serial is lost with this error, but the intent stays: the
		// retry finds the certificate by lookup instead of submitting again.
		return Bundle{}, fmt.Errorf("persist serial %s: %w", serial, aerr)
	}
	if err != nil {
		return Bundle{}, s.collectError(serial, err, 0)
	}
	return s.collect(ctx, cl, req, serial, trust, intent.NotBefore)
}

// collect polls a submitted certificate.
func (s *Signer) collect(ctx context.Context, cl *atlas.Client, req Request, serial string, trust []string, submitted time.Time) (Bundle, error) {
	age := time.Duration(0)
	if !submitted.IsZero() {
		age = s.now().Sub(submitted)
	}
	info, err := cl.RetrieveCertificate(ctx, serial)
	if err != nil {
		return Bundle{}, s.collectError(serial, err, age)
	}
	switch info.Status {
	case atlas.StatusIssued:
		return s.finish(req, serial, info, trust)
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
	// A serial Atlas has only just created may not be visible yet.
	if atlas.IsNotFound(err) && age < s.LookupGrace {
		return signer.PendingError{Err: fmt.Errorf("certificate %s is not visible in Atlas yet", serial), RequeueAfter: pollInterval(age)}
	}
	return signError("retrieve certificate "+serial, err)
}

// finish checks the certificate Atlas returned and builds the chain.
func (s *Signer) finish(req Request, serial string, info *atlas.CertificateInfo, trust []string) (Bundle, error) {
	if err := samePublicKey([]byte(info.Certificate), req.Details.CSR); err != nil {
		return Bundle{}, signer.PermanentError{Err: fmt.Errorf("certificate %s: %w", serial, err)}
	}
	built, err := chain.Build([]byte(info.Certificate), trust)
	if err != nil {
		return Bundle{}, fmt.Errorf("build chain for %s: %w", serial, err)
	}
	b := Bundle{ChainPEM: built.ChainPEM, CAPEM: built.CAPEM, Serial: serial}
	s.failpoint(failpoint.AfterIssue)
	s.issued.put(req.Object.GetUID(), issuedCertificate{serial: serial, leaf: info.Certificate, trust: trust})
	return b, nil
}

// lookup finds a certificate submitted for intent: Atlas's issued stats
// around the intent's time, narrowed to the exact not_before we sent, then
// each candidate's public key. A candidate still pending cannot be compared
// yet, so the caller waits rather than risk a duplicate.
func (s *Signer) lookup(ctx context.Context, cl *atlas.Client, intent Intent) (string, bool, error) {
	q := atlas.StatsQuery{PerPage: 100, From: intent.NotBefore.Add(-time.Minute).Unix(), To: s.now().Add(time.Minute).Unix()}
	var candidates []string
	for q.Page = 1; ; q.Page++ {
		page, err := cl.StatsIssued(ctx, q)
		if err != nil {
			return "", false, err
		}
		for _, m := range page.Certificates {
			if m.NotBefore == intent.NotBefore.Unix() {
				candidates = append(candidates, m.SerialNumber)
			}
		}
		if !page.Next || len(page.Certificates) == 0 || q.Page >= 1000 {
			break
		}
	}
	// Keys already fetched by an earlier lookup first, then the others.
	var unknown []string
	for _, serial := range candidates {
		fp, ok := s.fingerprints.get(cl, serial)
		if !ok {
			unknown = append(unknown, serial)
		} else if fp == intent.Fingerprint {
			return serial, true, nil
		}
	}
	// A failed or pending candidate does not end the search, since another
	// may match; only when none does is it reported, as the caller must not
	// conclude "not submitted" while a candidate is unknown.
	var firstErr error
	var pending *pendingCandidate
	for _, serial := range unknown {
		info, err := cl.RetrieveCertificate(ctx, serial)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if info.Status == atlas.StatusPending {
			if pending == nil {
				pending = &pendingCandidate{serial: serial}
			}
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
	if firstErr != nil {
		return "", false, firstErr
	}
	if pending != nil {
		return "", false, pending
	}
	return "", false, nil
}

type pendingCandidate struct{ serial string }

func (p *pendingCandidate) Error() string {
	return fmt.Sprintf("candidate certificate %s is still being issued", p.serial)
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

func intentTime(ann map[string]string) time.Time {
	if i, err := ParseIntent(ann[v1alpha1.IntentAnnotation]); err == nil {
		return i.NotBefore
	}
	return time.Time{}
}

func certFingerprint(certPEM []byte) (string, error) {
	c, err := parseCertificate(certPEM)
	if err != nil {
		return "", err
	}
	return issuance.PublicKeyFingerprint(c.PublicKey)
}

// parseCertificate parses the first PEM block, the leaf of what Atlas returns.
func parseCertificate(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, errors.New("certificate is not PEM")
	}
	return x509.ParseCertificate(block.Bytes)
}

// samePublicKey guards against handing out a certificate for another key:
// whatever Atlas returns must certify the key of the request.
func samePublicKey(certPEM, csrPEM []byte) error {
	cert, err := parseCertificate(certPEM)
	if err != nil {
		return fmt.Errorf("parse issued certificate: %w", err)
	}
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
