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

package issuance

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

const pemCSR = "CERTIFICATE REQUEST"

// parseCSR decodes exactly one PEM CSR and verifies its signature: Atlas
// checks the signature of a PKCS10 submission, and for PKCS8 accounts it is
// the only proof that the requester holds the key. It returns the DER too,
// since the PEM is re-encoded rather than passed on as given.
func parseCSR(data []byte) (*x509.CertificateRequest, []byte, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, nil, policyErr("csr", "is not PEM: expected one CERTIFICATE REQUEST block")
	}
	// "NEW CERTIFICATE REQUEST" is the label older tools still write.
	if block.Type != pemCSR && block.Type != "NEW "+pemCSR {
		return nil, nil, policyErr("csr", "holds a PEM block of type %s; expected CERTIFICATE REQUEST", quote(block.Type))
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, nil, policyErr("csr", "has data after the CERTIFICATE REQUEST block; expected exactly one block")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, nil, policyErr("csr", "cannot be parsed: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, nil, policyErr("csr", "signature does not verify: %v", err)
	}
	return csr, block.Bytes, nil
}

// keyTypeAndSize returns the Atlas key type and the size the policy's
// allowed_lengths speaks of: modulus bits for RSA, curve size for ECDSA.
func keyTypeAndSize(pub crypto.PublicKey) (string, int, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return atlas.KeyTypeRSA, k.N.BitLen(), nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return atlas.KeyTypeECDSA, k.Curve.Params().BitSize, nil
		}
		name := "unknown"
		if k.Curve != nil && k.Params() != nil {
			name = k.Curve.Params().Name
		}
		return "", 0, fmt.Errorf("the ECDSA curve %s is not supported by Atlas; use P-256, P-384 or P-521", name)
	case ed25519.PublicKey:
		return "", 0, fmt.Errorf("Ed25519 keys are not supported by Atlas; use an RSA or ECDSA (P-256, P-384, P-521) private key")
	default:
		return "", 0, fmt.Errorf("the key type %T is not supported by Atlas; use an RSA or ECDSA private key", pub)
	}
}

// PublicKeyFingerprint returns the hex SHA-256 of the DER
// SubjectPublicKeyInfo of pub. It re-encodes the key rather than hashing the
// bytes as a CSR or certificate carries them, so the fingerprint of a CSR's
// key and of the issued certificate's key agree whatever encoding quirks
// either had.
func PublicKeyFingerprint(pub crypto.PublicKey) (string, error) {
	if _, _, err := keyTypeAndSize(pub); err != nil {
		return "", err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// publicKey checks the CSR's key against the policy and returns the
// public_key field: the CSR itself for PKCS10 accounts, the bare
// SubjectPublicKeyInfo for PKCS8 ones. CheckAccount has already refused
// PKCS8 accounts that want a signature made with the private key.
func (m *mapper) publicKey(csr *x509.CertificateRequest, der []byte) (string, error) {
	typ, size, err := keyTypeAndSize(csr.PublicKey)
	if err != nil {
		return "", policyErr("public_key.key_type", "%v", err)
	}
	if pk := m.p.PublicKey; pk != nil {
		if pk.KeyType != "" && !strings.EqualFold(pk.KeyType, typ) {
			return "", policyErr("public_key.key_type", "the CSR has an %s key; the account's validation policy accepts %s keys only", typ, strings.ToUpper(pk.KeyType))
		}
		if len(pk.AllowedLengths) > 0 && !slices.Contains(pk.AllowedLengths, size) {
			return "", policyErr("public_key.key_length", "the CSR has a %s, and the account's validation policy accepts %s", describeKey(typ, size), allowedSizes(typ, pk.AllowedLengths))
		}
	}
	var block *pem.Block
	if m.p.KeyFormat() == atlas.KeyFormatPKCS8 {
		spki, err := x509.MarshalPKIXPublicKey(csr.PublicKey)
		if err != nil {
			return "", policyErr("public_key.key_type", "the CSR's key cannot be encoded: %v", err)
		}
		block = &pem.Block{Type: "PUBLIC KEY", Bytes: spki}
	} else {
		// Re-encoded so that PEM headers or an old label never reach Atlas.
		block = &pem.Block{Type: pemCSR, Bytes: der}
	}
	// Atlas's own client strips the final newline; do the same.
	return strings.TrimSuffix(string(pem.EncodeToMemory(block)), "\n"), nil
}

func describeKey(typ string, size int) string {
	if typ == atlas.KeyTypeECDSA {
		return fmt.Sprintf("%d-bit ECDSA key (curve P-%d)", size, size)
	}
	return fmt.Sprintf("%d-bit %s key", size, typ)
}

func allowedSizes(typ string, sizes []int) string {
	parts := make([]string, len(sizes))
	for i, s := range sizes {
		parts[i] = fmt.Sprint(s)
	}
	unit := "bits"
	if typ == atlas.KeyTypeECDSA {
		unit = "bits (curve size)"
	}
	return strings.Join(parts, " or ") + " " + unit
}
