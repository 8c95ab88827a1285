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
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/issuance"
)

func fingerprintOf(t *testing.T, req Request) string {
	t.Helper()
	csr, err := pki.DecodeX509CertificateRequestBytes(req.Details.CSR)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := issuance.PublicKeyFingerprint(csr.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func newKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// posingCSR is a CSR that claims pub (which a certificate publishes) but is
// signed by own, as a requester without pub's private key must make it. Both
// keys are RSA 2048, so their encodings have one length and swap in place.
func posingCSR(t *testing.T, pub crypto.PublicKey, own crypto.Signer, dnsName string) []byte {
	t.Helper()
	block, _ := pem.Decode(csrPEM(t, own, dnsName))
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil || len(spki) != len(csr.RawSubjectPublicKeyInfo) {
		t.Fatalf("cannot swap the key: %v", err)
	}
	block.Bytes = bytes.Replace(block.Bytes, csr.RawSubjectPublicKeyInfo, spki, 1)
	return pem.EncodeToMemory(block)
}

// annotated sets annotations on req the way a requester with patch rights
// on CertificateRequests can.
func annotated(t *testing.T, e *env, req Request, ann map[string]string) Request {
	t.Helper()
	if err := e.ann.Annotate(context.Background(), req.Object, ann); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestForgedSerialIsNeverReturned: a requester writes the serial of a
// certificate of the account into their own request. Whatever key and names
// their CSR carries, no certificate that is not theirs reaches the request,
// and the forgery costs at most one GET.
func TestForgedSerialIsNeverReturned(t *testing.T) {
	e := newEnv(t, fake.Options{})
	victimKey := newKey(t)
	victim := e.requestFor("victim.example.com", csrPEM(t, victimKey, "victim.example.com"))
	vb, err := e.signer.Sign(context.Background(), victim, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	ownKey := newKey(t)
	own := e.requestFor("own-a.example.com", csrPEM(t, ownKey, "a.example.com"))
	ob, err := e.signer.Sign(context.Background(), own, e.iss)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		csr      []byte
		serial   string
		wantText string
		maxGETs  int
	}{
		// The CSR claims the victim's public key (which the certificate
		// publishes) but cannot be signed with its private key.
		{"victim's key and names", posingCSR(t, victimKey.Public(), ownKey, "victim.example.com"), vb.Serial, "signature", 0},
		{"own key, victim's serial", csrPEM(t, newKey(t), "victim.example.com"), vb.Serial, "different public key", 1},
		// The requester's own certificate for other names.
		{"own key, other names", csrPEM(t, ownKey, "b.example.com"), ob.Serial, "san.dns_names", 1},
	}
	misissued := 0
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := e.requestFor("forged-"+strconv.Itoa(i), tc.csr)
			annotated(t, e, req, map[string]string{v1alpha1.SerialAnnotation: tc.serial})
			posts, gets, total := e.calls(fake.OpRequestCertificate), e.calls(fake.OpRetrieveCertificate), e.fake.TotalCalls()
			b, err := e.signer.Sign(context.Background(), req, e.iss)
			if err == nil {
				misissued++
				t.Fatalf("returned certificate %s", b.Serial)
			}
			if !errors.As(err, &signer.PermanentError{}) || !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("err = %v, want a permanent failure naming %q", err, tc.wantText)
			}
			if n := e.calls(fake.OpRequestCertificate) - posts; n != 0 {
				t.Errorf("POSTs = %d, want 0", n)
			}
			if n := e.calls(fake.OpRetrieveCertificate) - gets; n > tc.maxGETs {
				t.Errorf("GETs = %d, want at most %d", n, tc.maxGETs)
			}
			if n := e.fake.TotalCalls() - total; n > tc.maxGETs {
				t.Errorf("Atlas calls = %d, want at most %d", n, tc.maxGETs)
			}
		})
	}
	if misissued != 0 {
		t.Errorf("forged_misissued = %d, want 0", misissued)
	}
}

// TestForgedIntentIsIgnored: an intent that cannot be the signer's own
// neither starts a lookup nor delays the submission: the request costs
// what a fresh one does (one POST, one GET, no stats page), and the
// requester is told on the request.
func TestForgedIntentIsIgnored(t *testing.T) {
	tests := []struct {
		name   string
		intent func(e *env, req Request) Intent
		reason string
	}{
		{"dated 1970", func(_ *env, req Request) Intent {
			return Intent{NotBefore: time.Unix(1, 0), Fingerprint: fingerprintOf(t, req)}
		}, "before the request was created"},
		{"in the future", func(e *env, req Request) Intent {
			return Intent{NotBefore: e.clock.Now().Add(24 * time.Hour), Fingerprint: fingerprintOf(t, req)}
		}, "in the future"},
		{"another key", func(e *env, _ Request) Intent {
			other := e.request("other.example.com", false)
			return Intent{NotBefore: e.clock.Now().Truncate(time.Second), Fingerprint: fingerprintOf(t, other)}
		}, "not the CSR's"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fake.Options{})
			var warnings []string
			e.signer.Warn = func(_ client.Object, reason, msg string) { warnings = append(warnings, reason+": "+msg) }
			// What a normal issuance costs once the account is loaded.
			var normal int
			for _, name := range []string{"warm.example.com", "normal.example.com"} {
				before := e.fake.TotalCalls()
				if _, err := e.signer.Sign(context.Background(), e.request(name, false), e.iss); err != nil {
					t.Fatal(err)
				}
				normal = e.fake.TotalCalls() - before
			}

			req := e.request("intent.example.com", false)
			forged := tc.intent(e, req)
			annotated(t, e, req, map[string]string{v1alpha1.IntentAnnotation: forged.String()})
			before := e.fake.TotalCalls()
			if _, err := e.signer.Sign(context.Background(), req, e.iss); err != nil {
				t.Fatal(err)
			}
			if extra := e.fake.TotalCalls() - before - normal; extra != 0 {
				t.Errorf("Atlas calls beyond a normal issuance = %d, want 0", extra)
			}
			if n := e.calls(fake.OpStatsIssued); n != 0 {
				t.Errorf("stats pages read = %d, want 0", n)
			}
			if p, g := e.calls(fake.OpRequestCertificate), e.calls(fake.OpRetrieveCertificate); p != 3 || g != 3 {
				t.Errorf("POSTs = %d, GETs = %d; want 3 and 3 (one each per request)", p, g)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], "IntentIgnored") || !strings.Contains(warnings[0], tc.reason) {
				t.Errorf("warnings = %q, want one IntentIgnored naming %q", warnings, tc.reason)
			}
			got, err := ParseIntent(req.Object.GetAnnotations()[v1alpha1.IntentAnnotation])
			if err != nil || got.Fingerprint != fingerprintOf(t, req) || got == forged {
				t.Errorf("intent after signing = %+v (%v); want the signer's own", got, err)
			}
		})
	}
}

// TestUnknownSerialIsGivenUp: a serial Atlas has never heard of is polled
// only within the lookup grace after the request's creation, however the
// requester dated the intent beside it; after it, the request is retried
// with backoff until its retry budget is spent, not failed at once, since a
// real serial that Atlas fails to return for a while looks the same.
func TestUnknownSerialIsGivenUp(t *testing.T) {
	e := newEnv(t, fake.Options{})
	req := e.request("unknown.example.com", false)
	annotated(t, e, req, map[string]string{
		v1alpha1.SerialAnnotation: "0123456789ABCDEF",
		v1alpha1.IntentAnnotation: Intent{NotBefore: e.clock.Now().Add(time.Hour), Fingerprint: fingerprintOf(t, req)}.String(),
	})
	if _, err := e.signer.Sign(context.Background(), req, e.iss); !errors.As(err, &signer.PendingError{}) {
		t.Fatalf("within the grace: err = %v, want PendingError", err)
	}
	e.clock.SetTime(e.clock.Now().Add(e.signer.LookupGrace))
	_, err := e.signer.Sign(context.Background(), req, e.iss)
	if err == nil || errors.As(err, &signer.PendingError{}) || errors.As(err, &signer.PermanentError{}) {
		t.Fatalf("after the grace: err = %v, want a failure that spends the retry budget", err)
	}
	if n := e.calls(fake.OpRetrieveCertificate); n != 2 {
		t.Errorf("GETs = %d, want 2 (one per reconcile)", n)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 0 {
		t.Errorf("POSTs = %d, want 0", n)
	}
}

// TestLookupPagesAreBounded: a lookup reads at most lookupMaxPages stats
// pages, and a partial scan never counts as "not submitted": the request
// waits, without spending its retry budget.
func TestLookupPagesAreBounded(t *testing.T) {
	e := newEnv(t, fake.Options{})
	for i := range 5 {
		if _, err := e.signer.Sign(context.Background(), e.request("busy-"+strconv.Itoa(i)+".example.com", false), e.iss); err != nil {
			t.Fatal(err)
		}
	}
	e.signer.lookupPerPage, e.signer.lookupMaxPages = 1, 3
	req := e.request("bounded.example.com", false)
	annotated(t, e, req, map[string]string{
		v1alpha1.IntentAnnotation: Intent{NotBefore: e.clock.Now().Truncate(time.Second), Fingerprint: fingerprintOf(t, req)}.String(),
	})
	e.clock.SetTime(e.clock.Now().Add(e.signer.LookupGrace))
	_, err := e.signer.Sign(context.Background(), req, e.iss)
	if !errors.As(err, &signer.PendingError{}) || !strings.Contains(err.Error(), "lookup stops") || !strings.Contains(err.Error(), "cannot decide") {
		t.Fatalf("err = %v, want the request waiting on the cut-short lookup", err)
	}
	if n := e.calls(fake.OpStatsIssued); n != 3 {
		t.Errorf("stats pages read = %d, want 3", n)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 5 {
		t.Errorf("POSTs = %d, want 5 (none for the looked-up request)", n)
	}
}
