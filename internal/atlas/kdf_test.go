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
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
	"time"

	"github.com/youmark/pkcs8"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// reencrypt re-encodes an encrypted PKCS#8 key with other KDF parameters,
// without deriving a key: the point is a key no one could afford to derive.
func reencrypt(t *testing.T, der []byte, oid asn1.ObjectIdentifier, kdfParams any) []byte {
	t.Helper()
	var info struct {
		Alg  pkix.AlgorithmIdentifier
		Data []byte
	}
	var pbes2 struct{ KDF, Scheme pkix.AlgorithmIdentifier }
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(info.Alg.Parameters.FullBytes, &pbes2); err != nil {
		t.Fatal(err)
	}
	params, err := asn1.Marshal(kdfParams)
	if err != nil {
		t.Fatal(err)
	}
	pbes2.KDF = pkix.AlgorithmIdentifier{Algorithm: oid, Parameters: asn1.RawValue{FullBytes: params}}
	if info.Alg.Parameters.FullBytes, err = asn1.Marshal(pbes2); err != nil {
		t.Fatal(err)
	}
	out, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

type scryptParams struct {
	Salt    []byte
	N, R, P int
}

var (
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidScrypt = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
)

// TestLoadKeyPairRefusesCostlyKDF: an encrypted key in a Secret must not let
// one namespace hang a reconcile worker (2^31 PBKDF2 iterations) or crash
// the controller out of memory (scrypt N=2^40). Both are refused at once
// with a message that says what to do.
func TestLoadKeyPairRefusesCostlyKDF(t *testing.T) {
	p := getPKI(t)
	certPEM := pemBlock("CERTIFICATE", p.client.Certificate[0])
	der, err := pkcs8.MarshalPrivateKey(p.client.PrivateKey, testPassword,
		&pkcs8.Opts{Cipher: pkcs8.AES256CBC, KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: 1000, HMACHash: crypto.SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	for _, tc := range []struct {
		name   string
		oid    asn1.ObjectIdentifier
		params any
		want   string
	}{
		{"pbkdf2", oidPBKDF2, pbkdf2Params{Salt: salt, Iterations: 1<<31 - 1,
			PRF: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}, Parameters: asn1.NullRawValue}}, "PBKDF2 iterations"},
		// Just over the bounds: each would cost a fraction of a second
		// more, and every Secret change could ask for it again.
		{"pbkdf2-just-over", oidPBKDF2, pbkdf2Params{Salt: salt, Iterations: 50_001,
			PRF: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}, Parameters: asn1.NullRawValue}}, "PBKDF2 iterations"},
		{"scrypt-just-over", oidScrypt, scryptParams{Salt: salt, N: 1 << 14, R: 8, P: 2}, "scrypt"},
		{"scrypt-memory", oidScrypt, scryptParams{Salt: salt, N: 1 << 40, R: 8, P: 1}, "scrypt"},
		{"scrypt-work", oidScrypt, scryptParams{Salt: salt, N: 1 << 14, R: 8, P: 1 << 20}, "scrypt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keyPEM := pemBlock("ENCRYPTED PRIVATE KEY", reencrypt(t, der, tc.oid, tc.params))
			done := make(chan error, 1)
			go func() {
				_, err := atlas.LoadKeyPair(certPEM, keyPEM, testPassword)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("LoadKeyPair() = %v, want an error about %s", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("LoadKeyPair is still deriving the key after 5s")
			}
		})
	}

	// What tools produce stays accepted.
	for _, opts := range []*pkcs8.Opts{
		nil,
		{Cipher: pkcs8.AES256CBC, KDFOpts: pkcs8.ScryptOpts{SaltSize: 16, CostParameter: 1 << 14, BlockSize: 8, ParallelizationParameter: 1}},
	} {
		der, err := pkcs8.MarshalPrivateKey(p.client.PrivateKey, testPassword, opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := atlas.LoadKeyPair(certPEM, pemBlock("ENCRYPTED PRIVATE KEY", der), testPassword); err != nil {
			t.Errorf("LoadKeyPair(%+v) = %v", opts, err)
		}
	}
}

// BenchmarkLoadKeyPairDearestKDF measures the most a key within the bounds
// costs to decrypt: PBKDF2 at the iteration bound with HMAC-SHA1, the
// dearest PRF per iteration on amd64 with SHA extensions, and scrypt at
// the work bound. docs/reliability.md quotes the figures.
func BenchmarkLoadKeyPairDearestKDF(b *testing.B) {
	p := getPKI(b)
	certPEM := pemBlock("CERTIFICATE", p.client.Certificate[0])
	for _, tc := range []struct {
		name string
		opts pkcs8.KDFOpts
	}{
		{"pbkdf2-sha1-50000", pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: 50_000, HMACHash: crypto.SHA1}},
		{"scrypt-N16384-r8-p1", pkcs8.ScryptOpts{SaltSize: 16, CostParameter: 1 << 14, BlockSize: 8, ParallelizationParameter: 1}},
	} {
		der, err := pkcs8.MarshalPrivateKey(p.client.PrivateKey, testPassword, &pkcs8.Opts{Cipher: pkcs8.AES256CBC, KDFOpts: tc.opts})
		if err != nil {
			b.Fatal(err)
		}
		keyPEM := pemBlock("ENCRYPTED PRIVATE KEY", der)
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := atlas.LoadKeyPair(certPEM, keyPEM, testPassword); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
