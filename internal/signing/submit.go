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
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"github.com/cert-manager/issuer-lib/controllers/signer"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/chain"
	"github.com/globalsign/atlas-issuer/internal/failpoint"
	"github.com/globalsign/atlas-issuer/internal/issuance"
)

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
	leaf, err := checkLeaf(req, want, serial, leafPEM)
	if err != nil {
		return Bundle{}, signer.PermanentError{Err: err}
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

// checkLeaf parses the certificate Atlas returned for serial and checks it
// certifies the request's key and matches its mapping.
func checkLeaf(req Request, want expected, serial, leafPEM string) (*x509.Certificate, error) {
	leaf, err := chain.ParseLeaf([]byte(leafPEM))
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", serial, err)
	}
	if err := samePublicKey(leaf, req.Details.CSR); err != nil {
		return nil, fmt.Errorf("certificate %s: %w", serial, err)
	}
	if err := issuance.CheckIssued(leaf, want.mapped, want.policy); err != nil {
		return nil, fmt.Errorf("certificate %s does not match the request: %w", serial, err)
	}
	return leaf, nil
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
