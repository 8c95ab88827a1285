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

package atlas

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/youmark/pkcs8"
)

// Errors of LoadKeyPair, to be matched with errors.Is.
var (
	// ErrKeyPasswordRequired: the key is encrypted and no password was given.
	ErrKeyPasswordRequired = errors.New("the mTLS private key is encrypted and no password was given")
	// ErrKeyPasswordIncorrect: the password does not decrypt the key.
	ErrKeyPasswordIncorrect = errors.New("the password does not decrypt the mTLS private key")
	// ErrKeyMismatch: the private key does not belong to the certificate.
	ErrKeyMismatch = errors.New("the mTLS private key does not match the certificate")
	// ErrInvalidCertificate: the certificate PEM is missing or unreadable,
	// as opposed to the key.
	ErrInvalidCertificate = errors.New("mTLS certificate")
)

// LoadKeyPair builds the mTLS client certificate from PEM. certPEM holds the
// certificate, optionally followed by its chain; keyPEM holds the private
// key as PKCS#1, PKCS#8, SEC1 EC, encrypted PKCS#8 (PBES2) or legacy RFC 1423
// encrypted PEM. password is used only for an encrypted key. Other PEM
// blocks in either input are skipped, so a combined cert+key file works.
// The returned certificate has Leaf set. Error messages never contain key
// material or the password.
func LoadKeyPair(certPEM, keyPEM, password []byte) (tls.Certificate, error) {
	var out tls.Certificate
	for rest := certPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			out.Certificate = append(out.Certificate, block.Bytes)
		}
	}
	if len(out.Certificate) == 0 {
		return tls.Certificate{}, fmt.Errorf("%w: no CERTIFICATE block in PEM data", ErrInvalidCertificate)
	}
	leaf, err := x509.ParseCertificate(out.Certificate[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: %w", ErrInvalidCertificate, err)
	}
	out.Leaf = leaf

	key, err := parsePrivateKeyPEM(keyPEM, password)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("mTLS private key: %w", err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return tls.Certificate{}, ErrKeyMismatch
	}
	out.PrivateKey = key
	return out, nil
}

// privateKeyTypes are the PEM block types that hold a private key.
var privateKeyTypes = map[string]bool{
	"RSA PRIVATE KEY":       true,
	"PRIVATE KEY":           true,
	"EC PRIVATE KEY":        true,
	"ENCRYPTED PRIVATE KEY": true,
}

func parsePrivateKeyPEM(keyPEM, password []byte) (crypto.Signer, error) {
	var block *pem.Block
	for rest := keyPEM; ; {
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no private key block in PEM data")
		}
		if privateKeyTypes[block.Type] {
			break
		}
	}

	if block.Type == "ENCRYPTED PRIVATE KEY" {
		if len(password) == 0 {
			return nil, ErrKeyPasswordRequired
		}
		key, err := decryptPKCS8(block.Bytes, password)
		if err != nil {
			return nil, err
		}
		return signer(key)
	}

	// RFC 1423 encryption is weak, but keys made with `openssl genrsa
	// -aes256`, as GlobalSign's onboarding guide says, come this way; they
	// are only read here.
	legacy := x509.IsEncryptedPEMBlock(block) //nolint:staticcheck // SA1019: reads legacy keys users have.
	if !legacy {
		key, err := parseKeyDER(block.Type, block.Bytes)
		if err != nil {
			return nil, err
		}
		return signer(key)
	}
	if len(password) == 0 {
		return nil, ErrKeyPasswordRequired
	}
	plain, err := x509.DecryptPEMBlock(block, password) //nolint:staticcheck // SA1019: as above: users' existing legacy encrypted keys must keep working.
	if err != nil {
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, ErrKeyPasswordIncorrect
		}
		return nil, fmt.Errorf("decrypting legacy encrypted PEM: %w", err)
	}
	key, err := parseKeyDER(block.Type, plain)
	if err != nil {
		// RFC 1423 has no integrity check: a wrong password that happens
		// to leave valid padding yields garbage rather than an error.
		return nil, ErrKeyPasswordIncorrect
	}
	return signer(key)
}

// decryptPKCS8 decrypts a PBES2 EncryptedPrivateKeyInfo.
func decryptPKCS8(der, password []byte) (key any, err error) {
	// The library decrypts CBC without checking the length first, so a
	// truncated key panics inside crypto/cipher.
	defer func() {
		if recover() != nil {
			key, err = nil, errors.New("malformed encrypted PKCS#8 key")
		}
	}()
	if err := checkKDFCost(der); err != nil {
		return nil, err
	}
	key, err = pkcs8.ParsePKCS8PrivateKey(der, password)
	if err != nil {
		// The library reports a failed parse of the decrypted bytes, the one
		// symptom of a wrong password in CBC mode, with this message only.
		if err.Error() == "pkcs8: incorrect password" {
			return nil, ErrKeyPasswordIncorrect
		}
		return nil, fmt.Errorf("decrypting PKCS#8 key: %w", err)
	}
	return key, nil
}

// parseKeyDER parses the key by its PEM type first, then by the other
// formats, because tools mislabel PKCS#8 keys as "RSA PRIVATE KEY".
func parseKeyDER(typ string, der []byte) (any, error) {
	parsers := map[string]func([]byte) (any, error){
		"RSA PRIVATE KEY": func(b []byte) (any, error) { return x509.ParsePKCS1PrivateKey(b) },
		"PRIVATE KEY":     x509.ParsePKCS8PrivateKey,
		"EC PRIVATE KEY":  func(b []byte) (any, error) { return x509.ParseECPrivateKey(b) },
	}
	first, ok := parsers[typ]
	if !ok {
		return nil, fmt.Errorf("unsupported PEM block type %q", typ)
	}
	key, firstErr := first(der)
	if firstErr == nil {
		return key, nil
	}
	for t, parse := range parsers {
		if t == typ {
			continue
		}
		if key, err := parse(der); err == nil {
			return key, nil
		}
	}
	return nil, fmt.Errorf("parsing %s: %w", typ, firstErr)
}

// signer accepts the key types TLS client authentication supports.
func signer(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("unsupported private key type %T: use RSA, ECDSA or Ed25519", key)
	}
}
