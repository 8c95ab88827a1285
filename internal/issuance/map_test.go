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
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

const day = 24 * time.Hour

type mapCase struct {
	name string
	// csr is the CSR to build; the zero value means defaultCSR.
	csr *csrSpec
	// raw, if set, is used as the CSR bytes as they are.
	raw    func() []byte
	in     func(*Input)
	policy func(*atlas.ValidationPolicy)
	// base replaces basePolicy as the starting point.
	base func() *atlas.ValidationPolicy

	// field set: Map must fail with a *PolicyError on it whose reason
	// contains reason.
	field, reason string
	// Otherwise each note must contain the matching substring, and there
	// must be no other notes.
	notes []string
	check func(t *testing.T, r *Result)
}

func defaultCSR() csrSpec {
	return csrSpec{
		subject: pkix.Name{CommonName: "a.example.com"},
		dns:     []string{"a.example.com", "b.example.com"},
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestMap(t *testing.T) {
	now := testNow.Unix()
	cases := []mapCase{
		// Happy paths.
		{
			name: "RSA PKCS10 happy path",
			check: func(t *testing.T, r *Result) {
				req := r.Request
				eq(t, "validity", req.Validity, atlas.Validity{NotBefore: now, NotAfter: now + 90*86400})
				eq(t, "NotBefore", r.NotBefore, time.Unix(now, 0).UTC())
				eq(t, "NotAfter", r.NotAfter, time.Unix(now+90*86400, 0).UTC())
				eq(t, "subject", req.SubjectDN, atlas.SubjectDN{CommonName: "a.example.com"})
				eq(t, "san", req.SAN, &atlas.SAN{DNSNames: []string{"a.example.com", "b.example.com"}})
				eq(t, "ekus", req.ExtendedKeyUsages, []string{"1.3.6.1.5.5.7.3.1"})
				eq(t, "key usages", req.KeyUsages, &atlas.KeyUsages{DigitalSignature: new(true), KeyEncipherment: new(true)})
				eq(t, "signature", req.Signature, (*atlas.Signature)(nil))
				eq(t, "public_key_signature", req.PublicKeySignature, "")
				if strings.HasSuffix(req.PublicKey, "\n") {
					t.Error("public_key ends with a newline")
				}
				if n := strings.Count(req.PublicKey, "-----BEGIN "); n != 1 {
					t.Errorf("public_key has %d PEM blocks, want 1", n)
				}
				block, rest := pem.Decode([]byte(req.PublicKey))
				if block == nil || block.Type != "CERTIFICATE REQUEST" || len(rest) != 0 {
					t.Fatalf("public_key is not one CERTIFICATE REQUEST block: %q", req.PublicKey)
				}
				csr, err := x509.ParseCertificateRequest(block.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
				eq(t, "fingerprint", r.PublicKeyFingerprint, hex.EncodeToString(sum[:]))
			},
		},
		{
			name: "ECDSA PKCS8 sends the SPKI of the CSR's key",
			csr:  &csrSpec{key: ecP256(), dns: []string{"a.example.com"}},
			base: ecPolicy,
			check: func(t *testing.T, r *Result) {
				block, rest := pem.Decode([]byte(r.Request.PublicKey))
				if block == nil || block.Type != "PUBLIC KEY" || len(rest) != 0 {
					t.Fatalf("public_key is not one PUBLIC KEY block: %q", r.Request.PublicKey)
				}
				pub, err := x509.ParsePKIXPublicKey(block.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				if !ecP256().Public().(*ecdsa.PublicKey).Equal(pub) {
					t.Error("public_key is not the CSR's key")
				}
			},
		},
		{
			name:   "PKCS8 with public_key_signature OPTIONAL sends the SPKI",
			csr:    &csrSpec{key: ecP256(), dns: []string{"a.example.com"}},
			base:   ecPolicy,
			policy: func(p *atlas.ValidationPolicy) { p.PublicKeySignature = atlas.PresenceOptional },
			check:  wantPublicKeyType("PUBLIC KEY"),
		},
		{
			name:   "PKCS8 with public_key_signature absent sends the SPKI",
			csr:    &csrSpec{key: ecP256(), dns: []string{"a.example.com"}},
			base:   ecPolicy,
			policy: func(p *atlas.ValidationPolicy) { p.PublicKeySignature = "" },
			check:  wantPublicKeyType("PUBLIC KEY"),
		},
		{
			name:   "no key_format means PKCS10",
			policy: func(p *atlas.ValidationPolicy) { p.PublicKey.KeyFormat = "" },
			check:  wantPublicKeyType("CERTIFICATE REQUEST"),
		},
		{
			name: "PEM headers and the old NEW CERTIFICATE REQUEST label are not passed on",
			raw: func() []byte {
				return pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Headers: map[string]string{"X": "y"}, Bytes: csrDER(defaultCSR())})
			},
			check: func(t *testing.T, r *Result) {
				if strings.Contains(r.Request.PublicKey, "NEW") || strings.Contains(r.Request.PublicKey, "X: y") {
					t.Errorf("public_key passed the input on as is: %q", r.Request.PublicKey)
				}
				wantPublicKeyType("CERTIFICATE REQUEST")(t, r)
			},
		},

		// Account.
		{
			name:   "PKCS8 with a required public_key_signature cannot be used",
			base:   ecPolicy,
			policy: func(p *atlas.ValidationPolicy) { p.PublicKeySignature = atlas.PresenceRequired },
			field:  "public_key_signature",
			reason: "requires a public_key_signature, which needs the private key, and cert-manager never gives an issuer the private key, so no cert-manager issuer can use this account",
		},
		{
			name:   "unknown key_format",
			policy: func(p *atlas.ValidationPolicy) { p.PublicKey.KeyFormat = "JWK" },
			field:  "public_key.key_format", reason: `unknown key format "JWK"`,
		},

		// CSR.
		{name: "CSR not PEM", raw: func() []byte { return []byte("hello") }, field: "csr", reason: "is not PEM"},
		{name: "CSR of the wrong PEM type", raw: func() []byte {
			return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: csrDER(defaultCSR())})
		}, field: "csr", reason: `type "CERTIFICATE"`},
		{name: "CSR with two blocks", raw: func() []byte {
			b := csrPEM(defaultCSR())
			return append(b, b...)
		}, field: "csr", reason: "exactly one block"},
		{name: "CSR DER garbage", raw: func() []byte {
			return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 0x03, 1, 2, 3}})
		}, field: "csr", reason: "cannot be parsed"},
		{name: "CSR signature does not verify", raw: func() []byte {
			der := csrDER(defaultCSR())
			der[len(der)-1] ^= 0xff
			return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
		}, field: "csr", reason: "signature does not verify"},

		// is_ca.
		{name: "isCA", in: func(in *Input) { in.IsCA = true }, field: "is_ca", reason: "end-entity certificates only"},

		// public_key.
		{name: "ECDSA key on an RSA account", csr: &csrSpec{key: ecP256(), dns: []string{"a.example.com"}},
			field: "public_key.key_type", reason: "the CSR has an ECDSA key; the account's validation policy accepts RSA keys only"},
		{name: "RSA key on an ECDSA account", base: ecPolicy,
			field: "public_key.key_type", reason: "accepts ECDSA keys only"},
		{name: "key type compared case-insensitively",
			policy: func(p *atlas.ValidationPolicy) { p.PublicKey.KeyType = "rsa" }},
		{name: "RSA length not allowed", csr: &csrSpec{key: rsa1024(), dns: []string{"a.example.com"}},
			field: "public_key.key_length", reason: "1024-bit RSA key, and the account's validation policy accepts 2048 or 4096 bits"},
		{name: "EC curve size not allowed", csr: &csrSpec{key: ecP384(), dns: []string{"a.example.com"}}, base: ecPolicy,
			policy: func(p *atlas.ValidationPolicy) { p.PublicKey.AllowedLengths = []int{256} },
			field:  "public_key.key_length", reason: "384-bit ECDSA key (curve P-384)"},
		{name: "empty allowed_lengths allows any length", csr: &csrSpec{key: rsa1024(), dns: []string{"a.example.com"}},
			policy: func(p *atlas.ValidationPolicy) { p.PublicKey.AllowedLengths = nil }},
		{name: "Ed25519 rejected", csr: &csrSpec{key: edKey(), dns: []string{"a.example.com"}},
			policy: func(p *atlas.ValidationPolicy) { p.PublicKey = nil },
			field:  "public_key.key_type", reason: "Ed25519 keys are not supported by Atlas"},
		{name: "P-224 rejected", raw: p224CSR, base: ecPolicy,
			policy: func(p *atlas.ValidationPolicy) { p.PublicKey.AllowedLengths = nil },
			field:  "public_key.key_type", reason: "curve P-224 is not supported"},

		// Validity.
		{name: "duration clamped down to the maximum",
			in:    func(in *Input) { in.Duration = 12000 * time.Hour },
			notes: []string{"requested duration 12000h0m0s exceeds the policy maximum of 397 days; requesting 397 days"},
			check: wantValidity(now, now+397*86400)},
		{name: "duration clamped up to the minimum",
			in:    func(in *Input) { in.Duration = 30 * time.Minute },
			notes: []string{"requested duration 30m0s is below the policy minimum of 1 hour; requesting 1 hour"},
			check: wantValidity(now, now+3600)},
		{name: "no validity section sends the requested end",
			in:     func(in *Input) { in.Duration = 5000 * day },
			policy: func(p *atlas.ValidationPolicy) { p.Validity = nil },
			check:  wantValidity(now, now+5000*86400)},
		{name: "zero duration asks for the policy maximum",
			in:    func(in *Input) { in.Duration = 0 },
			notes: []string{"no duration was requested; requesting the policy maximum of 397 days"},
			check: func(t *testing.T, r *Result) {
				eq(t, "validity", r.Request.Validity, atlas.Validity{NotBefore: now})
				eq(t, "NotAfter", r.NotAfter, time.Unix(now+397*86400, 0).UTC())
			}},
		{name: "negative duration without a maximum",
			in:     func(in *Input) { in.Duration = -time.Hour },
			policy: func(p *atlas.ValidationPolicy) { p.Validity = nil },
			notes:  []string{"requesting the longest lifetime the account allows"},
			check: func(t *testing.T, r *Result) {
				eq(t, "validity", r.Request.Validity, atlas.Validity{NotBefore: now})
				eq(t, "NotAfter", r.NotAfter, time.Time{})
			}},
		{name: "sub-second duration rounds up",
			in:     func(in *Input) { in.Duration = 1500 * time.Millisecond },
			policy: func(p *atlas.ValidationPolicy) { p.Validity = nil },
			check:  wantValidity(now, now+2)},
		{name: "end after the issuer's expiry is noted",
			policy: func(p *atlas.ValidationPolicy) { p.Validity.IssuerExpiry = now + 86400 },
			notes:  []string{"after the issuing CA's expiry"},
			check:  wantValidity(now, now+90*86400)},

		// subject_dn.
		{name: "every subject attribute is mapped",
			csr: &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{
				CommonName: "a.example.com", Organization: []string{"Acme"}, OrganizationalUnit: []string{"Ops", "Dev"},
				Country: []string{"GB"}, Province: []string{"London"}, Locality: []string{"Camden"},
				StreetAddress: []string{"1 High St"}, PostalCode: []string{"NW1"}, SerialNumber: "42",
				ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "ops@example.com"}},
			}},
			check: func(t *testing.T, r *Result) {
				eq(t, "subject", r.Request.SubjectDN, atlas.SubjectDN{
					CommonName: "a.example.com", Organization: "Acme", OrganizationalUnit: []string{"Dev", "Ops"}, // DER sorts a SET
					Country: "GB", State: "London", Locality: "Camden", StreetAddress: "1 High St",
					PostalCode: "NW1", SerialNumber: "42", Email: "ops@example.com",
				})
			}},
		{name: "more than one organization",
			csr:   &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{Organization: []string{"Acme", "Beta"}}},
			field: "subject_dn.organization", reason: `the CSR has 2 values ("Acme", "Beta"); Atlas takes a single organization`},
		{name: "required attribute missing",
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.Organization = sp(atlas.PresenceRequired, "") },
			field:  "subject_dn.organization", reason: "is required by the account's validation policy, and the request has no organization"},
		{name: "forbidden attribute present",
			csr:    &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{Organization: []string{"Acme"}}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.Organization = sp(atlas.PresenceForbidden, "") },
			field:  "subject_dn.organization", reason: "is forbidden by the account's validation policy"},
		{name: "static attribute with the static value is not sent",
			csr:    &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{Country: []string{"GB"}}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.Country = sp(atlas.PresenceStatic, "GB") },
			check: func(t *testing.T, r *Result) {
				eq(t, "subject", r.Request.SubjectDN, atlas.SubjectDN{})
			}},
		{name: "static attribute with another value",
			csr:    &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{Country: []string{"US"}}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.Country = sp(atlas.PresenceStatic, "GB") },
			field:  "subject_dn.country", reason: `is static ("GB" for every certificate of this account); the request has "US"`},
		{name: "format mismatch",
			csr:   &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{Country: []string{"Germany"}}},
			field: "subject_dn.country", reason: `"Germany" does not match the account's format "^[A-Z]{2}$"`},
		{name: "unanchored format must match the whole value",
			csr:    &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{Country: []string{"GBR"}}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.Country.Format = "[A-Z]{2}" },
			field:  "subject_dn.country", reason: "does not match"},
		{name: "anchored format is used as written",
			csr:    &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{Organization: []string{"Acme Ltd"}}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.Organization.Format = "^Acme" },
			check: func(t *testing.T, r *Result) {
				eq(t, "organization", r.Request.SubjectDN.Organization, "Acme Ltd")
			}},
		{name: "format Go cannot compile is left to Atlas",
			csr:    &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{Organization: []string{"Acme"}}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.Organization.Format = `^(?!Evil).*$` },
			notes:  []string{"cannot be checked by this issuer; Atlas checks it"},
			check: func(t *testing.T, r *Result) {
				eq(t, "organization", r.Request.SubjectDN.Organization, "Acme")
			}},
		{name: "attribute the policy does not mention is left out",
			csr:    &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{Organization: []string{"Acme"}}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.Organization = nil },
			notes:  []string{"subject organization is not in the account's validation policy and was left out"},
			check: func(t *testing.T, r *Result) {
				eq(t, "subject", r.Request.SubjectDN, atlas.SubjectDN{})
			}},
		{name: "subject attribute without an Atlas field fails unless extra_attributes allows it",
			csr: &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: "x"},
			}}},
			field: "subject_dn.extra_attributes", reason: "a subject attribute of type 1.2.3.4, which the account's validation policy does not allow"},
		{name: "organizational units over the maximum",
			csr:    &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{OrganizationalUnit: []string{"A", "B"}}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.OrganizationalUnit.MaxCount = 1 },
			field:  "subject_dn.organizational_unit", reason: "the request has 2 organizational units; the account's validation policy allows at most 1"},
		{name: "organizational unit matching no pattern",
			csr:    &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{OrganizationalUnit: []string{"Sales"}}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.OrganizationalUnit.List = []string{"Ops|Dev"} },
			field:  "subject_dn.organizational_unit", reason: `"Sales" matches none of the allowed patterns ("Ops|Dev")`},
		{name: "static organizational units are not sent",
			csr: &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{OrganizationalUnit: []string{"Ops"}}},
			policy: func(p *atlas.ValidationPolicy) {
				p.SubjectDN.OrganizationalUnit = &atlas.ListPolicy{Static: true, List: []string{"Ops"}, MinCount: 1, MaxCount: 1}
			},
			check: func(t *testing.T, r *Result) {
				eq(t, "ou", r.Request.SubjectDN.OrganizationalUnit, []string(nil))
			}},
		{name: "organizational unit the policy does not mention",
			csr:    &csrSpec{dns: []string{"a.example.com"}, subject: pkix.Name{OrganizationalUnit: []string{"Ops"}}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.OrganizationalUnit = nil },
			notes:  []string{"subject organizational unit is not in the account's validation policy and was left out"}},

		// Common name.
		{name: "required common name defaulted from the first DNS name",
			csr:    &csrSpec{dns: []string{"b.example.com", "a.example.com"}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.CommonName = sp(atlas.PresenceRequired, "") },
			notes:  []string{`the CSR has no common name and the account requires one; using the first DNS name "b.example.com"`},
			check: func(t *testing.T, r *Result) {
				eq(t, "cn", r.Request.SubjectDN.CommonName, "b.example.com")
				eq(t, "dns", r.Request.SAN.DNSNames, []string{"b.example.com", "a.example.com"})
			}},
		{name: "defaulted common name that fails the format says where it came from",
			csr:    &csrSpec{dns: []string{"a.example.com"}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.CommonName = sp(atlas.PresenceRequired, `www\..*`) },
			field:  "subject_dn.common_name", reason: `"a.example.com" does not match the account's format "www\\..*"; the account requires a common name and the request has none, so the first DNS name was used`},
		{name: "required common name with no DNS name to use",
			csr:    &csrSpec{ips: []string{"10.0.0.1"}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.CommonName = sp(atlas.PresenceRequired, "") },
			field:  "subject_dn.common_name", reason: "is required"},
		{name: "forbidden common name that is a DNS name is dropped",
			csr:    &csrSpec{subject: pkix.Name{CommonName: "A.example.com"}, dns: []string{"a.example.com"}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.CommonName = sp(atlas.PresenceForbidden, "") },
			notes:  []string{`the common name "A.example.com" was left out`},
			check: func(t *testing.T, r *Result) {
				eq(t, "subject", r.Request.SubjectDN, atlas.SubjectDN{})
				eq(t, "dns", r.Request.SAN.DNSNames, []string{"a.example.com"})
			}},
		{name: "forbidden common name that is not a DNS name",
			csr:    &csrSpec{subject: pkix.Name{CommonName: "my service"}, dns: []string{"a.example.com"}},
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.CommonName = sp(atlas.PresenceForbidden, "") },
			field:  "subject_dn.common_name", reason: "is forbidden by the account's validation policy"},
		{name: "common name is not added to the DNS names",
			csr: &csrSpec{subject: pkix.Name{CommonName: "c.example.com"}, dns: []string{"a.example.com"}},
			check: func(t *testing.T, r *Result) {
				eq(t, "dns", r.Request.SAN.DNSNames, []string{"a.example.com"})
			}},

		// san.
		{name: "DNS name without an allowed suffix",
			csr:   &csrSpec{dns: []string{"a.example.com", "a.example.org"}},
			field: "san.dns_names", reason: `"a.example.org" does not end with an allowed suffix (".example.com")`},
		{name: "a suffix does not allow the bare domain",
			csr:   &csrSpec{dns: []string{"example.com"}},
			field: "san.dns_names", reason: "does not end with an allowed suffix"},
		{name: "suffixes match case-insensitively and names are de-duplicated",
			csr: &csrSpec{dns: []string{"A.Example.COM", "a.example.com", "b.example.com", "b.example.com"}},
			check: func(t *testing.T, r *Result) {
				eq(t, "dns", r.Request.SAN.DNSNames, []string{"A.Example.COM", "b.example.com"})
			}},
		{name: "policy suffixes match case-insensitively",
			csr: &csrSpec{dns: []string{"a.example.com"}, emails: []string{"ops@example.com"}},
			policy: func(p *atlas.ValidationPolicy) {
				p.SAN.DNSNames.List = []string{".EXAMPLE.com"}
				p.SAN.Emails.List = []string{"@Example.COM"}
			}},
		{name: "empty suffix allows anything",
			csr:    &csrSpec{dns: []string{"x.anything.net"}},
			policy: func(p *atlas.ValidationPolicy) { p.SAN.DNSNames.List = []string{".example.com", ""} }},
		{name: "too many DNS names (after de-duplication)",
			csr:    &csrSpec{dns: []string{"a.example.com", "b.example.com", "B.example.com"}},
			policy: func(p *atlas.ValidationPolicy) { p.SAN.DNSNames.MaxCount = 1 },
			field:  "san.dns_names", reason: "the request has 2 DNS names; the account's validation policy allows at most 1"},
		{name: "too few DNS names",
			csr:    &csrSpec{ips: []string{"10.0.0.1"}},
			policy: func(p *atlas.ValidationPolicy) { p.SAN.DNSNames.MinCount = 1 },
			field:  "san.dns_names", reason: "requires at least 1"},
		{name: "DNS names with maxcount 0",
			policy: func(p *atlas.ValidationPolicy) { p.SAN.DNSNames.MaxCount = 0 },
			field:  "san.dns_names", reason: "DNS names are not allowed by the account's validation policy"},
		{name: "DNS names the policy does not mention",
			policy: func(p *atlas.ValidationPolicy) { p.SAN.DNSNames = nil },
			field:  "san.dns_names", reason: "not allowed by the account's validation policy"},
		{name: "static DNS names are not sent",
			policy: func(p *atlas.ValidationPolicy) {
				p.SAN.DNSNames = &atlas.ListPolicy{Static: true, List: []string{"a.example.com", "b.example.com"}, MaxCount: 2}
			},
			check: func(t *testing.T, r *Result) { eq(t, "san", r.Request.SAN, (*atlas.SAN)(nil)) }},
		{name: "DNS name outside a static list",
			policy: func(p *atlas.ValidationPolicy) {
				p.SAN.DNSNames = &atlas.ListPolicy{Static: true, List: []string{"a.example.com"}, MaxCount: 1}
			},
			field: "san.dns_names", reason: `"b.example.com" is not one of the values the account's validation policy fixes ("a.example.com")`},
		{name: "emails, IPs and URIs are mapped",
			csr: &csrSpec{
				dns: []string{"a.example.com"}, emails: []string{"ops@example.com", "ops@example.com"},
				ips: []string{"10.0.0.1", "10.0.0.1"}, uris: []string{"spiffe://example.com/ns/a/sa/b"},
			},
			check: func(t *testing.T, r *Result) {
				eq(t, "san", r.Request.SAN, &atlas.SAN{
					DNSNames: []string{"a.example.com"}, Emails: []string{"ops@example.com"},
					IPAddresses: []string{"10.0.0.1"}, URIs: []string{"spiffe://example.com/ns/a/sa/b"},
				})
			}},
		{name: "IPv6 address in text form",
			csr:    &csrSpec{ips: []string{"2001:db8::1"}},
			policy: func(p *atlas.ValidationPolicy) { p.SAN.IPAddresses.List = []string{`2001:db8::.*`} },
			check: func(t *testing.T, r *Result) {
				eq(t, "ips", r.Request.SAN.IPAddresses, []string{"2001:db8::1"})
			}},
		{name: "IP address matching no pattern",
			csr:   &csrSpec{ips: []string{"192.168.0.1"}},
			field: "san.ip_addresses", reason: `"192.168.0.1" matches none of the allowed patterns ("10\\..*")`},
		{name: "email without an allowed suffix",
			csr:   &csrSpec{emails: []string{"ops@evil.com"}},
			field: "san.emails", reason: `"ops@evil.com" does not end with an allowed suffix ("@example.com")`},
		{name: "URI matching no pattern",
			csr:   &csrSpec{uris: []string{"https://example.com/"}},
			field: "san.uris", reason: "matches none of the allowed patterns"},
		{name: "URIs the policy does not mention",
			csr:    &csrSpec{uris: []string{"spiffe://example.com/a"}},
			policy: func(p *atlas.ValidationPolicy) { p.SAN.URIs = nil },
			field:  "san.uris", reason: "URIs are not allowed by the account's validation policy"},

		// extended_key_usages.
		{name: "EKU matching no pattern",
			in:    func(in *Input) { in.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning} },
			field: "extended_key_usages", reason: `"1.3.6.1.5.5.7.3.3" matches none of the allowed patterns`},
		{name: "EKUs with maxcount 0",
			policy: func(p *atlas.ValidationPolicy) { p.ExtendedKeyUsages.EKUs.MaxCount = 0 },
			field:  "extended_key_usages", reason: "not allowed by the account's validation policy"},
		{name: "EKUs de-duplicated and mapped",
			in: func(in *Input) {
				in.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
			},
			check: func(t *testing.T, r *Result) {
				eq(t, "ekus", r.Request.ExtendedKeyUsages, []string{"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"})
			}},
		{name: "static EKUs are not sent",
			policy: func(p *atlas.ValidationPolicy) {
				p.ExtendedKeyUsages.EKUs = &atlas.ListPolicy{Static: true, List: []string{"1.3.6.1.5.5.7.3.1"}, MinCount: 1, MaxCount: 1}
			},
			check: func(t *testing.T, r *Result) { eq(t, "ekus", r.Request.ExtendedKeyUsages, []string(nil)) }},
		{name: "EKU outside a static list",
			in: func(in *Input) { in.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} },
			policy: func(p *atlas.ValidationPolicy) {
				p.ExtendedKeyUsages.EKUs = &atlas.ListPolicy{Static: true, List: []string{"1.3.6.1.5.5.7.3.1"}, MinCount: 1, MaxCount: 1}
			},
			field: "extended_key_usages", reason: "is not one of the values"},
		{name: "no EKU requested but the policy requires one",
			in:     func(in *Input) { in.ExtKeyUsage = nil },
			policy: func(p *atlas.ValidationPolicy) { p.ExtendedKeyUsages.EKUs.MinCount = 1 },
			field:  "extended_key_usages", reason: "the request has 0 extended key usages; the account's validation policy requires at least 1"},
		{name: "EKUs the policy does not mention are left to Atlas",
			policy: func(p *atlas.ValidationPolicy) { p.ExtendedKeyUsages = nil },
			notes:  []string{"does not mention extended key usages; server auth (1.3.6.1.5.5.7.3.1) was left out"},
			check:  func(t *testing.T, r *Result) { eq(t, "ekus", r.Request.ExtendedKeyUsages, []string(nil)) }},
		{name: "unknown EKU value",
			in:    func(in *Input) { in.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsage(999)} },
			field: "extended_key_usages", reason: "unknown extended key usage 999"},

		// key_usages.
		{name: "STATIC_FALSE usage requested is a note",
			in:    func(in *Input) { in.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyAgreement },
			notes: []string{"the account does not allow key usage key agreement"},
			check: func(t *testing.T, r *Result) {
				eq(t, "ku", r.Request.KeyUsages, &atlas.KeyUsages{DigitalSignature: new(true)})
			}},
		{name: "STATIC_TRUE usage is not sent",
			in: func(in *Input) { in.KeyUsage = x509.KeyUsageContentCommitment },
			check: func(t *testing.T, r *Result) {
				eq(t, "ku", r.Request.KeyUsages, (*atlas.KeyUsages)(nil))
			}},
		{name: "cert sign with STATIC_FALSE",
			in:    func(in *Input) { in.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign },
			field: "key_usages.key_certificate_sign", reason: "is a CA usage"},
		{name: "a usage the key_usages section does not mention is noted",
			in:    func(in *Input) { in.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageEncipherOnly },
			notes: []string{"does not mention key usages; encipher only was left out"},
			check: func(t *testing.T, r *Result) {
				eq(t, "ku", r.Request.KeyUsages, &atlas.KeyUsages{DigitalSignature: new(true)})
			}},
		{name: "CRL sign without a key_usages section",
			in:     func(in *Input) { in.KeyUsage = x509.KeyUsageCRLSign },
			policy: func(p *atlas.ValidationPolicy) { p.KeyUsages = nil },
			field:  "key_usages.crl_sign", reason: "is a CA usage"},
		{name: "cert sign the account offers is sent",
			in:     func(in *Input) { in.KeyUsage = x509.KeyUsageCertSign },
			policy: func(p *atlas.ValidationPolicy) { p.KeyUsages["key_certificate_sign"] = "optional" },
			check: func(t *testing.T, r *Result) {
				eq(t, "ku", r.Request.KeyUsages, &atlas.KeyUsages{KeyCertificateSign: new(true)})
			}},
		{name: "no key_usages section sends nothing and says so",
			policy: func(p *atlas.ValidationPolicy) { p.KeyUsages = nil },
			notes: []string{"the account's validation policy does not mention key usages; " +
				"digital signature, key encipherment were left out and Atlas decides"},
			check: func(t *testing.T, r *Result) {
				eq(t, "ku", r.Request.KeyUsages, (*atlas.KeyUsages)(nil))
			}},

		// signature.
		{name: "required hash prefers SHA-256",
			policy: func(p *atlas.ValidationPolicy) {
				p.Signature = &atlas.SignaturePolicy{
					HashAlgorithm: &atlas.ListPresencePolicy{Presence: atlas.PresenceRequired, List: []string{"SHA-512", "SHA-256"}},
					Algorithm:     &atlas.ListPresencePolicy{Presence: atlas.PresenceStatic, List: []string{"RSA-PSS"}},
				}
			},
			check: func(t *testing.T, r *Result) {
				eq(t, "signature", r.Request.Signature, &atlas.Signature{HashAlgorithm: "SHA-256"})
			}},
		{name: "required hash without SHA-256 takes the first",
			policy: func(p *atlas.ValidationPolicy) {
				p.Signature = &atlas.SignaturePolicy{HashAlgorithm: &atlas.ListPresencePolicy{Presence: atlas.PresenceRequired, List: []string{"SHA-384", "SHA-512"}}}
			},
			check: func(t *testing.T, r *Result) {
				eq(t, "signature", r.Request.Signature, &atlas.Signature{HashAlgorithm: "SHA-384"})
			}},
		{name: "optional hash is not sent",
			policy: func(p *atlas.ValidationPolicy) {
				p.Signature = &atlas.SignaturePolicy{HashAlgorithm: &atlas.ListPresencePolicy{Presence: atlas.PresenceOptional, List: []string{"SHA-256"}}}
			},
			check: func(t *testing.T, r *Result) { eq(t, "signature", r.Request.Signature, (*atlas.Signature)(nil)) }},
		{name: "required algorithm matches the key type",
			csr: &csrSpec{key: ecP256(), dns: []string{"a.example.com"}}, base: ecPolicy,
			policy: func(p *atlas.ValidationPolicy) {
				p.Signature = &atlas.SignaturePolicy{Algorithm: &atlas.ListPresencePolicy{Presence: atlas.PresenceRequired, List: []string{"RSA", "ECDSA"}}}
			},
			check: func(t *testing.T, r *Result) {
				eq(t, "signature", r.Request.Signature, &atlas.Signature{Algorithm: "ECDSA"})
			}},
		{name: "required algorithm of another key type is the CA's choice",
			policy: func(p *atlas.ValidationPolicy) {
				p.Signature = &atlas.SignaturePolicy{Algorithm: &atlas.ListPresencePolicy{Presence: atlas.PresenceRequired, List: []string{"ECDSA"}}}
			},
			check: func(t *testing.T, r *Result) {
				eq(t, "signature", r.Request.Signature, &atlas.Signature{Algorithm: "ECDSA"})
			}},
		{name: "required algorithm with an empty list",
			policy: func(p *atlas.ValidationPolicy) {
				p.Signature = &atlas.SignaturePolicy{Algorithm: &atlas.ListPresencePolicy{Presence: atlas.PresenceRequired}}
			},
			field: "signature.algorithm", reason: "lists none"},

		// Older and odd policies.
		{name: "empty policy and a CSR without names",
			csr:  &csrSpec{subject: pkix.Name{CommonName: "svc"}},
			base: func() *atlas.ValidationPolicy { return &atlas.ValidationPolicy{} },
			in:   func(in *Input) { in.KeyUsage = x509.KeyUsageDigitalSignature },
			notes: []string{
				"subject common name is not in the account's validation policy",
				"does not mention extended key usages",
				"does not mention key usages; digital signature was left out",
			},
			check: func(t *testing.T, r *Result) {
				eq(t, "validity", r.Request.Validity, atlas.Validity{NotBefore: now, NotAfter: now + 90*86400})
				wantPublicKeyType("CERTIFICATE REQUEST")(t, r)
			}},
		{name: "empty policy and a CSR with DNS names",
			base:  func() *atlas.ValidationPolicy { return &atlas.ValidationPolicy{} },
			field: "san.dns_names", reason: "not allowed by the account's validation policy"},
		{name: "lower-case presence is understood",
			policy: func(p *atlas.ValidationPolicy) { p.SubjectDN.Organization = sp("required", "") },
			field:  "subject_dn.organization", reason: "is required"},
	}
	runMapCases(t, cases)
}

// runMapCases runs each case as a subtest of t.
func runMapCases(t *testing.T, cases []mapCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{
				Duration:    90 * day,
				KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
				Now:         testNow,
			}
			switch {
			case tc.raw != nil:
				in.CSR = tc.raw()
			case tc.csr != nil:
				in.CSR = csrPEM(*tc.csr)
			default:
				in.CSR = csrPEM(defaultCSR())
			}
			if tc.in != nil {
				tc.in(&in)
			}
			base := basePolicy
			if tc.base != nil {
				base = tc.base
			}
			p := base()
			if tc.policy != nil {
				tc.policy(p)
			}

			res, err := Map(in, p)
			if tc.field != "" {
				var pe *PolicyError
				if !errors.As(err, &pe) {
					t.Fatalf("Map() error = %v, want a *PolicyError on %s", err, tc.field)
				}
				if res != nil {
					t.Error("Map() returned a result with its error")
				}
				if pe.Field != tc.field || !strings.Contains(pe.Reason, tc.reason) {
					t.Errorf("Map() error = %q\nwant field %q, reason containing %q", pe.Error(), tc.field, tc.reason)
				}
				if strings.Contains(pe.Error(), "-----") || strings.Contains(pe.Error(), "MII") {
					t.Errorf("error message carries PEM: %q", pe.Error())
				}
				return
			}
			if err != nil {
				t.Fatalf("Map() error = %v", err)
			}
			if len(res.Notes) != len(tc.notes) {
				t.Errorf("notes = %q, want %d notes like %q", res.Notes, len(tc.notes), tc.notes)
			} else {
				for i, n := range tc.notes {
					if !strings.Contains(res.Notes[i], n) {
						t.Errorf("note %d = %q, want it to contain %q", i, res.Notes[i], n)
					}
				}
			}
			if _, err := json.Marshal(res.Request); err != nil {
				t.Errorf("request does not marshal: %v", err)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

func wantPublicKeyType(typ string) func(*testing.T, *Result) {
	return func(t *testing.T, r *Result) {
		t.Helper()
		block, rest := pem.Decode([]byte(r.Request.PublicKey))
		if block == nil || block.Type != typ || len(rest) != 0 || strings.HasSuffix(r.Request.PublicKey, "\n") {
			t.Errorf("public_key = %q, want exactly one %s block without a final newline", r.Request.PublicKey, typ)
		}
	}
}

func wantValidity(nb, na int64) func(*testing.T, *Result) {
	return func(t *testing.T, r *Result) {
		t.Helper()
		eq(t, "validity", r.Request.Validity, atlas.Validity{NotBefore: nb, NotAfter: na})
		eq(t, "NotBefore", r.NotBefore, time.Unix(nb, 0).UTC())
		eq(t, "NotAfter", r.NotAfter, time.Unix(na, 0).UTC())
	}
}

func TestMapNilPolicy(t *testing.T) {
	_, err := Map(Input{CSR: csrPEM(defaultCSR()), Duration: day, Now: testNow}, nil)
	var pe *PolicyError
	if !errors.As(err, &pe) || !strings.Contains(pe.Error(), "no validation policy") {
		t.Fatalf("Map(nil policy) error = %v, want a PolicyError saying there is no validation policy", err)
	}
}

func TestMapZeroNow(t *testing.T) {
	if _, err := Map(Input{CSR: csrPEM(defaultCSR()), Duration: day}, basePolicy()); err == nil {
		t.Fatal("Map() with a zero Now succeeded")
	}
}

// The wire form matters more than the struct: Atlas must see the public key,
// no empty sections, and not_after left out when the maximum is wanted.
func TestMapJSON(t *testing.T) {
	p := basePolicy()
	p.KeyUsages = nil
	res, err := Map(Input{CSR: csrPEM(csrSpec{dns: []string{"a.example.com"}}), Now: testNow}, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res.Request)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"key_usages", "extended_key_usages", "signature", "public_key_signature"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s sent: %s", k, b)
		}
	}
	if v := got["validity"].(map[string]any); v["not_after"] != nil || v["not_before"] != float64(testNow.Unix()) {
		t.Errorf("validity = %v", v)
	}
	if !strings.HasPrefix(got["public_key"].(string), "-----BEGIN CERTIFICATE REQUEST-----\n") {
		t.Errorf("public_key = %q", got["public_key"])
	}
	eq(t, "san", got["san"], any(map[string]any{"dns_names": []any{"a.example.com"}}))
	eq(t, "subject_dn", got["subject_dn"], any(map[string]any{}))
}

func TestPublicKeyFingerprint(t *testing.T) {
	for _, key := range []any{rsa2048().Public(), ecP256().Public()} {
		der, err := x509.MarshalPKIXPublicKey(key)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(der)
		got, err := PublicKeyFingerprint(key)
		if err != nil || got != hex.EncodeToString(sum[:]) {
			t.Errorf("PublicKeyFingerprint(%T) = %q, %v; want %x", key, got, err, sum)
		}
	}
	a, _ := PublicKeyFingerprint(rsa2048().Public())
	b, _ := PublicKeyFingerprint(&rsa1024().(*rsa.PrivateKey).PublicKey)
	if a == b {
		t.Error("different keys have one fingerprint")
	}
	if _, err := PublicKeyFingerprint(edKey().Public()); err == nil {
		t.Error("PublicKeyFingerprint(Ed25519) succeeded; Atlas cannot issue for it")
	}
	if _, err := PublicKeyFingerprint(nil); err == nil {
		t.Error("PublicKeyFingerprint(nil) succeeded")
	}
}
