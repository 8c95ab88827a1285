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

// Package credentials turns the Secret an issuer points at into Atlas
// credentials and a ready atlas.Client, and caches that client per Secret
// version so that every reconcile shares one token and one connection pool.
package credentials

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// The keys of an issuer's Secret, as docs and the chart name them.
const (
	KeyAPIKey      = "apiKey"
	KeyAPISecret   = "apiSecret"
	KeyCertificate = "tls.crt"
	KeyPrivateKey  = "tls.key"
	KeyPassword    = "tls.key.password"
)

// legacyKeys are the key names of the earlier Atlas issuer, accepted so its
// users can point us at the Secret they already have.
var legacyKeys = map[string]string{
	KeyAPIKey:      "apikey",
	KeyAPISecret:   "apisecret",
	KeyCertificate: "cert",
	KeyPrivateKey:  "certkey",
}

// Reasons a Secret cannot be used. They start issuer condition messages and
// are listed in the README's troubleshooting table.
const (
	ReasonSecretNotFound       = "SecretNotFound"
	ReasonSecretNotAllowed     = "SecretNotAllowed"
	ReasonSecretKeyMissing     = "SecretKeyMissing"
	ReasonSecretKeyInvalid     = "SecretKeyInvalid"
	ReasonKeyPasswordRequired  = "KeyPasswordRequired"
	ReasonKeyPasswordIncorrect = "KeyPasswordIncorrect"
	ReasonKeyMismatch          = "KeyMismatch"
	ReasonCredentialsExpired   = "CredentialsExpired"
)

// Error says what is wrong with an issuer's Secret, naming the key. It never
// carries the key's value.
type Error struct {
	Reason string
	Secret string // namespace/name
	Key    string
	Detail string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Reason)
	b.WriteString(": secret ")
	b.WriteString(e.Secret)
	if e.Key != "" {
		fmt.Fprintf(&b, " key %q", e.Key)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Credentials are what an Atlas client needs, parsed from a Secret.
type Credentials struct {
	APIKey            string
	APISecret         string
	ClientCertificate tls.Certificate
	// NotAfter is when the mTLS client certificate expires.
	NotAfter time.Time
	// SecretUID and SecretResourceVersion are the version of the Secret
	// these were read from.
	SecretUID             types.UID
	SecretResourceVersion string

	// secret (namespace/name) and certKey name what validAt's errors
	// point at.
	secret, certKey string
}

// String hides everything but the certificate's subject and expiry, so that
// a stray %v never prints the API secret.
func (c *Credentials) String() string {
	if c == nil || c.ClientCertificate.Leaf == nil {
		return "credentials{}"
	}
	return fmt.Sprintf("credentials{subject=%q notAfter=%s}", c.ClientCertificate.Leaf.Subject.String(), c.NotAfter.UTC().Format(time.RFC3339))
}

// Parse reads and validates the credentials in a Secret. Every problem is an
// *Error naming the key; an expired client certificate is one too, since
// Atlas would refuse every call with it.
func Parse(secret *corev1.Secret, now time.Time) (*Credentials, error) {
	creds, err := parse(secret)
	if err != nil {
		return nil, err
	}
	if err := creds.validAt(now); err != nil {
		return nil, err
	}
	return creds, nil
}

// parse is Parse without the check of the time: its result depends on the
// Secret alone, so it can be kept per Secret version.
func parse(secret *corev1.Secret) (*Credentials, error) {
	ref := secret.Namespace + "/" + secret.Name
	get := func(key string, required bool) ([]byte, string, error) {
		v, present := secret.Data[key]
		if present && len(strings.TrimSpace(string(v))) > 0 {
			return v, key, nil
		}
		// An empty new-style key must not hide a filled legacy one.
		if legacy, ok := legacyKeys[key]; ok {
			if lv, ok := secret.Data[legacy]; ok && len(strings.TrimSpace(string(lv))) > 0 {
				return lv, legacy, nil
			}
		}
		if present {
			return nil, key, &Error{Reason: ReasonSecretKeyInvalid, Secret: ref, Key: key, Detail: "is empty"}
		}
		if !required {
			return nil, key, nil
		}
		return nil, key, &Error{Reason: ReasonSecretKeyMissing, Secret: ref, Key: key, Detail: "is missing"}
	}

	apiKey, _, err := get(KeyAPIKey, true)
	if err != nil {
		return nil, err
	}
	apiSecret, _, err := get(KeyAPISecret, true)
	if err != nil {
		return nil, err
	}
	certPEM, certKey, err := get(KeyCertificate, true)
	if err != nil {
		return nil, err
	}
	keyPEM, keyKey, err := get(KeyPrivateKey, true)
	if err != nil {
		return nil, err
	}
	password, _, err := get(KeyPassword, false)
	if err != nil {
		return nil, err
	}

	cert, err := atlas.LoadKeyPair(certPEM, keyPEM, []byte(strings.TrimRight(string(password), "\r\n")))
	if err != nil {
		return nil, classifyKeyPairError(ref, certKey, keyKey, err)
	}
	return &Credentials{
		APIKey:                strings.TrimSpace(string(apiKey)),
		APISecret:             strings.TrimSpace(string(apiSecret)),
		ClientCertificate:     cert,
		NotAfter:              cert.Leaf.NotAfter,
		SecretUID:             secret.UID,
		SecretResourceVersion: secret.ResourceVersion,
		secret:                ref,
		certKey:               certKey,
	}, nil
}

// validAt refuses a client certificate that is not valid at now.
func (c *Credentials) validAt(now time.Time) error {
	leaf := c.ClientCertificate.Leaf
	if now.Before(leaf.NotBefore) {
		return &Error{Reason: ReasonSecretKeyInvalid, Secret: c.secret, Key: c.certKey,
			Detail: fmt.Sprintf("the mTLS client certificate is not valid before %s; check the clock or the certificate", leaf.NotBefore.UTC().Format(time.RFC3339))}
	}
	if now.After(leaf.NotAfter) {
		return &Error{Reason: ReasonCredentialsExpired, Secret: c.secret, Key: c.certKey,
			Detail: fmt.Sprintf("the mTLS client certificate expired at %s; request a new one in the Atlas portal", leaf.NotAfter.UTC().Format(time.RFC3339))}
	}
	return nil
}

func classifyKeyPairError(ref, certKey, keyKey string, err error) error {
	switch {
	case errors.Is(err, atlas.ErrKeyPasswordRequired):
		return &Error{Reason: ReasonKeyPasswordRequired, Secret: ref, Key: KeyPassword,
			Detail: fmt.Sprintf("the private key in %q is encrypted; add its password under %q", keyKey, KeyPassword), Err: err}
	case errors.Is(err, atlas.ErrKeyPasswordIncorrect):
		return &Error{Reason: ReasonKeyPasswordIncorrect, Secret: ref, Key: KeyPassword,
			Detail: fmt.Sprintf("the password does not decrypt the private key in %q", keyKey), Err: err}
	case errors.Is(err, atlas.ErrKeyMismatch):
		return &Error{Reason: ReasonKeyMismatch, Secret: ref, Key: keyKey,
			Detail: fmt.Sprintf("the private key does not belong to the certificate in %q", certKey), Err: err}
	}
	key := keyKey
	if errors.Is(err, atlas.ErrInvalidCertificate) {
		key = certKey
	}
	return &Error{Reason: ReasonSecretKeyInvalid, Secret: ref, Key: key, Detail: err.Error(), Err: err}
}

// parseCABundle reads an issuer's spec.caBundle, so that a broken bundle is
// named instead of surfacing later as a TLS failure.
func parseCABundle(pemData []byte) (*x509.CertPool, error) {
	if len(pemData) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, errors.New("spec.caBundle holds no PEM certificate")
	}
	return pool, nil
}
