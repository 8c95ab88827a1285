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
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"maps"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/youmark/pkcs8"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

type material struct {
	certPEM, keyPEM, encKeyPEM, otherKeyPEM []byte
}

func newMaterial(t *testing.T, notAfter time.Time) material {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "atlas-mtls"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := pkcs8.MarshalPrivateKey(key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := pkcs8.MarshalPrivateKey(key, []byte("s3cret pass"), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherDER, _ := x509.MarshalPKCS8PrivateKey(other)
	return material{
		certPEM:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: plain}),
		encKeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc}),
		otherKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherDER}),
	}
}

func secretWith(data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "atlas", UID: "uid-1", ResourceVersion: "1"},
		Data:       data,
	}
}

func TestParse(t *testing.T) {
	m := newMaterial(t, now.Add(90*24*time.Hour))
	expired := newMaterial(t, now.Add(-time.Minute))
	full := func(over map[string][]byte, drop ...string) map[string][]byte {
		d := map[string][]byte{KeyAPIKey: []byte("key\n"), KeyAPISecret: []byte("secret"), KeyCertificate: m.certPEM, KeyPrivateKey: m.keyPEM}
		maps.Copy(d, over)
		for _, k := range drop {
			delete(d, k)
		}
		return d
	}
	tests := []struct {
		name       string
		data       map[string][]byte
		wantReason string
		wantKey    string
	}{
		{name: "plain key", data: full(nil)},
		{name: "legacy key names", data: map[string][]byte{"apikey": []byte("key"), "apisecret": []byte("secret"), "cert": m.certPEM, "certkey": m.keyPEM}},
		{name: "encrypted key with password", data: full(map[string][]byte{KeyPrivateKey: m.encKeyPEM, KeyPassword: []byte("s3cret pass\n")})},
		{name: "missing apiKey", data: full(nil, KeyAPIKey), wantReason: ReasonSecretKeyMissing, wantKey: KeyAPIKey},
		{name: "missing apiSecret", data: full(nil, KeyAPISecret), wantReason: ReasonSecretKeyMissing, wantKey: KeyAPISecret},
		{name: "missing tls.crt", data: full(nil, KeyCertificate), wantReason: ReasonSecretKeyMissing, wantKey: KeyCertificate},
		{name: "missing tls.key", data: full(nil, KeyPrivateKey), wantReason: ReasonSecretKeyMissing, wantKey: KeyPrivateKey},
		{name: "empty apiSecret", data: full(map[string][]byte{KeyAPISecret: []byte("  ")}), wantReason: ReasonSecretKeyInvalid, wantKey: KeyAPISecret},
		{name: "certificate PEM holds garbage DER", data: full(map[string][]byte{KeyCertificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})}), wantReason: ReasonSecretKeyInvalid, wantKey: KeyCertificate},
		{name: "empty new key falls back to a filled legacy key", data: full(map[string][]byte{KeyAPIKey: []byte(""), "apikey": []byte("key")})},
		{name: "certificate is not PEM", data: full(map[string][]byte{KeyCertificate: []byte("garbage")}), wantReason: ReasonSecretKeyInvalid, wantKey: KeyCertificate},
		{name: "key is not PEM", data: full(map[string][]byte{KeyPrivateKey: []byte("garbage")}), wantReason: ReasonSecretKeyInvalid, wantKey: KeyPrivateKey},
		{name: "encrypted key without password", data: full(map[string][]byte{KeyPrivateKey: m.encKeyPEM}), wantReason: ReasonKeyPasswordRequired, wantKey: KeyPassword},
		{name: "encrypted key with wrong password", data: full(map[string][]byte{KeyPrivateKey: m.encKeyPEM, KeyPassword: []byte("nope")}), wantReason: ReasonKeyPasswordIncorrect, wantKey: KeyPassword},
		{name: "key of another certificate", data: full(map[string][]byte{KeyPrivateKey: m.otherKeyPEM}), wantReason: ReasonKeyMismatch, wantKey: KeyPrivateKey},
		{name: "expired certificate", data: full(map[string][]byte{KeyCertificate: expired.certPEM, KeyPrivateKey: expired.keyPEM}), wantReason: ReasonCredentialsExpired, wantKey: KeyCertificate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			creds, err := Parse(secretWith(tc.data), now)
			if tc.wantReason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if creds.APIKey != "key" || creds.APISecret != "secret" {
					t.Errorf("api key/secret not trimmed and read: %q", creds.APIKey)
				}
				if !creds.NotAfter.Equal(m.certPEMNotAfter(t)) {
					t.Errorf("NotAfter = %s", creds.NotAfter)
				}
				return
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if cerr.Reason != tc.wantReason || cerr.Key != tc.wantKey {
				t.Errorf("reason/key = %s/%s, want %s/%s (%v)", cerr.Reason, cerr.Key, tc.wantReason, tc.wantKey, err)
			}
			if !strings.HasPrefix(err.Error(), tc.wantReason+": secret ns/atlas") {
				t.Errorf("message %q does not start with the reason and the secret", err)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "BEGIN") {
				t.Errorf("message leaks secret material: %q", err)
			}
		})
	}
}

func (m material) certPEMNotAfter(t *testing.T) time.Time {
	t.Helper()
	b, _ := pem.Decode(m.certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.NotAfter
}

func TestCredentialsStringHidesSecrets(t *testing.T) {
	m := newMaterial(t, now.Add(time.Hour))
	creds, err := Parse(secretWith(map[string][]byte{KeyAPIKey: []byte("k"), KeyAPISecret: []byte("topsecretvalue"), KeyCertificate: m.certPEM, KeyPrivateKey: m.keyPEM}), now)
	if err != nil {
		t.Fatal(err)
	}
	if s := creds.String(); strings.Contains(s, "topsecretvalue") || !strings.Contains(s, "atlas-mtls") {
		t.Errorf("String() = %q", s)
	}
}

func TestCacheReusesClientPerSecretVersion(t *testing.T) {
	m := newMaterial(t, now.Add(time.Hour))
	c := NewCache(atlas.Config{})
	ep := Endpoint{URL: "https://atlas.example/v2"}
	s1 := secretWith(map[string][]byte{KeyAPIKey: []byte("k"), KeyAPISecret: []byte("s"), KeyCertificate: m.certPEM, KeyPrivateKey: m.keyPEM})
	a, _, err := c.Client(s1, ep, now)
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := c.Client(s1.DeepCopy(), ep, now)
	if a != b {
		t.Error("same Secret version built a second client")
	}
	s2 := s1.DeepCopy()
	s2.ResourceVersion = "2"
	d, _, _ := c.Client(s2, ep, now)
	if d == a {
		t.Error("a changed Secret reused the old client")
	}
	e, _, _ := c.Client(s2, Endpoint{URL: "https://other.example/v2"}, now)
	if e == d {
		t.Error("another endpoint reused the client")
	}
	if _, _, err := c.Client(s2, Endpoint{URL: ep.URL, CABundle: []byte("not pem")}, now); err == nil || !strings.Contains(err.Error(), "caBundle") {
		t.Errorf("bad caBundle: err = %v", err)
	}
}

func TestLoaderReportsMissingSecret(t *testing.T) {
	l := &Loader{Cache: NewCache(atlas.Config{}), API: fake.NewClientBuilder().Build(), Clock: clocktesting.NewFakePassiveClock(now)}
	_, _, err := l.Load(context.Background(), types.NamespacedName{Namespace: "ns", Name: "absent"}, Endpoint{URL: "https://atlas.example/v2"})
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.Reason != ReasonSecretNotFound {
		t.Fatalf("err = %v, want SecretNotFound", err)
	}
}

func TestLoaderReadsSecretThroughAPI(t *testing.T) {
	m := newMaterial(t, now.Add(time.Hour))
	s := secretWith(map[string][]byte{KeyAPIKey: []byte("k"), KeyAPISecret: []byte("s"), KeyCertificate: m.certPEM, KeyPrivateKey: m.keyPEM})
	s.ResourceVersion = ""
	api := fake.NewClientBuilder().WithObjects(s).Build()
	l := &Loader{Cache: NewCache(atlas.Config{}), API: api, Metadata: api, Clock: clocktesting.NewFakePassiveClock(now)}
	key := types.NamespacedName{Namespace: "ns", Name: "atlas"}
	ep := Endpoint{URL: "https://atlas.example/v2"}
	a, creds, err := l.Load(context.Background(), key, ep)
	if err != nil {
		t.Fatal(err)
	}
	if creds.APIKey != "k" {
		t.Errorf("APIKey = %q", creds.APIKey)
	}
	b, _, _ := l.Load(context.Background(), key, ep)
	if a != b {
		t.Error("unchanged Secret built a second client")
	}
}

func TestLoaderRefusesNamespacesOutsideTheList(t *testing.T) {
	l := &Loader{Cache: NewCache(atlas.Config{}), API: fake.NewClientBuilder().Build(), Namespaces: map[string]bool{"team-a": true}}
	_, _, err := l.Load(context.Background(), types.NamespacedName{Namespace: "team-b", Name: "atlas"}, Endpoint{URL: "https://atlas.example/v2"})
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.Reason != ReasonSecretNotAllowed || !strings.Contains(err.Error(), "team-a") {
		t.Fatalf("err = %v, want SecretNotAllowed naming the allowed namespaces", err)
	}
}
