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
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/youmark/pkcs8"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

var (
	rsaOnce      sync.Once
	rsaA, rsaB   *rsa.PrivateKey
	testPassword = []byte("correct horse battery staple")
)

// rsaKeys generates two RSA keys once: generation is slow under -race.
func rsaKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	rsaOnce.Do(func() {
		var err error
		if rsaA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsaB, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaA, rsaB
}

// selfSigned returns a PEM certificate for key.
func selfSigned(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: serialNumber(),
		Subject:      pkix.Name{CommonName: "mtls client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

func encryptedPKCS8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := pkcs8.MarshalPrivateKey(key, testPassword, nil) // PBES2, AES-256-CBC
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("ENCRYPTED PRIVATE KEY", der)
}

func legacyEncryptedPEM(t *testing.T, key *rsa.PrivateKey) []byte {
	t.Helper()
	block, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key), testPassword, x509.PEMCipherAES256) //nolint:staticcheck // SA1019: the test produces the legacy format users still have.
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func TestLoadKeyPairFormats(t *testing.T) {
	rsaKey, _ := rsaKeys(t)
	ecKey := mustKey()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert, ecCert, edCert := selfSigned(t, rsaKey), selfSigned(t, ecKey), selfSigned(t, edKey)

	tests := []struct {
		name     string
		cert     []byte
		key      []byte
		password []byte
		want     crypto.PublicKey
	}{
		{"PKCS#1 RSA", rsaCert, pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), nil, rsaKey.Public()},
		{"PKCS#8 RSA", rsaCert, pkcs8PEM(t, rsaKey), nil, rsaKey.Public()},
		{"PKCS#8 mislabelled as RSA PRIVATE KEY", rsaCert, bytes.Replace(pkcs8PEM(t, rsaKey), []byte("PRIVATE KEY"), []byte("RSA PRIVATE KEY"), 2), nil, rsaKey.Public()},
		{"SEC1 EC", ecCert, pemBlock("EC PRIVATE KEY", ecDER), nil, ecKey.Public()},
		{"SEC1 EC with EC PARAMETERS first", ecCert, append(pemBlock("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), pemBlock("EC PRIVATE KEY", ecDER)...), nil, ecKey.Public()},
		{"PKCS#8 EC", ecCert, pkcs8PEM(t, ecKey), nil, ecKey.Public()},
		{"PKCS#8 Ed25519", edCert, pkcs8PEM(t, edKey), nil, edKey.Public()},
		{"encrypted PKCS#8 RSA", rsaCert, encryptedPKCS8PEM(t, rsaKey), testPassword, rsaKey.Public()},
		{"encrypted PKCS#8 EC", ecCert, encryptedPKCS8PEM(t, ecKey), testPassword, ecKey.Public()},
		{"legacy encrypted PEM", rsaCert, legacyEncryptedPEM(t, rsaKey), testPassword, rsaKey.Public()},
		{"password given for a plain key", rsaCert, pkcs8PEM(t, rsaKey), testPassword, rsaKey.Public()},
		{"combined file", append(pkcs8PEM(t, ecKey), ecCert...), append(pkcs8PEM(t, ecKey), ecCert...), nil, ecKey.Public()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := atlas.LoadKeyPair(tt.cert, tt.key, tt.password)
			if err != nil {
				t.Fatalf("LoadKeyPair: %v", err)
			}
			if cert.Leaf == nil || len(cert.Certificate) != 1 {
				t.Fatalf("Leaf = %v, %d certificates", cert.Leaf, len(cert.Certificate))
			}
			signer, ok := cert.PrivateKey.(crypto.Signer)
			if !ok {
				t.Fatalf("private key %T is not a signer", cert.PrivateKey)
			}
			if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.want) {
				t.Errorf("wrong private key loaded")
			}
		})
	}
}

func TestLoadKeyPairChain(t *testing.T) {
	key := mustKey()
	leaf := selfSigned(t, key)
	ca := selfSigned(t, mustKey())
	cert, err := atlas.LoadKeyPair(append(leaf, ca...), pkcs8PEM(t, key), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) != 2 {
		t.Fatalf("chain length = %d, want 2", len(cert.Certificate))
	}
	if !bytes.Equal(cert.Leaf.Raw, cert.Certificate[0]) {
		t.Error("Leaf is not the first certificate")
	}
}

func TestLoadKeyPairErrors(t *testing.T) {
	rsaKey, otherRSA := rsaKeys(t)
	ecKey := mustKey()
	rsaCert := selfSigned(t, rsaKey)
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	encPKCS8 := encryptedPKCS8PEM(t, rsaKey)
	legacy := legacyEncryptedPEM(t, rsaKey)
	// Well-formed ASN.1 whose ciphertext is not a whole number of blocks:
	// CBC decryption of it would panic.
	truncated := func() []byte {
		b, _ := pem.Decode(encPKCS8)
		var info struct {
			Algorithm pkix.AlgorithmIdentifier
			Data      []byte
		}
		if _, err := asn1.Unmarshal(b.Bytes, &info); err != nil {
			t.Fatal(err)
		}
		info.Data = info.Data[:len(info.Data)-7]
		der, err := asn1.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		return pemBlock("ENCRYPTED PRIVATE KEY", der)
	}()
	wrong := []byte("Tr0ub4dor&3")

	tests := []struct {
		name     string
		cert     []byte
		key      []byte
		password []byte
		is       error  // sentinel, or nil
		contains string // message fragment when is is nil
	}{
		{"encrypted PKCS#8 without password", rsaCert, encPKCS8, nil, atlas.ErrKeyPasswordRequired, ""},
		{"encrypted PKCS#8 wrong password", rsaCert, encPKCS8, wrong, atlas.ErrKeyPasswordIncorrect, ""},
		{"legacy without password", rsaCert, legacy, nil, atlas.ErrKeyPasswordRequired, ""},
		{"legacy wrong password", rsaCert, legacy, wrong, atlas.ErrKeyPasswordIncorrect, ""},
		{"RSA key of another certificate", rsaCert, pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(otherRSA)), nil, atlas.ErrKeyMismatch, ""},
		{"EC key for an RSA certificate", rsaCert, pkcs8PEM(t, ecKey), nil, atlas.ErrKeyMismatch, ""},
		{"no certificate", nil, pkcs8PEM(t, rsaKey), nil, nil, "no CERTIFICATE block"},
		{"key where the certificate belongs", pkcs8PEM(t, rsaKey), pkcs8PEM(t, rsaKey), nil, nil, "no CERTIFICATE block"},
		{"no key", rsaCert, rsaCert, nil, nil, "no private key block"},
		{"public key only", rsaCert, pemBlock("PUBLIC KEY", []byte{1, 2, 3}), nil, nil, "no private key block"},
		{"garbage key", rsaCert, pemBlock("PRIVATE KEY", []byte("not a key at all")), nil, nil, "PRIVATE KEY"},
		{"unsupported key type", rsaCert, pkcs8PEM(t, x25519), nil, nil, "unsupported private key type"},
		{"truncated encrypted key", rsaCert, truncated, testPassword, nil, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := atlas.LoadKeyPair(tt.cert, tt.key, tt.password)
			if err == nil {
				t.Fatal("LoadKeyPair succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want %v", err, tt.is)
			}
			if tt.contains != "" && !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error = %q, want it to mention %q", err, tt.contains)
			}
			msg := err.Error()
			if len(tt.password) > 0 && strings.Contains(msg, string(tt.password)) {
				t.Errorf("error contains the password: %q", msg)
			}
			if b, _ := pem.Decode(tt.key); b != nil && len(b.Bytes) > 8 && strings.Contains(msg, string(b.Bytes[:8])) {
				t.Errorf("error contains key bytes: %q", msg)
			}
			if body := pemBody(tt.key); len(body) > 20 && strings.Contains(msg, body[:20]) {
				t.Errorf("error contains the PEM body: %q", msg)
			}
		})
	}
}

// pemBody returns the base64 text of the first PEM block.
func pemBody(p []byte) string {
	lines := strings.Split(string(p), "\n")
	var b strings.Builder
	for _, l := range lines {
		if strings.HasPrefix(l, "-----") || strings.Contains(l, ":") {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

// TestLoadKeyPairUsableForMTLS proves the loaded pair works as a client
// certificate against the fake.
func TestLoadKeyPairUsableForMTLS(t *testing.T) {
	f := newFakeAtlas(t, false)
	p := getPKI(t)
	der, err := pkcs8.MarshalPrivateKey(p.client.PrivateKey, testPassword, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := atlas.LoadKeyPair(pemBlock("CERTIFICATE", p.client.Certificate[0]), pemBlock("ENCRYPTED PRIVATE KEY", der), testPassword)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.ClientCertificate = cert })
	if err := c.Login(testCtx(t)); err != nil {
		t.Fatalf("Login with the loaded certificate: %v", err)
	}
}
