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

package plugin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		dir  int
		want time.Time
	}{
		{"now", -1, now},
		{"24h", -1, now.Add(-24 * time.Hour)},
		{"7d", -1, now.AddDate(0, 0, -7)},
		{"7d", +1, now.AddDate(0, 0, 7)},
		{"+30d", -1, now.AddDate(0, 0, 30)},
		{"-90m", +1, now.Add(-90 * time.Minute)},
		{"2w", -1, now.AddDate(0, 0, -14)},
		{"1d12h", -1, now.Add(-36 * time.Hour)},
		{"2025-01-31", -1, time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)},
		{"2025-01-31T23:59:59+01:00", -1, time.Date(2025, 1, 31, 22, 59, 59, 0, time.UTC)},
	} {
		got, err := parseTime(tc.in, now, tc.dir)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q, %d) = %v, %v; want %v", tc.in, tc.dir, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "7x", "d", "-", "1.5d"} {
		if _, err := parseTime(bad, now, -1); err == nil {
			t.Errorf("parseTime(%q) accepted", bad)
		}
	}
}

func TestSplitWindow(t *testing.T) {
	for _, tc := range []struct {
		from, to, size int64
		want           [][2]int64
	}{
		{0, 5, 10, [][2]int64{{0, 5}}},
		{0, 9, 10, [][2]int64{{0, 9}}},
		{0, 10, 10, [][2]int64{{0, 9}, {10, 10}}},
		{0, 25, 10, [][2]int64{{0, 9}, {10, 19}, {20, 25}}},
		{7, 7, 10, [][2]int64{{7, 7}}},
	} {
		got := splitWindow(tc.from, tc.to, tc.size)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("splitWindow(%d, %d, %d) = %v; want %v", tc.from, tc.to, tc.size, got, tc.want)
		}
	}
}

// pagedStats serves n rows in pages; ignorePage makes it answer page 1
// whatever is asked, as a broken server might.
func pagedStats(n int, ignorePage bool, calls *int) statsFunc {
	return func(_ context.Context, q atlas.StatsQuery) (*atlas.StatsPage, error) {
		*calls++
		page := q.Page
		if ignorePage {
			page = 1
		}
		p := &atlas.StatsPage{TotalCount: n}
		for i := (page - 1) * q.PerPage; i < n && i < page*q.PerPage; i++ {
			p.Certificates = append(p.Certificates, atlas.CertificateMeta{SerialNumber: fmt.Sprintf("%02X", i)})
		}
		p.Next = page*q.PerPage < n
		return p, nil
	}
}

func TestStatsListerFetchesEveryPage(t *testing.T) {
	now := time.Now()
	var calls int
	var progress strings.Builder
	l := &statsLister{kind: "issued", fetch: pagedStats(7, false, &calls), perPage: 3, progress: &progress}
	rows, err := l.list(context.Background(), now.Add(-time.Hour), now)
	if err != nil || len(rows) != 7 || calls != 3 {
		t.Fatalf("list = %d rows in %d calls, %v; want 7 in 3", len(rows), calls, err)
	}
	if !strings.Contains(progress.String(), "fetched 7 of 7") {
		t.Errorf("progress = %q", progress.String())
	}

	calls = 0
	progress.Reset()
	l.fetch = pagedStats(2, false, &calls)
	if rows, _ := l.list(context.Background(), now.Add(-time.Hour), now); len(rows) != 2 || progress.Len() != 0 {
		t.Errorf("one page: %d rows, progress %q; want 2 rows and silence", len(rows), progress.String())
	}

	calls = 0
	l.fetch = pagedStats(7, true, &calls)
	rows, err = l.list(context.Background(), now.Add(-time.Hour), now)
	if err != nil || len(rows) != 3 || calls > 5 {
		t.Errorf("server ignoring page: %d rows in %d calls, %v; want the 3 distinct rows and an end", len(rows), calls, err)
	}
}

func TestParseReason(t *testing.T) {
	for in, want := range map[string]atlas.RevocationReason{
		"unspecified": atlas.ReasonUnspecified, "KEYCOMPROMISE": atlas.ReasonKeyCompromise, "superseded": atlas.ReasonSuperseded,
	} {
		if got, err := parseReason(in); err != nil || got != want {
			t.Errorf("parseReason(%q) = %q, %v", in, got, err)
		}
	}
	_, err := parseReason("tired")
	if err == nil || !strings.Contains(err.Error(), "cessationOfOperation") {
		t.Errorf("parseReason(tired) = %v; want the list of reasons", err)
	}
}

func TestSerialHexKeepsLeadingZeroDigit(t *testing.T) {
	n, _ := new(big.Int).SetString("013E636AA765B7A2DF590B794E99443A", 16)
	if got := serialHex(&x509.Certificate{SerialNumber: n}); got != "013E636AA765B7A2DF590B794E99443A" {
		t.Errorf("serialHex = %s", got)
	}
}

func TestPublicKeyFileForPolicy(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	csrFile := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})
	pubFile := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})

	pkcs10 := fake.DefaultECDSAPolicy()
	pkcs8 := fake.DefaultECDSAPolicy()
	pkcs8.PublicKey.KeyFormat = atlas.KeyFormatPKCS8
	signed := fake.DefaultECDSAPolicy()
	signed.PublicKey.KeyFormat = atlas.KeyFormatPKCS8
	signed.PublicKeySignature = atlas.PresenceRequired

	fromCSR, err := readPublicKeyFile(csrFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fromCSR.forPolicy(pkcs10); err != nil || !strings.Contains(got, "CERTIFICATE REQUEST") {
		t.Errorf("CSR for PKCS10: %q, %v", got, err)
	}
	if got, err := fromCSR.forPolicy(pkcs8); err != nil || got != string(pubFile) {
		t.Errorf("CSR for PKCS8: %q, %v; want the bare public key", got, err)
	}
	if _, err := fromCSR.forPolicy(signed); err == nil {
		t.Error("an account that needs a public_key_signature was served")
	}
	fromPub, err := readPublicKeyFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fromPub.forPolicy(pkcs10); err == nil || !strings.Contains(err.Error(), "takes a CSR") {
		t.Errorf("public key for PKCS10: %v", err)
	}
	if got, err := fromPub.forPolicy(pkcs8); err != nil || got != string(pubFile) {
		t.Errorf("public key for PKCS8: %q, %v", got, err)
	}

	tampered := append([]byte(nil), csrDER...)
	tampered[len(tampered)-3] ^= 0xff
	if _, err := readPublicKeyFile(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered})); err == nil {
		t.Error("a CSR with a broken signature was accepted")
	}
	if _, err := readPublicKeyFile([]byte("not pem")); err == nil {
		t.Error("a file without PEM was accepted")
	}
}

func TestPolicyRowsDescribeEverySection(t *testing.T) {
	p := fake.DefaultPolicy()
	p.SubjectDN.CommonName = &atlas.StringPolicy{Presence: atlas.PresenceRequired, Format: `^[a-z.]+$`}
	p.SubjectDN.Country = &atlas.StringPolicy{Presence: atlas.PresenceStatic, Format: "BE"}
	p.SAN.DNSNames = &atlas.ListPolicy{List: []string{".example.com"}, MinCount: 1, MaxCount: 5}
	p.SAN.URIs = &atlas.ListPolicy{}
	p.Signature = &atlas.SignaturePolicy{HashAlgorithm: &atlas.ListPresencePolicy{Presence: atlas.PresenceRequired, List: []string{"SHA-256", "SHA-384"}}}
	p.Validity.IssuerExpiry = 1735732800
	p.SubjectDA = &atlas.SubjectDAPolicy{}

	var b strings.Builder
	for _, r := range policyRows(p) {
		b.WriteString(r[0] + " = " + r[1] + "\n")
	}
	got := b.String()
	for _, want := range []string{
		"summary = PKCS10, RSA 2048/3072/4096",
		"public_key = RSA 2048/3072/4096, PKCS10 (send a CSR)",
		"validity = lifetime 1h to 397d",
		"validity.issuer_expiry = 2025-01-01T12:00:00Z",
		"subject_dn.common_name = required, matching ^[a-z.]+$",
		`subject_dn.country = static "BE"`,
		"san.dns_names = 1 to 5, ending in .example.com",
		"san.uris = forbidden",
		"signature.hash_algorithm = required: SHA-256, SHA-384",
		"subject_da = present (see -o yaml)",
		"key_usages = optional: digital_signature key_encipherment; never:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("policy rows lack %q:\n%s", want, got)
		}
	}
}

func TestExplain(t *testing.T) {
	s := &session{issuer: "AtlasIssuer web/atlas", url: "https://atlas.example/v2"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&atlas.Error{Operation: "Quota", StatusCode: 401, Description: "Unauthorized"},
			"Atlas refused the API key and secret of AtlasIssuer web/atlas (401 Unauthorized)"},
		{fmt.Errorf("revoke certificate X: %w", &atlas.Error{Operation: "RevokeCertificate", StatusCode: 409, Description: "Cannot revoke a REJECTED certificate"}),
			"revoking X: Atlas answered 409 Conflict: Cannot revoke a REJECTED certificate"},
		{&atlas.Error{StatusCode: 422, Description: "Validation error message", Errors: map[string]string{"gsb": "flagged", "blacklist": "denied"}},
			"revoking X: Atlas answered 422 Unprocessable Entity: Validation error message (blacklist: denied; gsb: flagged)"},
		{&atlas.Error{StatusCode: 503, Description: "Service busy, please retry later", ID: "0vqe8"},
			"[Atlas incident 0vqe8]"},
		{errors.New("Post \"https://atlas.example/v2/login\": remote error: tls: bad certificate"),
			"Atlas refused the mTLS client certificate of AtlasIssuer web/atlas"},
		{x509.UnknownAuthorityError{}, "is not trusted"},
		{io.ErrUnexpectedEOF, "revoking X: cannot reach Atlas at https://atlas.example/v2"},
	} {
		got := s.explain("revoking X", tc.err).Error()
		if !strings.Contains(got, tc.want) {
			t.Errorf("explain(%v) = %q; want it to contain %q", tc.err, got, tc.want)
		}
	}
}

func TestRevokedAfterAll(t *testing.T) {
	srv, err := fake.Start(fake.Options{Policy: fake.DefaultECDSAPolicy()})
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
	issue := func() string {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
		serial, err := cl.RequestCertificate(ctx, &atlas.CertificateRequest{
			Validity:  atlas.Validity{NotBefore: time.Now().Unix()},
			SubjectDN: atlas.SubjectDN{CommonName: "retry.example.com"},
			PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})),
		})
		if err != nil {
			t.Fatal(err)
		}
		return serial
	}
	s := &session{atlas: cl}
	conflict := &atlas.Error{StatusCode: 409, Description: "Certificate already revoked"}

	revoked := issue()
	if err := cl.RevokeCertificate(ctx, revoked, atlas.RevokeRequest{RevocationReason: atlas.ReasonUnspecified}); err != nil {
		t.Fatal(err)
	}
	if !s.revokedAfterAll(ctx, revoked, conflict) {
		t.Error("a 409 on a certificate that is now REVOKED was reported as a failure")
	}
	if s.revokedAfterAll(ctx, revoked, &atlas.Error{StatusCode: 500}) {
		t.Error("a 500 was taken for success")
	}
	if s.revokedAfterAll(ctx, issue(), conflict) {
		t.Error("a 409 on a certificate still ISSUED was taken for success")
	}
}
