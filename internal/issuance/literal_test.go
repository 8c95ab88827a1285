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
	"testing"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

var (
	oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidDC  = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
)

// literal encodes RDNs as written, the way cert-manager encodes a
// literalSubject: each inner slice is one RDN.
func literal(rdns ...[]pkix.AttributeTypeAndValue) []byte {
	seq := make(pkix.RDNSequence, len(rdns))
	for i, r := range rdns {
		seq[i] = r
	}
	return must(asn1.Marshal(seq))
}

func atv(oid asn1.ObjectIdentifier, v string) []pkix.AttributeTypeAndValue {
	return []pkix.AttributeTypeAndValue{{Type: oid, Value: v}}
}

var (
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
)

func uidPolicy(p *atlas.ValidationPolicy) {
	p.SubjectDN.ExtraAttributes = map[string]atlas.TypeAndValuePolicy{
		oidUID.String(): {ValueType: "UTF8STRING", MaxCount: 1},
	}
}

func TestMapLiteralSubject(t *testing.T) {
	dns := []string{"a.example.com"}
	runMapCases(t, []mapCase{
		{name: "literal subject in Atlas's order is kept",
			csr: &csrSpec{dns: dns, rawSubject: literal(atv(oidC, "BE"), atv(oidO, "Acme"), atv(oidOU, "Ops"), atv(oidOU, "Web"), atv(oidCN, "a.example.com"))},
			check: func(t *testing.T, r *Result) {
				eq(t, "subject", r.Request.SubjectDN, atlas.SubjectDN{
					Country: "BE", Organization: "Acme", OrganizationalUnit: []string{"Ops", "Web"}, CommonName: "a.example.com",
				})
			}},
		{name: "literal subject in another order is refused",
			csr:   &csrSpec{dns: dns, rawSubject: literal(atv(oidCN, "a.example.com"), atv(oidO, "Acme"), atv(oidC, "BE"))},
			field: "subject_dn", reason: "the subject has CN before O; Atlas writes the subject in the order C, ST, L, STREET, postalCode, O, OU, CN, serialNumber"},
		{name: "multi-valued RDN of different attributes is refused",
			csr:    &csrSpec{dns: dns, rawSubject: literal(append(atv(oidCN, "a.example.com"), atv(oidUID, "alice")...))},
			policy: uidPolicy,
			field:  "subject_dn", reason: "multi-valued RDN (0.9.2342.19200300.100.1.1+CN); Atlas writes one attribute per RDN"},
		{name: "several OUs in one RDN, as crypto/x509 writes them, are a list",
			csr: &csrSpec{dns: dns, subject: pkix.Name{OrganizationalUnit: []string{"Ops", "Web"}, CommonName: "a.example.com"}},
			check: func(t *testing.T, r *Result) {
				eq(t, "OUs", r.Request.SubjectDN.OrganizationalUnit, []string{"Ops", "Web"})
			}},
		{name: "attribute the policy's extra_attributes allows is sent",
			csr:    &csrSpec{dns: dns, rawSubject: literal(atv(oidO, "Acme"), atv(oidCN, "a.example.com"), atv(oidUID, "alice"))},
			policy: uidPolicy,
			notes:  []string{"keeps its text but is written as UTF8STRING"},
			check: func(t *testing.T, r *Result) {
				eq(t, "subject", r.Request.SubjectDN, atlas.SubjectDN{
					Organization: "Acme", CommonName: "a.example.com",
					ExtraAttributes: []atlas.OIDValue{{Type: oidUID.String(), Value: "alice"}},
				})
			}},
		{name: "extra attribute before a known one is refused",
			csr:    &csrSpec{dns: dns, rawSubject: literal(atv(oidUID, "alice"), atv(oidCN, "a.example.com"))},
			policy: uidPolicy,
			field:  "subject_dn", reason: "the subject has 0.9.2342.19200300.100.1.1 before CN"},
		{name: "attribute extra_attributes does not allow fails",
			csr:    &csrSpec{dns: dns, rawSubject: literal(atv(oidCN, "a.example.com"), atv(oidDC, "example"))},
			policy: uidPolicy,
			field:  "subject_dn.extra_attributes", reason: "type 0.9.2342.19200300.100.1.25"},
		{name: "extra attribute over its maxcount fails",
			csr:    &csrSpec{dns: dns, rawSubject: literal(atv(oidCN, "a.example.com"), atv(oidUID, "alice"), atv(oidUID, "bob"))},
			policy: uidPolicy,
			field:  "subject_dn.extra_attributes", reason: "allows at most 1"},
	})
}
