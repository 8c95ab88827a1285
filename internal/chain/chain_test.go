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

package chain

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
)

type node struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func mint(t testing.TB, cn string, parent *node, isCA bool) *node {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  isCA,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &node{cert: c, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

func subjects(t *testing.T, data []byte) []string {
	t.Helper()
	certs, err := pki.DecodeX509CertificateSetBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

func TestBuild(t *testing.T) {
	root := mint(t, "root", nil, true)
	inter := mint(t, "intermediate", root, true)
	inter2 := mint(t, "intermediate-2", inter, true)
	leaf := mint(t, "leaf", inter, false)
	deepLeaf := mint(t, "deep-leaf", inter2, false)
	otherRoot := mint(t, "other-root", nil, true)

	tests := []struct {
		name      string
		leaf      *node
		trust     []string
		wantChain string
		wantCA    string
		wantErr   string
	}{
		{name: "documented order", leaf: leaf, trust: []string{inter.pem, root.pem}, wantChain: "leaf,intermediate", wantCA: "root"},
		{name: "root first", leaf: leaf, trust: []string{root.pem, inter.pem}, wantChain: "leaf,intermediate", wantCA: "root"},
		{name: "two intermediates shuffled", leaf: deepLeaf, trust: []string{root.pem, inter2.pem, inter.pem}, wantChain: "deep-leaf,intermediate-2,intermediate", wantCA: "root"},
		{name: "unrelated certificates ignored", leaf: leaf, trust: []string{otherRoot.pem, inter.pem, root.pem}, wantChain: "leaf,intermediate", wantCA: "root"},
		{name: "chain without root keeps the top as CA", leaf: deepLeaf, trust: []string{inter2.pem, inter.pem}, wantChain: "deep-leaf,intermediate-2,intermediate", wantCA: "intermediate"},
		{name: "issued directly by root", leaf: inter, trust: []string{root.pem}, wantChain: "intermediate", wantCA: "root"},
		{name: "empty trust chain", leaf: leaf, trust: nil, wantChain: "leaf", wantCA: ""},
		{name: "trust chain does not issue the leaf", leaf: leaf, trust: []string{otherRoot.pem}, wantErr: "no certificate that issued the leaf"},
		{name: "garbage trust chain", leaf: leaf, trust: []string{"not pem"}, wantErr: "trust chain element 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := build([]byte(tc.leaf.pem), tc.trust)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(subjects(t, b.ChainPEM), ","); got != tc.wantChain {
				t.Errorf("chain = %s, want %s", got, tc.wantChain)
			}
			gotCA := ""
			if len(b.CAPEM) > 0 {
				gotCA = strings.Join(subjects(t, b.CAPEM), ",")
			}
			if gotCA != tc.wantCA {
				t.Errorf("ca = %q, want %q", gotCA, tc.wantCA)
			}
		})
	}
}

// build parses both and builds, as the signer does in two steps.
func build(leafPEM []byte, trustChain []string) (*Bundle, error) {
	trust, err := ParseTrust(trustChain)
	if err != nil {
		return nil, err
	}
	leaf, err := ParseLeaf(leafPEM)
	if err != nil {
		return nil, err
	}
	return trust.Build(leaf)
}

func TestParseLeafRejectsBadLeaf(t *testing.T) {
	if _, err := ParseLeaf([]byte("nope")); err == nil {
		t.Fatal("want error for a leaf that is not PEM")
	}
	a, b := mint(t, "a", nil, false), mint(t, "b", nil, false)
	if _, err := ParseLeaf([]byte(a.pem + b.pem)); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Fatalf("err = %v, want one for two leaves", err)
	}
}

// One parsed Trust serves leaves under each of its CAs, with the links
// worked out once: which certificate issued which is decided by signature,
// not by subject alone, and CAs that issued each other end the walk instead
// of looping.
func TestTrustSharedByLeaves(t *testing.T) {
	root := mint(t, "root", nil, true)
	inter := mint(t, "intermediate", root, true)
	inter2 := mint(t, "intermediate-2", inter, true)
	// impostor has the intermediate's subject but its own key: a leaf of
	// the intermediate must never chain through it, wherever it stands.
	impostor := mint(t, "intermediate", root, true)
	trust, err := ParseTrust([]string{impostor.pem, root.pem, inter2.pem, inter.pem})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		leaf         *node
		chain, ca    string
		wantImpostor bool
	}{
		{leaf: mint(t, "leaf-a", inter, false), chain: "leaf-a,intermediate", ca: "root"},
		{leaf: mint(t, "leaf-b", inter2, false), chain: "leaf-b,intermediate-2,intermediate", ca: "root"},
		{leaf: mint(t, "leaf-c", impostor, false), chain: "leaf-c,intermediate", ca: "root", wantImpostor: true},
		{leaf: mint(t, "leaf-d", root, false), chain: "leaf-d", ca: "root"},
	} {
		leaf, err := ParseLeaf([]byte(tc.leaf.pem))
		if err != nil {
			t.Fatal(err)
		}
		b, err := trust.Build(leaf)
		if err != nil {
			t.Fatalf("%s: %v", tc.leaf.cert.Subject.CommonName, err)
		}
		if got := strings.Join(subjects(t, b.ChainPEM), ","); got != tc.chain {
			t.Errorf("%s: chain = %s, want %s", tc.leaf.cert.Subject.CommonName, got, tc.chain)
		}
		if got := strings.Join(subjects(t, b.CAPEM), ","); got != tc.ca {
			t.Errorf("%s: ca = %s, want %s", tc.leaf.cert.Subject.CommonName, got, tc.ca)
		}
		want := inter.pem
		if tc.wantImpostor {
			want = impostor.pem
		}
		if tc.chain != "leaf-d" && !strings.Contains(string(b.ChainPEM), want) {
			t.Errorf("%s: the chain holds the wrong certificate named intermediate", tc.leaf.cert.Subject.CommonName)
		}
	}
}

func TestTrustWithCAsIssuingEachOther(t *testing.T) {
	// a and b have each issued a certificate for the other: the walk from
	// a leaf uses each at most once and stops, without a root.
	a := mint(t, "ca-a", nil, false)
	b := mint(t, "ca-b", nil, false)
	aByB := reissue(t, a, b)
	bByA := reissue(t, b, a)
	trust, err := ParseTrust([]string{aByB.pem, bByA.pem})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ParseLeaf([]byte(mint(t, "leaf", aByB, false).pem))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := trust.Build(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(subjects(t, bundle.ChainPEM), ","); got != "leaf,ca-a,ca-b" {
		t.Errorf("chain = %s, want leaf,ca-a,ca-b", got)
	}
	if got := strings.Join(subjects(t, bundle.CAPEM), ","); got != "ca-b" {
		t.Errorf("ca = %s, want the topmost, ca-b", got)
	}
}

// reissue returns a CA certificate for n's subject and key, issued by
// parent.
func reissue(t testing.TB, n, parent *node) *node {
	t.Helper()
	tmpl := *n.cert
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, parent.cert, &n.key.PublicKey, parent.key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &node{cert: c, key: n.key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// BenchmarkBuild is the chain work of one issued certificate: parsing
// the leaf and building its bundle against a parsed trust chain.
func BenchmarkBuild(b *testing.B) {
	root := mint(b, "root", nil, true)
	inter := mint(b, "intermediate", root, true)
	leaf := mint(b, "leaf", inter, false)
	trust, err := ParseTrust([]string{inter.pem, root.pem})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		l, err := ParseLeaf([]byte(leaf.pem))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := trust.Build(l); err != nil {
			b.Fatal(err)
		}
	}
}
