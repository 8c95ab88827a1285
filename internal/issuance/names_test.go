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
	"crypto/x509/pkix"
	"encoding/asn1"
	"strconv"
	"strings"
	"testing"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

const oidUPN = "1.3.6.1.4.1.311.20.2.3"

// gn is one GeneralName for sanExt: a context tag and its body.
type gn struct {
	tag  int
	body []byte
}

func dnsName(name string) gn { return gn{2, []byte(name)} }

// otherNameGN encodes an otherName as cert-manager does: the type OID, then
// the value in an explicit [0].
func otherNameGN(oid string, value asn1.RawValue) gn {
	id := must(parseOIDForTest(oid))
	inner := must(asn1.Marshal(value))
	wrapped := must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}))
	return gn{tagOtherName, append(must(asn1.Marshal(id)), wrapped...)}
}

func utf8Value(s string) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(s)}
}

func parseOIDForTest(s string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	for part := range strings.SplitSeq(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, err
		}
		oid = append(oid, n)
	}
	return oid, nil
}

// sanExt builds a SAN extension from names.
func sanExt(names ...gn) pkix.Extension {
	var body []byte
	for _, n := range names {
		compound := n.tag == tagOtherName || n.tag == tagDirectoryName || n.tag == tagX400Address || n.tag == tagEDIPartyName
		body = append(body, must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: n.tag, IsCompound: compound, Bytes: n.body}))...)
	}
	return pkix.Extension{Id: oidSubjectAltName, Value: must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: body}))}
}

func otherNamePolicy(p *atlas.ValidationPolicy) {
	p.SAN.OtherNames = map[string]atlas.TypeAndValuePolicy{
		oidUPN: {ValueType: "UTF8STRING", ValueFormat: `.*@example\.com`, MaxCount: 1},
	}
}

func TestMapOtherNames(t *testing.T) {
	upn := otherNameGN(oidUPN, utf8Value("alice@example.com"))
	runMapCases(t, []mapCase{
		{name: "otherName the policy allows is sent",
			csr:    &csrSpec{extensions: []pkix.Extension{sanExt(dnsName("a.example.com"), upn)}},
			policy: otherNamePolicy,
			check: func(t *testing.T, r *Result) {
				eq(t, "san", r.Request.SAN, &atlas.SAN{
					DNSNames:   []string{"a.example.com"},
					OtherNames: []atlas.OIDValue{{Type: oidUPN, Value: "alice@example.com"}},
				})
			}},
		{name: "otherName without an other_names policy fails",
			csr:   &csrSpec{extensions: []pkix.Extension{sanExt(dnsName("a.example.com"), upn)}},
			field: "san.other_names", reason: "otherName of type " + oidUPN + ", which the account's validation policy does not allow"},
		{name: "otherName of another type fails",
			csr:    &csrSpec{extensions: []pkix.Extension{sanExt(otherNameGN("1.2.3.4", utf8Value("x")))}},
			policy: otherNamePolicy,
			field:  "san.other_names", reason: "type 1.2.3.4"},
		{name: "otherName value outside the format",
			csr:    &csrSpec{extensions: []pkix.Extension{sanExt(otherNameGN(oidUPN, utf8Value("mallory@evil.com")))}},
			policy: otherNamePolicy,
			field:  "san.other_names", reason: `"mallory@evil.com", does not match the account's format`},
		{name: "too many otherNames of a type",
			csr:    &csrSpec{extensions: []pkix.Extension{sanExt(upn, otherNameGN(oidUPN, utf8Value("bob@example.com")))}},
			policy: otherNamePolicy,
			field:  "san.other_names", reason: "allows at most 1"},
		{name: "IA5 policy takes a UTF8 value that fits, with a note",
			csr: &csrSpec{extensions: []pkix.Extension{sanExt(upn)}},
			policy: func(p *atlas.ValidationPolicy) {
				otherNamePolicy(p)
				p.SAN.OtherNames[oidUPN] = atlas.TypeAndValuePolicy{ValueType: "ia5string", MaxCount: 1}
			},
			notes: []string{"keeps its text but is written as IA5STRING"},
			check: func(t *testing.T, r *Result) {
				eq(t, "other names", r.Request.SAN.OtherNames, []atlas.OIDValue{{Type: oidUPN, Value: "alice@example.com"}})
			}},
		{name: "IA5 policy cannot hold non-ASCII text",
			csr: &csrSpec{extensions: []pkix.Extension{sanExt(otherNameGN(oidUPN, utf8Value("jörg@example.com")))}},
			policy: func(p *atlas.ValidationPolicy) {
				p.SAN.OtherNames = map[string]atlas.TypeAndValuePolicy{oidUPN: {ValueType: "IA5STRING", MaxCount: 1}}
			},
			field: "san.other_names", reason: "cannot hold"},
		{name: "DER value type sends the whole value as hex",
			csr: &csrSpec{extensions: []pkix.Extension{sanExt(otherNameGN("1.2.3.4", asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagOctetString, Bytes: []byte{0xca, 0xfe}}))}},
			policy: func(p *atlas.ValidationPolicy) {
				p.SAN.OtherNames = map[string]atlas.TypeAndValuePolicy{"1.2.3.4": {ValueType: "DER", MaxCount: 1}}
			},
			check: func(t *testing.T, r *Result) {
				eq(t, "other names", r.Request.SAN.OtherNames, []atlas.OIDValue{{Type: "1.2.3.4", Value: "0402cafe"}})
			}},
		{name: "static otherName is left to Atlas",
			csr: &csrSpec{extensions: []pkix.Extension{sanExt(dnsName("a.example.com"), upn)}},
			policy: func(p *atlas.ValidationPolicy) {
				p.SAN.OtherNames = map[string]atlas.TypeAndValuePolicy{oidUPN: {Static: true, ValueType: "UTF8STRING", ValueFormat: "alice@example.com"}}
			},
			check: func(t *testing.T, r *Result) { eq(t, "other names", r.Request.SAN.OtherNames, []atlas.OIDValue(nil)) }},
		{name: "a directoryName SAN fails",
			csr:   &csrSpec{extensions: []pkix.Extension{sanExt(dnsName("a.example.com"), gn{tagDirectoryName, must(asn1.Marshal(pkix.Name{CommonName: "x"}.ToRDNSequence()))})}},
			field: "san", reason: "directoryName subject alternative name, which Atlas has no field for"},
		{name: "a registeredID SAN fails",
			csr:   &csrSpec{extensions: []pkix.Extension{sanExt(gn{tagRegisteredID, []byte{0x2a, 0x03}})}},
			field: "san", reason: "registeredID"},
	})
}
