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

func mint(t *testing.T, cn string, parent *node, isCA bool) *node {
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
			b, err := Build([]byte(tc.leaf.pem), tc.trust)
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

func TestBuildRejectsBadLeaf(t *testing.T) {
	if _, err := Build([]byte("nope"), nil); err == nil {
		t.Fatal("want error for a leaf that is not PEM")
	}
	a, b := mint(t, "a", nil, false), mint(t, "b", nil, false)
	if _, err := Build([]byte(a.pem+b.pem), nil); err == nil {
		t.Fatal("want error for two leaves")
	}
}
