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
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// Input is what cert-manager asks for.
type Input struct {
	// CSR is the PEM PKCS#10 request as cert-manager gives it.
	CSR []byte
	// Duration is the requested lifetime; cert-manager defaults it to 90
	// days. Zero or less asks Atlas for the longest lifetime the account
	// allows.
	Duration time.Duration
	// IsCA asks for a CA certificate, which Atlas never issues.
	IsCA bool
	// KeyUsage and ExtKeyUsage are the usages as issuer-lib's
	// CertificateDetails gives them. They, not the CSR's extensions, are
	// what cert-manager asked for.
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage
	// Now is the time of the request; it must not be zero.
	Now time.Time
}

// Result is the Atlas request and what the user should know about it.
type Result struct {
	// Request is the body of POST /certificates.
	Request *atlas.CertificateRequest
	// NotBefore and NotAfter are the requested validity. NotAfter is zero
	// when the longest lifetime the account allows was asked for and the
	// policy does not say how long that is.
	NotBefore, NotAfter time.Time
	// Notes are user-facing remarks on how the request differs from what
	// was asked, such as a clamped lifetime or a left-out attribute.
	Notes []string
	// PublicKeyFingerprint is the hex SHA-256 of the DER
	// SubjectPublicKeyInfo of the CSR's key, for finding the issued
	// certificate again after a restart.
	PublicKeyFingerprint string
}

// mapper carries the policy and collects notes while a request is built.
type mapper struct {
	p     *atlas.ValidationPolicy
	notes []string
}

func (m *mapper) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !slices.Contains(m.notes, n) {
		m.notes = append(m.notes, n)
	}
}

// Map builds the Atlas request for in under the validation policy p. Any
// request the policy can never accept is a *PolicyError naming the field,
// returned before anything could reach Atlas; that includes CheckAccount's
// error when the account cannot serve cert-manager at all. The only other
// error is a zero in.Now, a programming mistake.
func Map(in Input, p *atlas.ValidationPolicy) (*Result, error) {
	if in.Now.IsZero() {
		return nil, errors.New("issuance: Input.Now is zero")
	}
	if err := CheckAccount(p); err != nil {
		return nil, err
	}
	m := &mapper{p: p}

	csr, der, err := parseCSR(in.CSR)
	if err != nil {
		return nil, err
	}
	if in.IsCA {
		return nil, policyErr("is_ca", "Atlas issues end-entity certificates only; set isCA to false or use a different issuer for CA certificates")
	}
	req := &atlas.CertificateRequest{}
	if req.PublicKey, err = m.publicKey(csr, der); err != nil {
		return nil, err
	}
	fingerprint, err := PublicKeyFingerprint(csr.PublicKey)
	if err != nil {
		return nil, policyErr("public_key.key_type", "%v", err)
	}
	notBefore, notAfter, err := m.validity(in, req)
	if err != nil {
		return nil, err
	}
	// SANs first: a required common name may be taken from the DNS names.
	if req.SAN, err = m.san(csr); err != nil {
		return nil, err
	}
	if err := m.subject(csr, req); err != nil {
		return nil, err
	}
	if req.ExtendedKeyUsages, err = m.extKeyUsages(in.ExtKeyUsage); err != nil {
		return nil, err
	}
	if req.KeyUsages, err = m.keyUsages(in.KeyUsage); err != nil {
		return nil, err
	}
	req.Signature = Signature(m.p, csr.PublicKeyAlgorithm)
	return &Result{
		Request:              req,
		NotBefore:            notBefore,
		NotAfter:             notAfter,
		Notes:                m.notes,
		PublicKeyFingerprint: fingerprint,
	}, nil
}

// validity fills req.Validity. not_before is the request time itself: Atlas
// accepts it up to the policy's negative skew in the past, and backdating
// would only eat into that allowance for slow round trips.
func (m *mapper) validity(in Input, req *atlas.CertificateRequest) (time.Time, time.Time, error) {
	nb := in.Now.Unix()
	notBefore := time.Unix(nb, 0).UTC()
	var minS, maxS int64
	if v := m.p.Validity; v != nil {
		minS, maxS = max(v.SecondsMin, 0), max(v.SecondsMax, 0)
	}
	req.Validity.NotBefore = nb

	if in.Duration <= 0 {
		// not_after 0 is Atlas's own way to ask for the policy maximum.
		if maxS > 0 {
			m.note("no duration was requested; requesting the policy maximum of %s", humanSeconds(maxS))
			return notBefore, time.Unix(nb+maxS, 0).UTC(), nil
		}
		m.note("no duration was requested; requesting the longest lifetime the account allows")
		return notBefore, time.Time{}, nil
	}

	// Round up so that a sub-second duration still asks for a lifetime.
	life := int64((in.Duration + time.Second - 1) / time.Second)
	if maxS > 0 && life > maxS {
		m.note("requested duration %s exceeds the policy maximum of %s; requesting %s", in.Duration, humanSeconds(maxS), humanSeconds(maxS))
		life = maxS
	}
	if minS > 0 && life < minS {
		m.note("requested duration %s is below the policy minimum of %s; requesting %s", in.Duration, humanSeconds(minS), humanSeconds(minS))
		life = minS
	}
	if nb > math.MaxInt64-life {
		return time.Time{}, time.Time{}, policyErr("validity", "the requested end of validity is out of range")
	}
	na := nb + life
	if v := m.p.Validity; v != nil && v.IssuerExpiry > 0 && na > v.IssuerExpiry {
		// The meaning of issuer_expiry is not documented, so this only warns.
		m.note("the requested end of validity %s is after the issuing CA's expiry %s; Atlas may shorten or refuse the certificate",
			time.Unix(na, 0).UTC().Format(time.RFC3339), time.Unix(v.IssuerExpiry, 0).UTC().Format(time.RFC3339))
	}
	req.Validity.NotAfter = na
	return notBefore, time.Unix(na, 0).UTC(), nil
}
