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

package chaos

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/youmark/pkcs8"
	corev1 "k8s.io/api/core/v1"

	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// canaries are the secrets whose every appearance outside their Secret is a
// leak. The fake runs with a distinctive API key and secret; the fault run's
// Secret carries the mTLS key encrypted under a distinctive password; the
// broken Secrets of the bad-input run add a wrong password and key bodies.
// The fake's access tokens are read from its admin API at scan time.
type canaries struct {
	apiKey, apiSecret string
	keyPassword       string

	mu    sync.Mutex
	extra []framework.Canary
	files []framework.Canary
	// keyPEM is the fake's mTLS key; encKeyPEM the same key encrypted.
	keyPEM, encKeyPEM []byte
}

func newCanaries() (*canaries, error) {
	return &canaries{
		apiKey:      "chaoskey" + randomHex(4),
		apiSecret:   "chaos-canary-apisecret-" + randomHex(12),
		keyPassword: "chaos-canary-keypass-" + randomHex(12),
	}, nil
}

// readCredentials loads the fake's mTLS key and encrypts it.
func (c *canaries) readCredentials(env *framework.Env) error {
	var err error
	if c.keyPEM, err = os.ReadFile(filepath.Join(env.CredentialsDir, "tls.key")); err != nil {
		return err
	}
	block, _ := pem.Decode(c.keyPEM)
	if block == nil {
		return errors.New("the fake's tls.key is not PEM")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return err
	}
	der, err := pkcs8.MarshalPrivateKey(key, []byte(c.keyPassword), &pkcs8.Opts{
		Cipher: pkcs8.AES256CBC, KDFOpts: pkcs8.PBKDF2Opts{SaltSize: 16, IterationCount: 50_000, HMACHash: crypto.SHA256},
	})
	if err != nil {
		return err
	}
	c.encKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})
	return nil
}

// add records another canary, such as a broken Secret's password.
func (c *canaries) add(kind, value string) {
	c.mu.Lock()
	c.extra = append(c.extra, framework.Canary{Kind: kind, Value: value})
	c.mu.Unlock()
}

// addKey records the PEM body lines of a key as canaries.
func (c *canaries) addKey(keyPEM []byte) {
	for _, l := range framework.PEMBodyLines(keyPEM) {
		c.add("mtls-key", l)
	}
	c.mu.Lock()
	c.files = append(c.files, framework.FileCanary("mtls-key", keyPEM))
	c.mu.Unlock()
}

// all returns every canary, tokens included.
func (c *canaries) all(ctx context.Context, env *framework.Env) ([]framework.Canary, error) {
	tokens, err := env.Admin.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the fake's tokens: %w", err)
	}
	out := []framework.Canary{
		{Kind: "api-secret", Value: c.apiSecret},
		{Kind: "key-password", Value: c.keyPassword},
	}
	for _, l := range framework.PEMBodyLines(c.keyPEM) {
		out = append(out, framework.Canary{Kind: "mtls-key", Value: l})
	}
	for _, l := range framework.PEMBodyLines(c.encKeyPEM) {
		out = append(out, framework.Canary{Kind: "mtls-key", Value: l})
	}
	for _, t := range tokens {
		out = append(out, framework.Canary{Kind: "token", Value: t})
	}
	c.mu.Lock()
	out = append(out, c.extra...)
	c.mu.Unlock()
	// The forms a printed Secret shows: base64 of each value, and of the
	// key files as a whole.
	out = framework.WithEncodings(out)
	out = append(out, framework.FileCanary("mtls-key", c.keyPEM), framework.FileCanary("mtls-key", c.encKeyPEM))
	c.mu.Lock()
	out = append(out, c.files...)
	c.mu.Unlock()
	return out, nil
}

// secret is an issuer Secret with the fake's certificate and key; when
// encrypted, the key is under the canary password.
func (c *canaries) secret(env *framework.Env, namespace, name string, encrypted bool) (*corev1.Secret, error) {
	sec, err := env.CredentialsSecret(namespace, name)
	if err != nil {
		return nil, err
	}
	if encrypted {
		sec.Data[credentials.KeyPrivateKey] = c.encKeyPEM
		sec.Data[credentials.KeyPassword] = []byte(c.keyPassword + "\n")
	}
	return sec, nil
}

// scanLeaks searches every log of the run, every event and every status
// for the canaries.
func (r *run) scanLeaks(ctx context.Context) error {
	all, err := r.canaries.all(ctx, r.env)
	if err != nil {
		return err
	}
	scan, err := r.env.ScanForCanaries(ctx, "*.log", all)
	if err != nil {
		return err
	}
	d := &LeakDetail{Canaries: map[string]int{}, Scanned: scan.Scanned, Leaks: scan.Leaks}
	for _, c := range all {
		d.Canaries[c.Kind]++
	}
	r.report.SecretLeaks = len(scan.Leaks)
	if len(d.Leaks) > 50 {
		d.Leaks = d.Leaks[:50]
	}
	r.report.Details.Leaks = d
	r.logf("leak scan: %d canaries, %d leaks", len(all), len(scan.Leaks))
	return nil
}
