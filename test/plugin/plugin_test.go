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

package plugin_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/plugin"
)

func TestHelpNamesEveryOperation(t *testing.T) {
	var help strings.Builder
	for _, args := range [][]string{{"--help"}, {"stats", "--help"}, {"certificate", "--help"}, {"claims", "--help"}} {
		r := run(t, "", args...)
		if r.err != nil {
			t.Fatalf("%v: %v", args, r.err)
		}
		help.WriteString(r.out)
	}
	mustContain(t, "help", help.String(), "quota", "counters", "stats", "issued", "revoked", "expiring",
		"trustchain", "policy", "revoke", "rekey", "claims", "list", "delete", "dns", "http", "email", "reassert", "version", "migrate")

	// migrate --help describes the migration before anyone runs it.
	r := run(t, "", "migrate", "--help")
	if r.err != nil {
		t.Fatalf("migrate --help: %v", r.err)
	}
	mustContain(t, "migrate --help", r.out, "hvca.globalsign.com", "AtlasIssuer", "AtlasClusterIssuer", "issuerRef",
		"cert-manager.io/issuer-kind", "--apply", "never deleted", "re-issues", "--from-cluster-resource-namespace")

	// Every command a user can run documents itself with an example.
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Example == "" {
			t.Errorf("%q has no example", c.CommandPath())
		}
		if c.Short == "" {
			t.Errorf("%q has no short help", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			if sub.Name() != "help" {
				walk(sub)
			}
		}
	}
	walk(plugin.NewCommand(genericiooptions.IOStreams{}))
}

func TestQuotaAndCounters(t *testing.T) {
	r := ok(t, "quota")
	mustContain(t, "quota table", r.out, "QUOTA")
	var q struct{ Quota int64 }
	if err := json.Unmarshal([]byte(ok(t, "quota", "-o", "json").out), &q); err != nil {
		t.Fatal(err)
	}
	if want := atlasSrv.Quota(); q.Quota != want || !strings.Contains(r.out, itoa(want)) {
		t.Errorf("quota: json %d, table %q; the fake has %d", q.Quota, r.out, want)
	}

	c := issue(t, "counted.example.com")
	if err := direct.RevokeCertificate(context.Background(), c.serial, atlas.RevokeRequest{RevocationReason: atlas.ReasonSuperseded}); err != nil {
		t.Fatal(err)
	}
	issuedN, _ := direct.CountIssued(context.Background())
	revokedN, _ := direct.CountRevoked(context.Background())
	r = ok(t, "counters")
	mustContain(t, "counters table", r.out, "ISSUED", "REVOKED", itoa(issuedN), itoa(revokedN))
	var counts struct{ Issued, Revoked int64 }
	if err := yaml.Unmarshal([]byte(ok(t, "counters", "-o", "yaml").out), &counts); err != nil {
		t.Fatal(err)
	}
	if counts.Issued != issuedN || counts.Revoked != revokedN || revokedN < 1 {
		t.Errorf("counters -o yaml = %+v; the fake counts issued %d revoked %d", counts, issuedN, revokedN)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestStatsFetchesEveryPage(t *testing.T) {
	var serials []string
	for _, cn := range []string{"s1.example.com", "s2.example.com", "s3.example.com", "s4.example.com", "s5.example.com"} {
		serials = append(serials, issue(t, cn).serial)
	}

	r := ok(t, "stats", "issued", "--page-size", "2")
	mustContain(t, "stats issued table", r.out, append([]string{"SERIAL", "NOT AFTER"}, serials...)...)
	mustContain(t, "stats issued progress", r.errOut, "stats issued: fetched")

	var rows []atlas.CertificateMeta
	if err := json.Unmarshal([]byte(ok(t, "stats", "issued", "--from", "1h", "-o", "json").out), &rows); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range rows {
		got[m.SerialNumber] = true
	}
	for _, s := range serials {
		if !got[s] {
			t.Errorf("stats issued -o json lacks %s", s)
		}
	}

	if err := direct.RevokeCertificate(context.Background(), serials[0], atlas.RevokeRequest{RevocationReason: atlas.ReasonUnspecified}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "stats revoked", ok(t, "stats", "revoked", "--from", "7d").out, serials[0])
	// The seeded certificates expire in 90 days: outside the default next
	// 24 hours, inside a window reaching 91 days ahead.
	if out := ok(t, "stats", "expiring").out; strings.Contains(out, serials[1]) {
		t.Errorf("stats expiring (next 24h) lists a certificate expiring in 90 days:\n%s", out)
	}
	r = ok(t, "stats", "expiring", "--to", "91d")
	mustContain(t, "stats expiring --to 91d", r.out, serials[1], serials[4])
	if strings.Contains(r.out, serials[0]) {
		t.Errorf("stats expiring lists the revoked %s", serials[0])
	}
	// 91 days are cut into windows Atlas accepts.
	mustContain(t, "stats expiring progress", r.errOut, "window 1 of 4")

	r = run(t, "", "stats", "issued", "--from", "yesterday", "--issuer", issuer, "-n", ns)
	if r.err == nil || !strings.Contains(r.err.Error(), `"yesterday" is not a time`) {
		t.Errorf("bad --from: %v", r.err)
	}
}

func TestTrustChain(t *testing.T) {
	inter, root := parseCert(t, atlasSrv.IntermediatePEM()), parseCert(t, atlasSrv.RootPEM())
	r := ok(t, "trustchain")
	mustContain(t, "trustchain table", r.out, "SUBJECT", "ISSUER", inter.Subject.String(), root.Subject.String())

	pemOut := ok(t, "trustchain", "-o", "pem").out
	var blocks []*x509.Certificate
	for rest := []byte(pemOut); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, parseCert(t, pem.EncodeToMemory(b)))
	}
	if len(blocks) != 2 || !blocks[0].Equal(inter) || !blocks[1].Equal(root) {
		t.Errorf("trustchain -o pem: want the intermediate then the root, got %d certificates", len(blocks))
	}

	var chain []map[string]string
	if err := json.Unmarshal([]byte(ok(t, "trustchain", "-o", "json").out), &chain); err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || chain[1]["subject"] != root.Subject.String() || chain[0]["not_after"] == "" {
		t.Errorf("trustchain -o json = %v", chain)
	}

	r = run(t, "", "quota", "-o", "pem", "--issuer", issuer, "-n", ns)
	if r.err == nil || !strings.Contains(r.err.Error(), "unsupported output format") {
		t.Errorf("quota -o pem: %v", r.err)
	}
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("no PEM in %q", data)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPolicy(t *testing.T) {
	r := ok(t, "policy")
	mustContain(t, "policy table", r.out, "FIELD", "RULE", "public_key", "RSA 2048/3072/4096", "PKCS10",
		"validity", "lifetime 1h to 397d", "san.dns_names", "0 to 100", "key_usages", "optional: digital_signature key_encipherment")

	for _, format := range []string{"json", "yaml"} {
		var p atlas.ValidationPolicy
		if err := yaml.Unmarshal([]byte(ok(t, "policy", "-o", format).out), &p); err != nil {
			t.Fatalf("policy -o %s: %v", format, err)
		}
		want := fake.DefaultPolicy()
		if p.KeyFormat() != want.KeyFormat() || p.Validity == nil || p.Validity.SecondsMax != want.Validity.SecondsMax ||
			p.SAN == nil || p.SAN.DNSNames.MaxCount != want.SAN.DNSNames.MaxCount || len(p.KeyUsages) != len(want.KeyUsages) {
			t.Errorf("policy -o %s is not the fake's policy: %+v", format, p)
		}
	}
}

func TestCertificateGet(t *testing.T) {
	c := issue(t, "get.example.com")
	r := ok(t, "certificate", "get", c.serial)
	mustContain(t, "certificate get", r.out, c.serial, "ISSUED", "CN=get.example.com", "get.example.com", "Not after")

	var v map[string]any
	if err := json.Unmarshal([]byte(ok(t, "cert", "get", c.serial, "-o", "json").out), &v); err != nil {
		t.Fatal(err)
	}
	if v["status"] != "ISSUED" || v["subject"] != "CN=get.example.com" || !strings.Contains(v["certificate"].(string), "BEGIN CERTIFICATE") {
		t.Errorf("certificate get -o json = %v", v)
	}
	if got := parseCert(t, []byte(ok(t, "certificate", "get", c.serial, "-o", "pem").out)); !got.Equal(parseCert(t, c.certPEM)) {
		t.Error("certificate get -o pem is not the issued certificate")
	}

	r = run(t, "", "certificate", "get", "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "--issuer", issuer, "-n", ns)
	if r.err == nil || !strings.Contains(r.err.Error(), "certificate 01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF not found in the Atlas account of AtlasIssuer team-a/atlas") {
		t.Errorf("unknown serial: %v", r.err)
	}
}

func TestRevoke(t *testing.T) {
	c := issue(t, "revoke.example.com")
	args := []string{"certificate", "revoke", c.serial, "--issuer", issuer, "-n", ns}

	// "n" keeps the certificate, after showing what would have gone.
	r := run(t, "n\n", args...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	mustContain(t, "revoke prompt", r.errOut, c.serial, "CN=revoke.example.com", "Reason:", "unspecified", "[y/N]", "was not revoked")
	if s := status(t, c.serial); s != atlas.StatusIssued {
		t.Fatalf("after answering n the fake says %s", s)
	}

	// No answer at all (stdin at EOF, as in CI) refuses.
	r = run(t, "", args...)
	if r.err == nil || !strings.Contains(r.err.Error(), "--yes") {
		t.Errorf("revoke without an answer: %v", r.err)
	}
	if s := status(t, c.serial); s != atlas.StatusIssued {
		t.Fatalf("after no answer the fake says %s", s)
	}

	// An unknown reason is refused before anything is asked.
	r = run(t, "y\n", append(args, "--reason", "tired")...)
	if r.err == nil || !strings.Contains(r.err.Error(), "keyCompromise") || strings.Contains(r.errOut, "[y/N]") {
		t.Errorf("revoke --reason tired: %v\n%s", r.err, r.errOut)
	}

	r = run(t, "", append(args, "--yes", "--reason", "superseded", "-o", "json")...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	var res map[string]string
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || res["status"] != "REVOKED" || res["reason"] != "superseded" {
		t.Errorf("revoke -o json = %q (%v)", r.out, err)
	}
	if s := status(t, c.serial); s != atlas.StatusRevoked {
		t.Fatalf("after revoke --yes the fake says %s", s)
	}

	r = run(t, "", append(args, "--yes")...)
	if r.err == nil || !strings.Contains(r.err.Error(), "already revoked") {
		t.Errorf("second revoke: %v", r.err)
	}
}

func TestRevokeFromSecret(t *testing.T) {
	c := issue(t, "secret.example.com")
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "secret-example-tls"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: c.certPEM, corev1.TLSPrivateKeyKey: c.keyPEM},
	}
	if err := kube.Create(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	r := run(t, "yes\n", "certificate", "revoke", "--secret", sec.Name, "--reason", "KEYCOMPROMISE", "--issuer", issuer, "-n", ns)
	if r.err != nil {
		t.Fatal(r.err)
	}
	// The serial from tls.crt is Atlas's, leading zero digit included.
	mustContain(t, "revoke --secret", r.errOut, c.serial, "keyCompromise")
	mustContain(t, "revoke --secret", r.out, "certificate "+c.serial+" revoked")
	if s := status(t, c.serial); s != atlas.StatusRevoked {
		t.Fatalf("after revoke --secret the fake says %s", s)
	}

	// A certificate from elsewhere is named as such.
	other := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other-ca-tls"},
		Data:       map[string][]byte{corev1.TLSCertKey: atlasSrv.RootPEM()},
	}
	if err := kube.Create(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	r = run(t, "y\n", "certificate", "revoke", "--secret", other.Name, "--issuer", issuer, "-n", ns)
	if r.err == nil || !strings.Contains(r.err.Error(), "not found in the Atlas account") || !strings.Contains(r.err.Error(), "was it issued by another issuer?") {
		t.Errorf("revoke --secret of a foreign certificate: %v", r.err)
	}
	r = run(t, "", "certificate", "revoke", "--secret", "absent", "--issuer", issuer, "-n", ns)
	if r.err == nil || !strings.Contains(r.err.Error(), "secret absent not found in namespace team-a") {
		t.Errorf("revoke --secret absent: %v", r.err)
	}

	r = run(t, "", "certificate", "revoke", c.serial, "--secret", sec.Name, "--issuer", issuer, "-n", ns)
	if r.err == nil || !strings.Contains(r.err.Error(), "either a SERIAL or --secret NAME") {
		t.Errorf("serial and --secret: %v", r.err)
	}
}

// newKeyCSR writes a CSR for a new RSA key into dir and returns the key
// and the file.
func newKeyCSR(t *testing.T, dir, cn string) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrFile := filepath.Join(dir, "new.csr")
	if err := os.WriteFile(csrFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}), 0o600); err != nil {
		t.Fatal(err)
	}
	return key, csrFile
}

func TestRekey(t *testing.T) {
	c := issue(t, "rekey.example.com")
	dir := t.TempDir()
	key, csrFile := newKeyCSR(t, dir, "rekey.example.com")

	var res map[string]string
	if err := json.Unmarshal([]byte(ok(t, "certificate", "rekey", c.serial, "--csr", csrFile, "-o", "json").out), &res); err != nil {
		t.Fatal(err)
	}
	newSerial := res["new_serial"]
	got, found := atlasSrv.Certificate(newSerial)
	if res["serial"] != c.serial || !found {
		t.Fatalf("rekey -o json = %v; fake has new serial: %v", res, found)
	}
	if !key.PublicKey.Equal(got.PublicKey) || !strings.Contains(got.Subject.CommonName, "rekey.example.com") {
		t.Errorf("the rekeyed certificate has subject %s and another key", got.Subject)
	}

	// A PKCS10 account needs the CSR, not a bare public key.
	spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubFile := filepath.Join(dir, "new.pub")
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, "", "certificate", "rekey", c.serial, "--csr", pubFile, "--issuer", issuer, "-n", ns)
	if r.err == nil || !strings.Contains(r.err.Error(), "takes a CSR") {
		t.Errorf("rekey with a public key on a PKCS10 account: %v", r.err)
	}
}

// TestRekeySendsRequiredSignature: an account whose policy requires a hash
// algorithm refuses a rekey without one, as it refuses such an issuance.
func TestRekeySendsRequiredSignature(t *testing.T) {
	c := issue(t, "rekey-hash.example.com")
	p := fake.DefaultPolicy()
	p.Signature = &atlas.SignaturePolicy{
		HashAlgorithm: &atlas.ListPresencePolicy{Presence: atlas.PresenceRequired, List: []string{"SHA-384", "SHA-256"}},
	}
	atlasSrv.SetPolicy(p)
	t.Cleanup(func() { atlasSrv.SetPolicy(fake.DefaultPolicy()) })

	key, csrFile := newKeyCSR(t, t.TempDir(), "rekey-hash.example.com")
	var res map[string]string
	if err := json.Unmarshal([]byte(ok(t, "certificate", "rekey", c.serial, "--csr", csrFile, "-o", "json").out), &res); err != nil {
		t.Fatal(err)
	}
	if got, found := atlasSrv.Certificate(res["new_serial"]); !found || !key.PublicKey.Equal(got.PublicKey) {
		t.Fatalf("rekey -o json = %v; the fake has no certificate for the new key", res)
	}
}

func TestClaimsFlow(t *testing.T) {
	var sub struct {
		ID, Domain, Token string
	}
	if err := json.Unmarshal([]byte(ok(t, "claims", "submit", "example.com", "-o", "json").out), &sub); err != nil {
		t.Fatal(err)
	}
	if sub.ID == "" || !strings.HasPrefix(sub.Token, "globalsign-domain-verification=") {
		t.Fatalf("claims submit -o json = %+v", sub)
	}
	mustContain(t, "claims list", ok(t, "claims", "list").out, "ID", "DOMAIN", sub.ID, "example.com.", "PENDING")
	mustContain(t, "claims dns", ok(t, "claims", "dns", sub.ID).out, "AUTHORIZATION DOMAIN", "example.com")

	mustContain(t, "first verify-dns", ok(t, "claims", "verify-dns", sub.ID).out, "DNS verification scheduled")
	mustContain(t, "second verify-dns", ok(t, "claims", "verify-dns", sub.ID, "--authorization-domain", "example.com").out, "is VERIFIED")
	mustContain(t, "claims get", ok(t, "claims", "get", sub.ID).out, "Status:", "VERIFIED", sub.Token, "DNS verification succeeded")
	var got atlas.Claim
	if err := yaml.Unmarshal([]byte(ok(t, "claims", "get", sub.ID, "-o", "yaml").out), &got); err != nil || got.Status != atlas.ClaimVerified {
		t.Errorf("claims get -o yaml: %+v, %v", got, err)
	}
	mustContain(t, "claims list --status VERIFIED", ok(t, "claims", "list", "--status", "verified").out, sub.ID)

	// Email and HTTP on a second claim.
	r := ok(t, "claims", "submit", "shop.example.org")
	mustContain(t, "claims submit table", r.out, "TOKEN", "shop.example.org")
	id := strings.Fields(strings.Split(r.out, "\n")[1])[0]
	mustContain(t, "claims email", ok(t, "claims", "email", id).out, "admin@shop.example.org", "hostmaster@example.org", "SOA")
	mustContain(t, "verify-email", ok(t, "claims", "verify-email", id, "--email", "admin@shop.example.org").out, "email verification scheduled")
	var v map[string]string
	if err := json.Unmarshal([]byte(ok(t, "claims", "verify-http", id, "--scheme", "http", "-o", "json").out), &v); err != nil || v["result"] != string(atlas.VerificationVerified) {
		t.Errorf("verify-http -o json = %v, %v", v, err)
	}
	r = ok(t, "claims", "reassert", id)
	mustContain(t, "claims reassert", r.out, id, "globalsign-domain-verification=")

	mustContain(t, "claims delete", ok(t, "claims", "delete", id).out, "claim "+id+" deleted")
	if strings.Contains(ok(t, "claims", "list").out, id) {
		t.Errorf("claims list still shows deleted claim %s", id)
	}
	r = run(t, "", "claims", "get", id, "--issuer", issuer, "-n", ns)
	if r.err == nil || !strings.Contains(r.err.Error(), "claim "+id+" not found") {
		t.Errorf("claims get of a deleted claim: %v", r.err)
	}
	r = run(t, "", "claims", "verify-email", sub.ID, "--issuer", issuer, "-n", ns)
	if r.err == nil || !strings.Contains(r.err.Error(), "--email ADDR is required") {
		t.Errorf("verify-email without --email: %v", r.err)
	}
}

func TestClaimExpiredThenReassert(t *testing.T) {
	var sub struct{ ID, Token string }
	if err := json.Unmarshal([]byte(ok(t, "claims", "submit", "late.example.com", "-o", "json").out), &sub); err != nil {
		t.Fatal(err)
	}
	clockOffset.Store(int64(31 * 24 * time.Hour))
	defer clockOffset.Store(0)

	r := run(t, "", "claims", "verify-dns", sub.ID, "--issuer", issuer, "-n", ns)
	want := "verifying claim " + sub.ID + ": Atlas answered 424 Failed Dependency: Claim expired. Reassert first"
	if r.err == nil || r.err.Error() != want {
		t.Fatalf("verify-dns after assert_by: %v; want %q", r.err, want)
	}
	var re struct{ ID, Token string }
	if err := json.Unmarshal([]byte(ok(t, "claims", "reassert", sub.ID, "-o", "json").out), &re); err != nil {
		t.Fatal(err)
	}
	if re.ID != sub.ID || re.Token == "" || re.Token == sub.Token {
		t.Errorf("reassert gave %+v; want a new token for %s", re, sub.ID)
	}
	mustContain(t, "verify-dns after reassert", ok(t, "claims", "verify-dns", sub.ID).out, "scheduled")
}

func TestClusterIssuer(t *testing.T) {
	r := run(t, "", "quota", "--cluster-issuer", clusterIssuer)
	if r.err != nil {
		t.Fatal(r.err)
	}
	mustContain(t, "quota via cluster issuer", r.out, "QUOTA")

	r = run(t, "", "quota", "--cluster-issuer", clusterIssuer, "--cluster-resource-namespace", "cert-manager")
	if r.err == nil || !strings.Contains(r.err.Error(), "SecretNotFound") || !strings.Contains(r.err.Error(), "--cluster-resource-namespace") {
		t.Errorf("cluster issuer with the wrong namespace: %v", r.err)
	}
	r = run(t, "", "quota", "--cluster-issuer", "nope")
	if r.err == nil || !strings.Contains(r.err.Error(), "cluster issuer nope not found") {
		t.Errorf("unknown cluster issuer: %v", r.err)
	}
}

func TestErrorsInPlainWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no issuer", []string{"quota"}, "name exactly one issuer"},
		{"both issuers", []string{"quota", "--issuer", issuer, "--cluster-issuer", clusterIssuer}, "name exactly one issuer"},
		// The context's namespace is "default", where there is no issuer.
		{"issuer not found", []string{"quota", "--issuer", issuer}, "issuer atlas not found in namespace default"},
		{"wrong API secret", []string{"quota", "--issuer", wrongSecret, "-n", ns}, "Atlas refused the API key and secret of AtlasIssuer team-a/wrong-secret (401 Unauthorized)"},
		{"wrong key password", []string{"quota", "--issuer", wrongPassword, "-n", ns}, `KeyPasswordIncorrect: secret team-a/locked-credentials key "tls.key.password"`},
		{"missing secret", []string{"quota", "--issuer", missingSecret, "-n", ns}, "SecretNotFound: secret team-a/does-not-exist"},
		{"bad output", []string{"quota", "-o", "xml", "--issuer", issuer, "-n", ns}, `unsupported output format "xml"`},
		{"missing argument", []string{"certificate", "get", "--issuer", issuer, "-n", ns}, "missing SERIAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", tc.args...)
			if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
				t.Errorf("kubectl atlas %s: got error %v, want it to contain %q", strings.Join(tc.args, " "), r.err, tc.want)
			}
			if r.out != "" {
				t.Errorf("printed to stdout on error: %q", r.out)
			}
		})
	}
}
