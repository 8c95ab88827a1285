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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// literalRequest is a request for an ECDSA key (quick to generate) whose
// subject's RDNs are written as given, as cert-manager writes a
// literalSubject.
func literalRequest(t *testing.T, e *env, name string, rdns pkix.RDNSequence) (Request, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := asn1.Marshal(rdns)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{RawSubject: raw, DNSNames: []string{name}}, key)
	if err != nil {
		t.Fatal(err)
	}
	cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{
		Namespace: "ns", Name: name, UID: types.UID("uid-" + name),
		ResourceVersion: strconv.Itoa(e.ann.rv), CreationTimestamp: metav1.NewTime(e.clock.Now()),
	}, Status: cmapi.CertificateRequestStatus{Conditions: []cmapi.CertificateRequestCondition{
		{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "test"},
	}}}
	return Request{Object: cr, Details: signer.CertificateDetails{
		CSR:      pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		Duration: 24 * time.Hour,
		KeyUsage: x509.KeyUsageDigitalSignature,
	}}, raw
}

func rdn(oid asn1.ObjectIdentifier, v string) pkix.RelativeDistinguishedNameSET {
	return pkix.RelativeDistinguishedNameSET{{Type: oid, Value: v}}
}

// TestLiteralSubjectKeptExactly: a literal subject in the order Atlas
// writes, with an attribute only the policy's extra_attributes provides
// for, comes back byte for byte, as cert-manager's conformance suite checks
// literal subjects; one in another order is refused before any POST.
func TestLiteralSubjectKeptExactly(t *testing.T) {
	e := newEnv(t, fake.Options{})
	p := fake.DefaultECDSAPolicy()
	p.SubjectDN.ExtraAttributes = map[string]atlas.TypeAndValuePolicy{oidUID.String(): {ValueType: "PRINTABLESTRING", MaxCount: 1}}
	e.fake.SetPolicy(p)
	e.newSigner()

	const name = "literal.example.com"
	req, raw := literalRequest(t, e, name, pkix.RDNSequence{
		rdn(asn1.ObjectIdentifier{2, 5, 4, 6}, "BE"), rdn(asn1.ObjectIdentifier{2, 5, 4, 10}, "Acme"),
		rdn(asn1.ObjectIdentifier{2, 5, 4, 11}, "Ops"), rdn(asn1.ObjectIdentifier{2, 5, 4, 3}, name), rdn(oidUID, "alice"),
	})
	b, err := e.signer.Sign(context.Background(), req, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := parseCertificate(b.ChainPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(leaf.RawSubject, raw) {
		t.Errorf("issued subject %q, want the literal subject as requested", leaf.Subject)
	}

	reordered, _ := literalRequest(t, e, "reordered.example.com", pkix.RDNSequence{
		rdn(asn1.ObjectIdentifier{2, 5, 4, 3}, "reordered.example.com"), rdn(asn1.ObjectIdentifier{2, 5, 4, 10}, "Acme"),
	})
	posts := e.calls(fake.OpRequestCertificate)
	_, err = e.signer.Sign(context.Background(), reordered, e.iss)
	if !errors.As(err, &signer.PermanentError{}) || !strings.Contains(err.Error(), "CN before O") {
		t.Fatalf("err = %v, want a permanent error naming the order", err)
	}
	if e.calls(fake.OpRequestCertificate) != posts {
		t.Error("a refused literal subject reached Atlas")
	}
}
