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
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// testNow has sub-second precision so that truncation to seconds shows.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 987654321, time.UTC)

// Keys are generated once: RSA generation is slow on a busy machine.
var (
	rsa2048 = sync.OnceValue(func() crypto.Signer { return must(rsa.GenerateKey(rand.Reader, 2048)) })
	rsa1024 = sync.OnceValue(func() crypto.Signer { return must(rsa.GenerateKey(rand.Reader, 1024)) })
	ecP256  = sync.OnceValue(func() crypto.Signer { return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
	ecP384  = sync.OnceValue(func() crypto.Signer { return must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)) })
	edKey   = sync.OnceValue(func() crypto.Signer {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// csrSpec describes a test CSR; a nil key means RSA 2048.
type csrSpec struct {
	key     crypto.Signer
	subject pkix.Name
	dns     []string
	ips     []string
	emails  []string
	uris    []string
	// extensions are added as they are; a SAN extension here replaces the
	// one crypto/x509 would build from the names above.
	extensions []pkix.Extension
	// rawSubject, if set, is the subject's DER as written, like
	// cert-manager's literalSubject.
	rawSubject []byte
}

// csrDER builds a signed CSR the way cert-manager does, with crypto/x509.
func csrDER(s csrSpec) []byte {
	key := s.key
	if key == nil {
		key = rsa2048()
	}
	tmpl := &x509.CertificateRequest{
		Subject: s.subject, RawSubject: s.rawSubject, DNSNames: s.dns, EmailAddresses: s.emails, ExtraExtensions: s.extensions,
	}
	for _, ip := range s.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	for _, u := range s.uris {
		tmpl.URIs = append(tmpl.URIs, must(url.Parse(u)))
	}
	return must(x509.CreateCertificateRequest(rand.Reader, tmpl, key))
}

func csrPEM(s csrSpec) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER(s)})
}

// p224CSR hand-builds a valid CSR on P-224, a curve crypto/x509 parses but
// will not create requests for, and Atlas does not accept.
func p224CSR() []byte {
	key := must(ecdsa.GenerateKey(elliptic.P224(), rand.Reader))
	spki := must(x509.MarshalPKIXPublicKey(&key.PublicKey))
	subject := must(asn1.Marshal(pkix.Name{CommonName: "a.example.com"}.ToRDNSequence()))
	tbs := must(asn1.Marshal(struct {
		Version    int
		Subject    asn1.RawValue
		PublicKey  asn1.RawValue
		Attributes []asn1.RawValue `asn1:"tag:0"`
	}{0, asn1.RawValue{FullBytes: subject}, asn1.RawValue{FullBytes: spki}, []asn1.RawValue{}}))
	digest := sha256.Sum256(tbs)
	sig := must(ecdsa.SignASN1(rand.Reader, key, digest[:]))
	der := must(asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{
		asn1.RawValue{FullBytes: tbs},
		pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}},
		asn1.BitString{Bytes: sig, BitLength: len(sig) * 8},
	}))
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func sp(p atlas.Presence, format string) *atlas.StringPolicy {
	return &atlas.StringPolicy{Presence: p, Format: format}
}

// basePolicy is a typical PKCS10 RSA account that accepts every kind of
// name; each test row narrows it.
func basePolicy() *atlas.ValidationPolicy {
	opt := func() *atlas.StringPolicy { return sp(atlas.PresenceOptional, "") }
	return &atlas.ValidationPolicy{
		Validity: &atlas.ValidityPolicy{
			SecondsMin: 3600, SecondsMax: 397 * 86400,
			NotBeforeNegativeSkew: 120, NotBeforePositiveSkew: 120,
		},
		SubjectDN: &atlas.SubjectDNPolicy{
			CommonName:         opt(),
			Organization:       opt(),
			OrganizationalUnit: &atlas.ListPolicy{MaxCount: 3, List: []string{".*"}},
			Country:            sp(atlas.PresenceOptional, "^[A-Z]{2}$"),
			State:              opt(),
			Locality:           opt(),
			StreetAddress:      opt(),
			PostalCode:         opt(),
			SerialNumber:       opt(),
			Email:              opt(),
		},
		SAN: &atlas.SANPolicy{
			DNSNames:    &atlas.ListPolicy{MaxCount: 10, List: []string{".example.com"}},
			IPAddresses: &atlas.ListPolicy{MaxCount: 2, List: []string{`10\..*`}},
			Emails:      &atlas.ListPolicy{MaxCount: 2, List: []string{"@example.com"}},
			URIs:        &atlas.ListPolicy{MaxCount: 2, List: []string{`^spiffe://example\.com/.*$`}},
		},
		ExtendedKeyUsages: &atlas.EKUPolicy{EKUs: &atlas.ListPolicy{
			MaxCount: 2, List: []string{`^1\.3\.6\.1\.5\.5\.7\.3\.[1-2]$`},
		}},
		KeyUsages: map[string]string{
			"digital_signature":    atlas.KeyUsageOptional,
			"key_encipherment":     atlas.KeyUsageOptional,
			"content_commitment":   atlas.KeyUsageStaticTrue,
			"key_agreement":        atlas.KeyUsageStaticFalse,
			"data_encipherment":    atlas.KeyUsageStaticFalse,
			"key_certificate_sign": atlas.KeyUsageStaticFalse,
			"crl_sign":             atlas.KeyUsageStaticFalse,
		},
		PublicKey: &atlas.PublicKeyPolicy{
			KeyType: atlas.KeyTypeRSA, AllowedLengths: []int{2048, 4096}, KeyFormat: atlas.KeyFormatPKCS10,
		},
		PublicKeySignature: atlas.PresenceForbidden,
	}
}

// ecPolicy is basePolicy for an ECDSA PKCS8 account.
func ecPolicy() *atlas.ValidationPolicy {
	p := basePolicy()
	p.PublicKey = &atlas.PublicKeyPolicy{KeyType: "ECDSA", AllowedLengths: []int{256, 384}, KeyFormat: "PKCS8"}
	return p
}
