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

package atlas_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// TestEveryOperationAgainstTheFake drives each of the 24 operations through
// the real client against the fake server, success and error shapes, and
// checks that the fake counted each operation under the client's name.
func TestEveryOperationAgainstTheFake(t *testing.T) {
	srv, err := fake.Start(fake.Options{Quota: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg, err := srv.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := atlas.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	must("login", cl.Login(ctx))

	policy, err := cl.ValidationPolicy(ctx)
	must("validation policy", err)
	if policy.KeyFormat() != atlas.KeyFormatPKCS10 {
		t.Errorf("key format = %s", policy.KeyFormat())
	}
	chain, err := cl.TrustChain(ctx)
	must("trust chain", err)
	if len(chain) != 2 {
		t.Errorf("trust chain has %d elements, want intermediate and root", len(chain))
	}
	quota, err := cl.Quota(ctx)
	must("quota", err)
	if quota != 10 {
		t.Errorf("quota = %d", quota)
	}

	csrPEM := func(cn string) string {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
		must("csr", err)
		return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
	}
	srv.SetPolicy(fake.DefaultECDSAPolicy())
	now := time.Now().Unix()
	req := &atlas.CertificateRequest{
		Validity:  atlas.Validity{NotBefore: now, NotAfter: now + 86400},
		SubjectDN: atlas.SubjectDN{CommonName: "a.example.com"},
		SAN:       &atlas.SAN{DNSNames: []string{"a.example.com"}},
		PublicKey: csrPEM("a.example.com"),
	}
	serial, err := cl.RequestCertificate(ctx, req)
	must("request certificate", err)
	if !strings.HasPrefix(serial, "01") || len(serial) != 32 {
		t.Errorf("serial %q: want 16 bytes of hex starting 01, kept as given", serial)
	}
	info, err := cl.RetrieveCertificate(ctx, serial)
	must("retrieve certificate", err)
	if info.Status != atlas.StatusIssued || !strings.Contains(info.Certificate, "BEGIN CERTIFICATE") {
		t.Errorf("retrieve: %+v", info)
	}

	// Error shapes: a policy violation is a permanent 422 naming the field.
	bad := *req
	bad.SAN = &atlas.SAN{Emails: []string{"x@y"}, DNSNames: []string{strings.Repeat("a.", 200) + "com"}}
	bad.Validity.NotAfter = now + 10
	_, err = cl.RequestCertificate(ctx, &bad)
	var aerr *atlas.Error
	if !errors.As(err, &aerr) || aerr.StatusCode != 422 || !atlas.IsPermanent(err) || !strings.Contains(err.Error(), "validity") {
		t.Errorf("policy violation: %v", err)
	}
	if _, err := cl.RetrieveCertificate(ctx, "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"); !atlas.IsNotFound(err) {
		t.Errorf("unknown serial: %v", err)
	}

	rekeyed, err := cl.RekeyCertificate(ctx, serial, atlas.RekeyRequest{PublicKey: csrPEM("a.example.com")})
	must("rekey", err)
	if rekeyed == serial || rekeyed == "" {
		t.Errorf("rekey serial %q", rekeyed)
	}
	must("revoke", cl.RevokeCertificate(ctx, serial, atlas.RevokeRequest{RevocationReason: atlas.ReasonSuperseded}))
	if err := cl.RevokeCertificate(ctx, serial, atlas.RevokeRequest{RevocationReason: atlas.ReasonSuperseded}); atlas.StatusCode(err) != 409 {
		t.Errorf("revoking twice: %v, want 409", err)
	}
	info, err = cl.RetrieveCertificate(ctx, serial)
	must("retrieve revoked", err)
	if info.Status != atlas.StatusRevoked {
		t.Errorf("status after revoke = %s", info.Status)
	}
	_, err = cl.RetrieveCertificate(ctx, rekeyed)
	must("retrieve rekeyed", err)
	must("revoke (deprecated DELETE)", cl.RevokeCertificateDeprecated(ctx, rekeyed))

	issued, err := cl.CountIssued(ctx)
	must("count issued", err)
	revoked, err := cl.CountRevoked(ctx)
	must("count revoked", err)
	if issued != 2 || revoked != 2 {
		t.Errorf("counters issued=%d revoked=%d, want 2 and 2", issued, revoked)
	}
	page, err := cl.StatsIssued(ctx, atlas.StatsQuery{PerPage: 1, From: now - 60, To: now + 60})
	must("stats issued", err)
	if page.TotalCount != 2 || len(page.Certificates) != 1 || !page.Next {
		t.Errorf("stats issued page 1: %+v", page)
	}
	page, err = cl.StatsRevoked(ctx, atlas.StatsQuery{From: now - 60, To: now + 60})
	must("stats revoked", err)
	if page.TotalCount != 2 {
		t.Errorf("stats revoked: %+v", page)
	}
	_, err = cl.StatsExpiring(ctx, atlas.StatsQuery{From: now, To: now + 2*86400})
	must("stats expiring", err)

	claim, err := cl.SubmitClaim(ctx, "example.com")
	must("submit claim", err)
	if len(claim.ID) != 32 || claim.Token == "" {
		t.Errorf("claim: %+v", claim)
	}
	adns, err := cl.ClaimDNSDomains(ctx, claim.ID)
	must("claim dns domains", err)
	if len(adns) == 0 {
		t.Error("no ADNs")
	}
	emails, err := cl.ClaimEmails(ctx, claim.ID)
	must("claim emails", err)
	if len(emails.Constructed) == 0 {
		t.Error("no constructed emails")
	}
	v, err := cl.VerifyClaimDNS(ctx, claim.ID, "")
	must("verify dns", err)
	if v != atlas.VerificationScheduled {
		t.Errorf("first dns verify = %s", v)
	}
	v, err = cl.VerifyClaimHTTP(ctx, claim.ID, atlas.HTTPVerifyRequest{Scheme: "https"})
	must("verify http", err)
	if v != atlas.VerificationVerified {
		t.Errorf("second verify = %s", v)
	}
	got, err := cl.RetrieveClaim(ctx, claim.ID)
	must("retrieve claim", err)
	if got.Status != atlas.ClaimVerified || got.Domain != "example.com." {
		t.Errorf("claim after verify: %+v", got)
	}
	other, err := cl.SubmitClaim(ctx, "example.org")
	must("submit second claim", err)
	otherEmails, err := cl.ClaimEmails(ctx, other.ID)
	must("claim emails of the second claim", err)
	_, err = cl.VerifyClaimEmail(ctx, other.ID, otherEmails.Constructed[0])
	must("verify email", err)
	re, err := cl.ReassertClaim(ctx, other.ID)
	must("reassert", err)
	if re.Token == "" || re.Token == other.Token {
		t.Errorf("reassert token %q", re.Token)
	}
	list, err := cl.ListClaims(ctx, atlas.ClaimsQuery{Status: atlas.ClaimVerified})
	must("list claims", err)
	if list.TotalCount != 1 || len(list.Claims) != 1 {
		t.Errorf("verified claims: %+v", list)
	}
	must("delete claim", cl.DeleteClaim(ctx, other.ID))
	if _, err := cl.RetrieveClaim(ctx, other.ID); !atlas.IsNotFound(err) {
		t.Errorf("deleted claim: %v", err)
	}

	srv.SetQuota(0)
	if _, err := cl.RequestCertificate(ctx, req); !atlas.IsQuota(err) {
		t.Errorf("spent quota: %v, want 402", err)
	}

	var missing []string
	for _, op := range []string{
		fake.OpLogin, fake.OpRequestCertificate, fake.OpRetrieveCertificate, fake.OpRevokeCertificate,
		fake.OpRevokeCertificateDeprecated, fake.OpRekeyCertificate, fake.OpTrustChain, fake.OpValidationPolicy,
		fake.OpCountIssued, fake.OpCountRevoked, fake.OpQuota, fake.OpStatsIssued, fake.OpStatsRevoked,
		fake.OpStatsExpiring, fake.OpListClaims, fake.OpSubmitClaim, fake.OpRetrieveClaim, fake.OpDeleteClaim,
		fake.OpClaimDNSDomains, fake.OpVerifyClaimDNS, fake.OpVerifyClaimHTTP, fake.OpClaimEmails,
		fake.OpVerifyClaimEmail, fake.OpReassertClaim,
	} {
		if srv.CallCount(op) == 0 {
			missing = append(missing, op)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations the fake never saw: %v", missing)
	}
	if n := len(srv.Calls()); n != 24 {
		t.Errorf("the fake counted %d distinct operations, want 24: %v", n, srv.Calls())
	}
}
