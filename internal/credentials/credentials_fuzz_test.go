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

package credentials

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/youmark/pkcs8"
	corev1 "k8s.io/api/core/v1"
)

// FuzzParse feeds Parse arbitrary Secret data, as any user who may point an
// AtlasIssuer at a Secret can: Parse must not panic, every failure
// must be an *Error naming a key, and neither the API secret, the key
// password nor the private key's PEM body may appear in the error.
// testdata/fuzz/FuzzParse holds fixed seeds (plain, encrypted and legacy
// encrypted keys, mismatches, garbage); more are generated here.
//
// layout picks the key names: bit i (0..3) uses the earlier issuer's name
// for apiKey, apiSecret, tls.crt and tls.key; bit 4 leaves the password key
// out; bit 5 leaves tls.crt out; bit 6 leaves the API key out.
func FuzzParse(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "atlas-mtls-fuzz"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	plain, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: plain})
	pass := []byte("fuzz password")
	// Few iterations keep the fuzzer fast; the fuzzer mutates them anyway.
	enc, _ := pkcs8.MarshalPrivateKey(key, pass, &pkcs8.Opts{Cipher: pkcs8.AES128CBC,
		KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 8, IterationCount: 16, HMACHash: crypto.SHA256}})
	encPEM := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc})
	scr, _ := pkcs8.MarshalPrivateKey(key, pass, &pkcs8.Opts{Cipher: pkcs8.AES256CBC,
		KDFOpts: pkcs8.ScryptOpts{SaltSize: 8, CostParameter: 16, BlockSize: 1, ParallelizationParameter: 1}})
	scrPEM := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: scr})
	ecDER, _ := x509.MarshalECPrivateKey(key)
	legacy, _ := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", ecDER, pass, x509.PEMCipherAES256) //nolint:staticcheck // SA1019: legacy encrypted PEM is what `openssl genrsa -aes256` writes; Parse must read it.
	legacyPEM := pem.EncodeToMemory(legacy)

	f.Add([]byte("apikey"), []byte("apisecret"), certPEM, keyPEM, []byte(nil), uint8(0x10))
	f.Add([]byte("apikey"), []byte("apisecret"), certPEM, encPEM, pass, uint8(0))
	f.Add([]byte("apikey"), []byte("apisecret"), certPEM, scrPEM, pass, uint8(0x0f))
	f.Add([]byte("apikey"), []byte("apisecret"), certPEM, legacyPEM, pass, uint8(0))
	f.Add([]byte("apikey"), []byte("apisecret"), certPEM, encPEM, []byte("wrong"), uint8(0))
	f.Add([]byte(" "), []byte("apisecret"), append(append([]byte{}, certPEM...), keyPEM...), certPEM, []byte(nil), uint8(0x50))
	f.Add([]byte("k"), []byte("s"), []byte("garbage"), []byte("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"), []byte("\n"), uint8(0x20))

	f.Fuzz(func(t *testing.T, apiKey, apiSecret, cert, keyPEM, password []byte, layout uint8) {
		sec := fuzzSecret(apiKey, apiSecret, cert, keyPEM, password, layout)
		// The work Parse can be made to do is bounded by the KDF limits
		// in internal/atlas, which their own tests check with keys that ask
		// for more (TestLoadKeyPairRefusesCostlyKDF); a wall-clock bound here
		// would only fail on a busy machine.
		creds, err := Parse(sec, now)
		if err == nil {
			if creds == nil || creds.ClientCertificate.PrivateKey == nil || creds.ClientCertificate.Leaf == nil {
				t.Fatalf("Parse succeeded with incomplete credentials: %v", creds)
			}
			if creds.APISecret == "" || creds.APIKey == "" {
				t.Fatal("Parse succeeded with an empty API key or secret")
			}
			return
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("Parse error %v (%T) is not a *credentials.Error", err, err)
		}
		if ce.Reason == "" || ce.Secret != "ns/atlas" || !knownKey(ce.Key) {
			t.Fatalf("error does not name a reason and a key: %#v", ce)
		}
		msg := err.Error()
		for _, line := range pemBodyLines(keyPEM) {
			if strings.Contains(msg, line) {
				t.Fatalf("error carries private key material %q: %q", line, msg)
			}
		}

		// Leaks are checked with canaries in place of the fuzzed secret and
		// password, which a short fuzzed value could match by chance.
		canary := func(b []byte, tag string) []byte {
			if len(bytes.TrimSpace(b)) == 0 {
				return b
			}
			sum := sha256.Sum256(b)
			return []byte("canary-" + tag + "-" + hex.EncodeToString(sum[:8]))
		}
		secretCanary, passCanary := canary(apiSecret, "secret"), canary(password, "pass")
		creds, err = Parse(fuzzSecret(apiKey, secretCanary, cert, keyPEM, passCanary, layout), now)
		var text string
		if err != nil {
			text = err.Error()
		} else {
			text = creds.String()
		}
		for _, c := range [][]byte{secretCanary, passCanary} {
			if bytes.HasPrefix(c, []byte("canary-")) && strings.Contains(text, string(c)) {
				t.Fatalf("%q leaks into %q", c, text)
			}
		}
	})
}

func fuzzSecret(apiKey, apiSecret, cert, keyPEM, password []byte, layout uint8) *corev1.Secret {
	names := []string{KeyAPIKey, KeyAPISecret, KeyCertificate, KeyPrivateKey}
	values := [][]byte{apiKey, apiSecret, cert, keyPEM}
	data := map[string][]byte{}
	for i, n := range names {
		if layout&(1<<i) != 0 {
			n = legacyKeys[n]
		}
		if (i == 2 && layout&0x20 != 0) || (i == 0 && layout&0x40 != 0) {
			continue
		}
		data[n] = values[i]
	}
	if layout&0x10 == 0 {
		data[KeyPassword] = password
	}
	return secretWith(data)
}

func knownKey(k string) bool {
	switch k {
	case KeyAPIKey, KeyAPISecret, KeyCertificate, KeyPrivateKey, KeyPassword:
		return true
	}
	for _, l := range legacyKeys {
		if k == l {
			return true
		}
	}
	return false
}

// pemBodyLines returns the base64 lines of every PEM block in data that are
// long enough not to match an error message by chance.
func pemBodyLines(data []byte) []string {
	var out []string
	inBlock := false
	for l := range strings.SplitSeq(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "-----BEGIN"):
			inBlock = true
		case strings.HasPrefix(l, "-----END"):
			inBlock = false
		case inBlock && len(l) >= 24 && !strings.Contains(l, ":"):
			out = append(out, l)
		}
	}
	return out
}
