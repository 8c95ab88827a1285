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

package issuance

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// issuedCert is a self-signed certificate with the given subject and names,
// standing in for what Atlas returns.
func issuedCert(t *testing.T, subject pkix.Name, dns, ips, emails, uris []string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: subject, DNSNames: dns, EmailAddresses: emails,
		NotBefore: testNow, NotAfter: testNow.Add(time.Hour),
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	for _, u := range uris {
		tmpl.URIs = append(tmpl.URIs, must(url.Parse(u)))
	}
	key := rsa2048()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return must(x509.ParseCertificate(der))
}

func TestCheckIssued(t *testing.T) {
	requested := &Result{Request: &atlas.CertificateRequest{
		SubjectDN: atlas.SubjectDN{CommonName: "www.example.com", Organization: "Example"},
		SAN:       &atlas.SAN{DNSNames: []string{"www.example.com", "example.com"}, IPAddresses: []string{"10.0.0.1"}},
	}}
	asked := pkix.Name{CommonName: "www.example.com", Organization: []string{"Example"}}
	dns := []string{"www.example.com", "example.com"}
	ips := []string{"10.0.0.1"}
	policy := &atlas.ValidationPolicy{
		SubjectDN: &atlas.SubjectDNPolicy{
			Country:            &atlas.StringPolicy{Presence: atlas.PresenceStatic, Format: "GB"},
			OrganizationalUnit: &atlas.ListPolicy{Static: true, List: []string{"Web"}},
			ExtraAttributes:    map[string]atlas.TypeAndValuePolicy{"2.5.4.12": {Static: true}},
		},
		SAN: &atlas.SANPolicy{Emails: &atlas.ListPolicy{Static: true, List: []string{"pki@example.com"}}},
	}
	withExtra := func(oid asn1.ObjectIdentifier, v string) pkix.Name {
		n := asked
		n.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oid, Value: v}}
		return n
	}
	tests := []struct {
		name      string
		cert      *x509.Certificate
		wantField string // empty: the certificate matches
	}{
		{"exact", issuedCert(t, asked, dns, ips, nil, nil), ""},
		{"DNS names in another case and order", issuedCert(t, asked, []string{"EXAMPLE.com", "www.example.com"}, ips, nil, nil), ""},
		{"static values the policy fixes", issuedCert(t, pkix.Name{CommonName: "www.example.com", Organization: []string{"Example"},
			Country: []string{"GB"}, OrganizationalUnit: []string{"Web"}}, dns, ips, []string{"pki@example.com"}, nil), ""},
		{"a static extra attribute", issuedCert(t, withExtra(asn1.ObjectIdentifier{2, 5, 4, 12}, "Anything"), dns, ips, nil, nil), ""},
		{"a DNS name more", issuedCert(t, asked, append(dns, "evil.example.net"), ips, nil, nil), "san.dns_names"},
		{"a DNS name less", issuedCert(t, asked, dns[:1], ips, nil, nil), "san.dns_names"},
		{"another IP address", issuedCert(t, asked, dns, []string{"10.0.0.2"}, nil, nil), "san.ip_addresses"},
		{"an e-mail the policy does not fix", issuedCert(t, asked, dns, ips, []string{"x@example.com"}, nil), "san.emails"},
		{"a URI", issuedCert(t, asked, dns, ips, nil, []string{"spiffe://example.com/x"}), "san.uris"},
		{"another common name", issuedCert(t, pkix.Name{CommonName: "bank.example.com", Organization: []string{"Example"}}, dns, ips, nil, nil), "subject_dn.common_name"},
		{"no organization", issuedCert(t, pkix.Name{CommonName: "www.example.com"}, dns, ips, nil, nil), "subject_dn.organization"},
		{"a static attribute with another value", issuedCert(t, pkix.Name{CommonName: "www.example.com", Organization: []string{"Example"},
			Country: []string{"US"}}, dns, ips, nil, nil), "subject_dn.country"},
		{"an attribute nobody asked for", issuedCert(t, pkix.Name{CommonName: "www.example.com", Organization: []string{"Example"},
			Locality: []string{"Paris"}}, dns, ips, nil, nil), "subject_dn.locality"},
		{"an unknown attribute", issuedCert(t, withExtra(asn1.ObjectIdentifier{1, 2, 3, 4}, "x"), dns, ips, nil, nil), "subject_dn.extra_attributes.1.2.3.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckIssued(tc.cert, requested, policy)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var me *MismatchError
			if !errors.As(err, &me) || me.Field != tc.wantField {
				t.Fatalf("err = %v, want a mismatch in %s", err, tc.wantField)
			}
			if !strings.Contains(err.Error(), tc.wantField+": the certificate") {
				t.Errorf("message %q does not say what differs", err)
			}
		})
	}
}

// TestCheckIssuedAcceptsWhatMapAsked: a certificate carrying exactly what
// Map put in the request passes, including a common name Map took from the
// DNS names and attributes it left out.
func TestCheckIssuedAcceptsWhatMapAsked(t *testing.T) {
	p := basePolicy()
	p.SubjectDN.CommonName = &atlas.StringPolicy{Presence: atlas.PresenceRequired}
	p.SubjectDN.Locality = nil
	r, err := Map(Input{CSR: csrPEM(csrSpec{subject: pkix.Name{Locality: []string{"Paris"}}, dns: []string{"a.example.com"}}), Now: testNow, Duration: time.Hour}, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Notes) < 2 {
		t.Fatalf("notes = %q, want the defaulted common name and the dropped locality", r.Notes)
	}
	cert := issuedCert(t, pkix.Name{CommonName: "a.example.com"}, []string{"a.example.com"}, nil, nil, nil)
	if err := CheckIssued(cert, r, p); err != nil {
		t.Fatal(err)
	}
}
