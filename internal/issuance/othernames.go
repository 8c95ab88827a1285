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
	"encoding/asn1"
	"errors"
)

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// GeneralName tags (RFC 5280, 4.2.1.6) crypto/x509 does not parse; it
// parses rfc822Name (1), dNSName (2), URI (6) and iPAddress (7) and skips
// the others without a word.
const (
	tagOtherName     = 0
	tagX400Address   = 3
	tagDirectoryName = 4
	tagEDIPartyName  = 5
	tagRegisteredID  = 8
)

var unmappedNameKinds = map[int]string{
	tagX400Address:   "x400Address",
	tagDirectoryName: "directoryName",
	tagEDIPartyName:  "ediPartyName",
	tagRegisteredID:  "registeredID",
}

// otherNames returns the otherName SANs of the CSR (cert-manager's
// otherNames), and fails for a kind of name Atlas has no field for, which
// would otherwise vanish from the certificate.
func otherNames(csr *x509.CertificateRequest) ([]rawOIDValue, error) {
	var out []rawOIDValue
	for _, ext := range csr.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		names, err := generalNames(ext.Value)
		if err != nil {
			return nil, policyErr("csr", "the subject alternative names cannot be parsed: %v", err)
		}
		for _, gn := range names {
			if kind, ok := unmappedNameKinds[gn.Tag]; ok {
				return nil, policyErr("san", "the CSR has a %s subject alternative name, which Atlas has no field for; remove it from the request", kind)
			}
			if gn.Tag != tagOtherName {
				continue
			}
			on, err := parseOtherName(gn.Bytes)
			if err != nil {
				return nil, policyErr("csr", "an otherName subject alternative name cannot be parsed: %v", err)
			}
			out = append(out, on)
		}
	}
	return out, nil
}

// generalNames splits a GeneralNames SEQUENCE into its context-tagged
// elements.
func generalNames(der []byte) ([]asn1.RawValue, error) {
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, errors.New("not a SEQUENCE of names")
	}
	var out []asn1.RawValue
	for in := seq.Bytes; len(in) > 0; {
		var gn asn1.RawValue
		if in, err = asn1.Unmarshal(in, &gn); err != nil {
			return nil, err
		}
		if gn.Class != asn1.ClassContextSpecific {
			return nil, errors.New("a name without a context tag")
		}
		out = append(out, gn)
	}
	return out, nil
}

// parseOtherName reads the body of an otherName: type-id OID, then the
// value wrapped in an explicit [0].
func parseOtherName(body []byte) (rawOIDValue, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(body, &oid)
	if err != nil {
		return rawOIDValue{}, err
	}
	var wrapped asn1.RawValue
	if rest, err = asn1.Unmarshal(rest, &wrapped); err != nil {
		return rawOIDValue{}, err
	}
	if len(rest) > 0 || wrapped.Class != asn1.ClassContextSpecific || wrapped.Tag != 0 || !wrapped.IsCompound {
		return rawOIDValue{}, errors.New("the value is not wrapped in [0]")
	}
	var value asn1.RawValue
	if rest, err = asn1.Unmarshal(wrapped.Bytes, &value); err != nil {
		return rawOIDValue{}, err
	}
	if len(rest) > 0 {
		return rawOIDValue{}, errors.New("data after the value")
	}
	return rawOIDValue{oid: oid.String(), value: value}, nil
}
