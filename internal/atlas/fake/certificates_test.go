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

package fake

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func TestIssuanceSignsRequestedCertificate(t *testing.T) {
	s := startFake(t, Options{})
	c := loggedIn(t, s)
	key := rsaKey(t, 0)
	now := time.Now().Truncate(time.Second)
	ds, ke := true, true
	req := atlas.CertificateRequest{
		Validity: atlas.Validity{NotBefore: now.Unix(), NotAfter: now.Add(90 * 24 * time.Hour).Unix()},
		SubjectDN: atlas.SubjectDN{
			CommonName:         "app.example.com",
			Organization:       "Example Ltd",
			OrganizationalUnit: []string{"Ops", "Platform"},
			Country:            "GB",
			State:              "London",
			Locality:           "Westminster",
			StreetAddress:      "1 Main Street",
			PostalCode:         "SW1A 1AA",
			SerialNumber:       "12345",
			Email:              "ops@example.com",
		},
		SAN: &atlas.SAN{
			DNSNames:    []string{"app.example.com", "www.example.com"},
			IPAddresses: []string{"192.0.2.10", "2001:db8::1"},
			Emails:      []string{"ops@example.com"},
			URIs:        []string{"spiffe://example.com/app"},
		},
		ExtendedKeyUsages: []string{"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"},
		KeyUsages:         &atlas.KeyUsages{DigitalSignature: &ds, KeyEncipherment: &ke},
		PublicKey:         csrPEM(t, key),
	}
	serial := c.issue(req)

	leaf, info := c.retrieve(serial)
	if info.Status != atlas.StatusIssued {
		t.Errorf("status = %q, want ISSUED", info.Status)
	}
	if got := fmt.Sprintf("%032X", leaf.SerialNumber); got != serial {
		t.Errorf("leaf serial %s != Atlas serial %s", got, serial)
	}
	if !leaf.NotBefore.Equal(now) || !leaf.NotAfter.Equal(now.Add(90*24*time.Hour)) {
		t.Errorf("validity = %v..%v", leaf.NotBefore, leaf.NotAfter)
	}
	wantPub, _ := PublicKeyFingerprint(&key.PublicKey)
	if gotPub, _ := PublicKeyFingerprint(leaf.PublicKey); gotPub != wantPub {
		t.Error("leaf does not certify the submitted key")
	}
	subj := leaf.Subject
	if subj.CommonName != "app.example.com" || !slices.Equal(subj.Organization, []string{"Example Ltd"}) ||
		!slices.Equal(subj.OrganizationalUnit, []string{"Ops", "Platform"}) || !slices.Equal(subj.Country, []string{"GB"}) ||
		!slices.Equal(subj.Province, []string{"London"}) || !slices.Equal(subj.Locality, []string{"Westminster"}) ||
		!slices.Equal(subj.StreetAddress, []string{"1 Main Street"}) || !slices.Equal(subj.PostalCode, []string{"SW1A 1AA"}) ||
		subj.SerialNumber != "12345" {
		t.Errorf("subject = %+v", subj)
	}
	if !hasEmailAttribute(subj.Names, "ops@example.com") {
		t.Errorf("subject has no emailAddress: %v", subj.Names)
	}
	if !slices.Equal(leaf.DNSNames, []string{"app.example.com", "www.example.com"}) {
		t.Errorf("DNS names = %v (the CSR's own names must be ignored)", leaf.DNSNames)
	}
	if len(leaf.IPAddresses) != 2 || !leaf.IPAddresses[0].Equal(net.ParseIP("192.0.2.10")) || !leaf.IPAddresses[1].Equal(net.ParseIP("2001:db8::1")) {
		t.Errorf("IPs = %v", leaf.IPAddresses)
	}
	if !slices.Equal(leaf.EmailAddresses, []string{"ops@example.com"}) || len(leaf.URIs) != 1 || leaf.URIs[0].String() != "spiffe://example.com/app" {
		t.Errorf("emails %v, URIs %v", leaf.EmailAddresses, leaf.URIs)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Errorf("EKUs = %v", leaf.ExtKeyUsage)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("key usage = %b", leaf.KeyUsage)
	}
	if leaf.IsCA {
		t.Error("leaf is a CA")
	}

	// The chain from /trustchain verifies the leaf up to the root.
	resp, body := c.do(http.MethodGet, "/trustchain", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("trustchain: %d %s", resp.StatusCode, body)
	}
	var chain []string
	if err := json.Unmarshal(body, &chain); err != nil || len(chain) != 2 {
		t.Fatalf("trustchain body %s: %v", body, err)
	}
	if chain[0] != string(s.IntermediatePEM()) || chain[1] != string(s.RootPEM()) {
		t.Error("trustchain is not [intermediate, root]")
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(chain[1]))
	inters.AppendCertsFromPEM([]byte(chain[0]))
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inters, DNSName: "www.example.com",
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		t.Errorf("leaf does not chain to the root: %v", err)
	}
	bad := x509.NewCertPool()
	bad.AppendCertsFromPEM(s.Credentials().ServerCAPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: bad, Intermediates: inters}); err == nil {
		t.Error("leaf verifies against an unrelated root")
	}

	// Any spelling of the serial finds it; Certificate agrees with GET.
	for _, spelling := range []string{strings.ToLower(serial), strings.TrimLeft(serial, "0"), "00" + serial} {
		if resp, body := c.do(http.MethodGet, "/certificates/"+spelling, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d %s", spelling, resp.StatusCode, body)
		}
	}
	if got, ok := s.Certificate(strings.ToLower(serial)); !ok || !got.Equal(leaf) {
		t.Error("Certificate(serial) differs from GET")
	}
	resp, body = c.do(http.MethodGet, "/certificates/01:AB:CD", nil)
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "invalid serial number length")
	resp, body = c.do(http.MethodGet, "/certificates/01ABCDEF", nil)
	wantProblem(t, resp, body, http.StatusNotFound, "Not found")

	if s.Issued() != 1 || s.IssuedPerKey()[wantPub] != 1 {
		t.Errorf("Issued = %d, per key %v", s.Issued(), s.IssuedPerKey())
	}
}

func hasEmailAttribute(names []pkix.AttributeTypeAndValue, want string) bool {
	for _, n := range names {
		if n.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}) && n.Value == want {
			return true
		}
	}
	return false
}

func TestNotAfterZeroMeansPolicyMaximum(t *testing.T) {
	_, c := ecdsaServer(t, Options{})
	now := time.Now().Truncate(time.Second)
	req, _ := ecRequest(t, now)
	req.Validity.NotAfter = 0
	leaf, _ := c.retrieve(c.issue(req))
	if want := now.Add(397 * 24 * time.Hour); !leaf.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", leaf.NotAfter, want)
	}
}

func TestPolicyViolations(t *testing.T) {
	clock := newTestClock()
	now := clock.Now()
	ecPolicy := DefaultECDSAPolicy()
	p256 := ecKey(t, elliptic.P256())
	p521 := ecKey(t, elliptic.P521())
	tooMany := make([]string, 101)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("h%d.example.com", i)
	}

	restricted := DefaultECDSAPolicy()
	restricted.SubjectDN.CommonName = &atlas.StringPolicy{Presence: atlas.PresenceRequired, Format: ".*"}
	restricted.SubjectDN.Country = &atlas.StringPolicy{Presence: atlas.PresenceStatic, Format: "GB"}
	restricted.SubjectDN.Organization = &atlas.StringPolicy{Presence: atlas.PresenceForbidden}
	restricted.SAN.DNSNames = &atlas.ListPolicy{List: []string{".example.com"}, MaxCount: 3}

	rsaPolicy := DefaultPolicy()

	for _, tc := range []struct {
		name   string
		policy *atlas.ValidationPolicy
		mutate func(*atlas.CertificateRequest)
		field  string
		msg    string
	}{
		{"common name required", restricted, func(r *atlas.CertificateRequest) { r.SubjectDN.CommonName = "" },
			"subject_dn.common_name", "subject_dn.common_name: is required"},
		{"country static", restricted, func(r *atlas.CertificateRequest) { r.SubjectDN.Country = "US" },
			"subject_dn.country", "subject_dn.country: is static"},
		{"organization forbidden", restricted, func(r *atlas.CertificateRequest) { r.SubjectDN.Organization = "X" },
			"subject_dn.organization", "subject_dn.organization: is forbidden"},
		{"attribute the policy omits", ecPolicy, func(r *atlas.CertificateRequest) { r.SubjectDN.GivenName = "Ann" },
			"subject_dn.given_name", "subject_dn.given_name: is forbidden"},
		{"country format", ecPolicy, func(r *atlas.CertificateRequest) { r.SubjectDN.Country = "gb" },
			"subject_dn.country", "subject_dn.country: gb does not match"},
		{"too many DNS names", ecPolicy, func(r *atlas.CertificateRequest) { r.SAN.DNSNames = tooMany },
			"san.dns_names", "san.dns_names: too many entries"},
		{"DNS suffix not allowed", restricted, func(r *atlas.CertificateRequest) { r.SAN.DNSNames = []string{"example.org"} },
			"san.dns_names", "san.dns_names: example.org is not allowed"},
		{"invalid IP", ecPolicy, func(r *atlas.CertificateRequest) { r.SAN.IPAddresses = []string{"300.1.1.1"} },
			"san.ip_addresses", "san.ip_addresses: 300.1.1.1 is not a valid IP address"},
		{"EKU not allowed", ecPolicy, func(r *atlas.CertificateRequest) { r.ExtendedKeyUsages = []string{"1.3.6.1.5.5.7.3.8"} },
			"extended_key_usages", "extended_key_usages: 1.3.6.1.5.5.7.3.8 is not allowed"},
		{"static-false key usage", ecPolicy, func(r *atlas.CertificateRequest) {
			yes := true
			r.KeyUsages = &atlas.KeyUsages{KeyCertificateSign: &yes}
		}, "key_usages.key_certificate_sign", "key_usages.key_certificate_sign: is static"},
		{"not_before in the past", ecPolicy, func(r *atlas.CertificateRequest) {
			r.Validity.NotBefore = now.Add(-11 * time.Minute).Unix()
		}, "validity.not_before", "validity.not_before: outside the allowed skew"},
		{"not_before in the future", ecPolicy, func(r *atlas.CertificateRequest) {
			r.Validity = atlas.Validity{NotBefore: now.Add(11 * time.Minute).Unix(), NotAfter: now.Add(48 * time.Hour).Unix()}
		}, "validity.not_before", "validity.not_before: outside the allowed skew"},
		{"lifetime too short", ecPolicy, func(r *atlas.CertificateRequest) {
			r.Validity.NotAfter = now.Add(30 * time.Minute).Unix()
		}, "validity", "validity: lifetime outside [3600, 34300800]"},
		{"lifetime too long", ecPolicy, func(r *atlas.CertificateRequest) {
			r.Validity.NotAfter = now.Add(398 * 24 * time.Hour).Unix()
		}, "validity", "validity: lifetime outside"},
		{"key type", rsaPolicy, nil, "public_key", "public_key: key type not allowed"},
		{"key length", ecPolicy, func(r *atlas.CertificateRequest) { r.PublicKey = csrPEM(t, p521) },
			"public_key", "public_key: key length not allowed"},
		{"SPKI for a PKCS10 account", ecPolicy, func(r *atlas.CertificateRequest) { r.PublicKey = spkiPEM(t, &p256.PublicKey) },
			"public_key", "public_key: expected a PEM CERTIFICATE REQUEST"},
		{"CSR with a bad signature", ecPolicy, func(r *atlas.CertificateRequest) { r.PublicKey = tamperCSR(t, r.PublicKey) },
			"public_key", "public_key: invalid certificate request"},
		{"signature on a FORBIDDEN account", ecPolicy, func(r *atlas.CertificateRequest) { r.PublicKeySignature = signSPKI(t, p256) },
			"public_key_signature", "public_key_signature: is forbidden"},
		{"subject_da without a policy section", ecPolicy, func(r *atlas.CertificateRequest) { r.SubjectDA = &atlas.SubjectDA{Gender: "F"} },
			"subject_da", "subject_da: is forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := ecdsaServer(t, Options{Clock: clock, Policy: tc.policy})
			req := certRequest(csrPEM(t, p256), now)
			if tc.mutate != nil {
				tc.mutate(&req)
			}
			resp, body := c.do(http.MethodPost, "/certificates", req)
			eb := wantProblem(t, resp, body, http.StatusUnprocessableEntity, tc.msg)
			if _, ok := eb.Errors[tc.field]; !ok {
				t.Errorf("errors map %v has no %q", eb.Errors, tc.field)
			}
			if s.Issued() != 0 || s.Quota() != defaultQuota {
				t.Errorf("rejected request counted: issued %d, quota %d", s.Issued(), s.Quota())
			}
		})
	}

	t.Run("the same request passes the default policy", func(t *testing.T) {
		_, c := ecdsaServer(t, Options{Clock: clock})
		c.issue(certRequest(csrPEM(t, p256), now))
	})
	t.Run("static country filled in", func(t *testing.T) {
		_, c := ecdsaServer(t, Options{Clock: clock, Policy: restricted})
		req := certRequest(csrPEM(t, p256), now)
		req.SAN.DNSNames = []string{"a.example.com"}
		leaf, _ := c.retrieve(c.issue(req))
		if !slices.Equal(leaf.Subject.Country, []string{"GB"}) {
			t.Errorf("country = %v, want the static GB", leaf.Subject.Country)
		}
	})
}

// tamperCSR flips a byte of the CSR's signature.
func tamperCSR(t *testing.T, csr string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(csr))
	der := bytes.Clone(block.Bytes)
	der[len(der)-2] ^= 0xff
	return string(pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der}))
}

// signSPKI makes a public_key_signature the way the official client does.
func signSPKI(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func TestPKCS8PublicKeys(t *testing.T) {
	required := DefaultECDSAPolicy()
	required.PublicKey.KeyFormat = atlas.KeyFormatPKCS8
	required.PublicKeySignature = atlas.PresenceRequired
	forbidden := DefaultECDSAPolicy()
	forbidden.PublicKey.KeyFormat = atlas.KeyFormatPKCS8
	rsaRequired := DefaultPolicy()
	rsaRequired.PublicKey.KeyFormat = atlas.KeyFormatPKCS8
	rsaRequired.PublicKeySignature = atlas.PresenceRequired

	key := ecKey(t, elliptic.P256())
	other := ecKey(t, elliptic.P256())
	rsaK := rsaKey(t, 1)
	now := time.Now()
	for _, tc := range []struct {
		name   string
		policy *atlas.ValidationPolicy
		key    crypto.Signer
		sig    string
		msg    string // empty: accepted
	}{
		{"ECDSA signature required and valid", required, key, signSPKI(t, key), ""},
		{"RSA signature required and valid", rsaRequired, rsaK, signSPKI(t, rsaK), ""},
		{"signature required but missing", required, key, "", "public_key_signature: is required"},
		{"signature by another key", required, key, signSPKI(t, other), "public_key_signature: invalid signature"},
		{"signature not base64", required, key, "%%%", "public_key_signature: invalid signature"},
		{"bare key, signature forbidden", forbidden, key, "", ""},
		{"signature forbidden but sent", forbidden, key, signSPKI(t, key), "public_key_signature: is forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := ecdsaServer(t, Options{Policy: tc.policy})
			req := certRequest(spkiPEM(t, tc.key.Public()), now)
			req.PublicKeySignature = tc.sig
			if tc.msg == "" {
				leaf, _ := c.retrieve(c.issue(req))
				want, _ := PublicKeyFingerprint(tc.key.Public())
				if got, _ := PublicKeyFingerprint(leaf.PublicKey); got != want {
					t.Error("leaf does not certify the submitted key")
				}
				return
			}
			resp, body := c.do(http.MethodPost, "/certificates", req)
			wantProblem(t, resp, body, http.StatusUnprocessableEntity, tc.msg)
			if s.Issued() != 0 {
				t.Error("rejected request counted as issued")
			}
		})
	}
	t.Run("CSR on a PKCS8 account", func(t *testing.T) {
		_, c := ecdsaServer(t, Options{Policy: forbidden})
		resp, body := c.do(http.MethodPost, "/certificates", certRequest(csrPEM(t, key), now))
		wantProblem(t, resp, body, http.StatusUnprocessableEntity, "public_key: expected a PEM PUBLIC KEY")
	})
}

func TestPendingPollsThenIssued(t *testing.T) {
	s, c := ecdsaServer(t, Options{PendingPolls: 2})
	req, _ := ecRequest(t, time.Now())
	serial := c.issue(req)
	// A pending certificate cannot be revoked yet; trying is not a poll.
	resp, body := c.do(http.MethodDelete, "/certificates/"+serial, nil)
	wantProblem(t, resp, body, http.StatusConflict, "pending")
	for i := range 2 {
		resp, body := c.do(http.MethodGet, "/certificates/"+serial, nil)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("poll %d: %d %s, want 202", i+1, resp.StatusCode, body)
		}
		wantJSON(t, resp)
		if string(body) != `{"description":"Operation in progress"}` {
			t.Errorf("202 body = %s", body)
		}
	}
	_, info := c.retrieve(serial)
	if info.Status != atlas.StatusIssued {
		t.Errorf("status = %s", info.Status)
	}
	if got := s.CallCount(OpRetrieveCertificate); got != 3 {
		t.Errorf("RetrieveCertificate calls = %d, want 3", got)
	}

	// SetPending changes later certificates only.
	s.SetPending(0, 0)
	req2, _ := ecRequest(t, time.Now())
	c.retrieve(c.issue(req2))
}

func TestPendingFor(t *testing.T) {
	clock := newTestClock()
	_, c := ecdsaServer(t, Options{Clock: clock, PendingFor: 30 * time.Second})
	req, _ := ecRequest(t, clock.Now())
	serial := c.issue(req)
	clock.Step(29 * time.Second)
	if resp, body := c.do(http.MethodGet, "/certificates/"+serial, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("before PendingFor: %d %s", resp.StatusCode, body)
	}
	clock.Step(time.Second)
	_, info := c.retrieve(serial)
	if want := clock.Now().Unix(); info.UpdatedAt != want {
		t.Errorf("updated_at = %d, want the end of the pending time %d", info.UpdatedAt, want)
	}
}

func TestRejectNext(t *testing.T) {
	s, c := ecdsaServer(t, Options{})
	s.RejectNext(1)
	req, _ := ecRequest(t, time.Now())
	rejected := c.issue(req)
	resp, body := c.do(http.MethodGet, "/certificates/"+rejected, nil)
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "CA validation error")
	resp, body = c.do(http.MethodPatch, "/certificates/"+rejected, atlas.RevokeRequest{RevocationReason: atlas.ReasonSuperseded})
	wantProblem(t, resp, body, http.StatusConflict, "Cannot revoke a REJECTED certificate")
	if _, ok := s.Certificate(rejected); ok {
		t.Error("a rejected request has a certificate")
	}
	if s.Issued() != 1 {
		t.Errorf("Issued = %d: an accepted request counts even if rejected later", s.Issued())
	}

	req2, _ := ecRequest(t, time.Now())
	c.retrieve(c.issue(req2))
}

func TestQuota(t *testing.T) {
	s, c := ecdsaServer(t, Options{})
	s.SetQuota(1)
	quota := func() int64 {
		resp, body := c.do(http.MethodGet, "/quotas/issuance", nil)
		wantJSON(t, resp)
		var v atlas.Counter
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		return v.Value
	}
	if q := quota(); q != 1 {
		t.Fatalf("quota = %d", q)
	}
	req, _ := ecRequest(t, time.Now())
	c.issue(req)
	if q := quota(); q != 0 {
		t.Errorf("quota after issuance = %d, want 0", q)
	}
	req2, _ := ecRequest(t, time.Now())
	resp, body := c.do(http.MethodPost, "/certificates", req2)
	wantProblem(t, resp, body, http.StatusPaymentRequired, "Quota Reached")
	if s.Issued() != 1 {
		t.Errorf("Issued = %d, want 1", s.Issued())
	}
}

func TestRevocation(t *testing.T) {
	clock := newTestClock()
	s, c := ecdsaServer(t, Options{Clock: clock})
	req, _ := ecRequest(t, clock.Now())
	serial := c.issue(req)

	resp, body := c.do(http.MethodPatch, "/certificates/"+serial, `{}`)
	eb := wantProblem(t, resp, body, http.StatusUnprocessableEntity, "revocation_reason: is required")
	if eb.Errors["revocation_reason"] == "" {
		t.Errorf("errors = %v", eb.Errors)
	}
	resp, body = c.do(http.MethodPatch, "/certificates/"+serial, atlas.RevokeRequest{RevocationReason: "stolen"})
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "revocation_reason")

	clock.Step(time.Minute)
	resp, body = c.do(http.MethodPatch, "/certificates/"+serial, atlas.RevokeRequest{RevocationReason: atlas.ReasonKeyCompromise})
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, body)
	}
	_, info := c.retrieve(serial)
	if info.Status != atlas.StatusRevoked || info.UpdatedAt != clock.Now().Unix() {
		t.Errorf("after revocation: %+v", info)
	}
	resp, body = c.do(http.MethodPatch, "/certificates/"+serial, atlas.RevokeRequest{RevocationReason: atlas.ReasonKeyCompromise})
	wantProblem(t, resp, body, http.StatusConflict, "already revoked")
	resp, body = c.do(http.MethodDelete, "/certificates/"+serial, nil)
	wantProblem(t, resp, body, http.StatusConflict, "already revoked")

	req2, _ := ecRequest(t, clock.Now())
	serial2 := c.issue(req2)
	if resp, body := c.do(http.MethodDelete, "/certificates/"+serial2, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	req3, _ := ecRequest(t, clock.Now())
	c.issue(req3)
	resp, body = c.do(http.MethodDelete, "/certificates/01FFFF", nil)
	wantProblem(t, resp, body, http.StatusNotFound, "Not found")

	for path, want := range map[string]int64{"/counters/certificates/issued": 3, "/counters/certificates/revoked": 2} {
		resp, body := c.do(http.MethodGet, path, nil)
		var v atlas.Counter
		if err := json.Unmarshal(body, &v); err != nil || resp.StatusCode != http.StatusOK || v.Value != want {
			t.Errorf("%s = %s (%d), want %d", path, body, resp.StatusCode, want)
		}
	}
	if s.CallCount(OpRevokeCertificate) != 4 || s.CallCount(OpRevokeCertificateDeprecated) != 3 {
		t.Errorf("calls = %v", s.Calls())
	}
}

func TestRekey(t *testing.T) {
	s, c := ecdsaServer(t, Options{})
	now := time.Now().Truncate(time.Second)
	req, _ := ecRequest(t, now)
	req.SubjectDN.Organization = "Example Ltd"
	serial := c.issue(req)
	old, _ := c.retrieve(serial)

	newKey := ecKey(t, elliptic.P256())
	resp, body := c.do(http.MethodPost, "/certificates/"+serial+"/rekey", atlas.RekeyRequest{PublicKey: csrPEM(t, newKey)})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("rekey: %d %s", resp.StatusCode, body)
	}
	m := locationRE.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil || m[1] == serial {
		t.Fatalf("rekey Location = %q", resp.Header.Get("Location"))
	}
	leaf, _ := c.retrieve(m[1])
	want, _ := PublicKeyFingerprint(&newKey.PublicKey)
	if got, _ := PublicKeyFingerprint(leaf.PublicKey); got != want {
		t.Error("rekeyed certificate does not carry the new key")
	}
	if leaf.Subject.String() != old.Subject.String() || !slices.Equal(leaf.DNSNames, old.DNSNames) {
		t.Errorf("rekeyed subject %v / %v differs from %v / %v", leaf.Subject, leaf.DNSNames, old.Subject, old.DNSNames)
	}
	if leaf.NotAfter.Sub(leaf.NotBefore) != old.NotAfter.Sub(old.NotBefore) {
		t.Error("rekey changed the lifetime")
	}
	if s.Issued() != 2 {
		t.Errorf("Issued = %d, want 2", s.Issued())
	}

	resp, body = c.do(http.MethodPost, "/certificates/"+serial+"/rekey", atlas.RekeyRequest{PublicKey: spkiPEM(t, &newKey.PublicKey)})
	wantProblem(t, resp, body, http.StatusUnprocessableEntity, "public_key")

	c.do(http.MethodDelete, "/certificates/"+serial, nil)
	resp, body = c.do(http.MethodPost, "/certificates/"+serial+"/rekey", atlas.RekeyRequest{PublicKey: csrPEM(t, newKey)})
	wantProblem(t, resp, body, http.StatusConflict, "not ISSUED")
	resp, body = c.do(http.MethodPost, "/certificates/01AB/rekey", atlas.RekeyRequest{PublicKey: csrPEM(t, newKey)})
	wantProblem(t, resp, body, http.StatusNotFound, "Not found")
}

func TestDuplicateCountingPerKey(t *testing.T) {
	s, c := ecdsaServer(t, Options{})
	k1, k2 := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P256())
	now := time.Now()
	c.issue(certRequest(csrPEM(t, k1), now))
	c.issue(certRequest(csrPEM(t, k2), now))
	if s.Duplicates() != 0 {
		t.Fatalf("Duplicates = %d before any repeat", s.Duplicates())
	}
	// The same key in a new CSR and as a second submission both count.
	c.issue(certRequest(csrPEM(t, k1), now))
	c.issue(certRequest(csrPEM(t, k1), now))
	fp1, _ := PublicKeyFingerprint(&k1.PublicKey)
	fp2, _ := PublicKeyFingerprint(k2.Public())
	per := s.IssuedPerKey()
	if per[fp1] != 3 || per[fp2] != 1 || len(per) != 2 {
		t.Errorf("IssuedPerKey = %v", per)
	}
	if s.Duplicates() != 2 || s.Issued() != 4 {
		t.Errorf("Duplicates = %d, Issued = %d; want 2, 4", s.Duplicates(), s.Issued())
	}
	s.Reset()
	if s.Duplicates() != 0 || s.Issued() != 0 || s.TotalCalls() != 0 || len(s.IssuedPerKey()) != 0 {
		t.Errorf("after Reset: dup %d issued %d calls %d", s.Duplicates(), s.Issued(), s.TotalCalls())
	}
}

func TestPublicKeyFingerprint(t *testing.T) {
	k := ecKey(t, elliptic.P256())
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	sum := sha256.Sum256(der)
	got, err := PublicKeyFingerprint(&k.PublicKey)
	if err != nil || got != fmt.Sprintf("%x", sum) {
		t.Errorf("fingerprint = %s, %v", got, err)
	}
	if _, err := PublicKeyFingerprint("not a key"); err == nil {
		t.Error("no error for a non-key")
	}
}

func TestConcurrentIssuance(t *testing.T) {
	s, c := ecdsaServer(t, Options{PendingPolls: 1})
	cr := s.Credentials()
	h1 := &apiClient{t: t, s: s, hc: httpClient(t, s, cr.CertPEM, cr.KeyPEM, false), token: c.token}
	const n = 200
	csrs := make([]string, n)
	for i := range csrs {
		csrs[i] = csrPEM(t, ecKey(t, elliptic.P256()))
	}
	now := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			cl := c
			if i%4 == 0 {
				cl = h1
			}
			resp, body, err := cl.try(http.MethodPost, "/certificates", certRequest(csrs[i], now))
			if err != nil || resp.StatusCode != http.StatusCreated {
				errs <- fmt.Errorf("POST %d: %w %v %s", i, err, resp, body)
				return
			}
			loc := resp.Header.Get("Location")
			for _, want := range []int{http.StatusAccepted, http.StatusOK} {
				resp, body, err := cl.try(http.MethodGet, strings.TrimPrefix(loc, "/v2"), nil)
				if err != nil || resp.StatusCode != want {
					errs <- fmt.Errorf("GET %d: %w %v %s", i, err, resp, body)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s.Issued() != n || s.Duplicates() != 0 || len(s.IssuedPerKey()) != n {
		t.Errorf("Issued %d, Duplicates %d, keys %d", s.Issued(), s.Duplicates(), len(s.IssuedPerKey()))
	}
	if s.CallCount(OpRequestCertificate) != n || s.CallCount(OpRetrieveCertificate) != 2*n {
		t.Errorf("calls = %v", s.Calls())
	}
	if s.Quota() != defaultQuota-n {
		t.Errorf("quota = %d", s.Quota())
	}
}
