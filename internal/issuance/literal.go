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
	"strings"
)

// subjectAttr is one attribute of the CSR's subject with its encoding.
type subjectAttr struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// subjectRDNSET is one relative distinguished name; the SET suffix makes
// encoding/asn1 read it as a SET OF.
type subjectRDNSET []subjectAttr

// subjectOrder is the order in which Atlas writes the subject attributes it
// composes from subject_dn, by OID; extra attributes follow, in the order
// sent. Atlas does not document it: for the attributes cert-manager's
// subject fields have it is the conventional order crypto/x509, and so
// every CSR cert-manager builds without literalSubject, uses (C, ST, L,
// STREET, postalCode, O, OU, CN, serialNumber), and the others follow in
// the order of Atlas's fields.
var subjectOrder = []string{
	"2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.9", "2.5.4.17", "2.5.4.10", oidOrganizationalUnit, oidCommonName, "2.5.4.5",
	"2.5.4.42", "2.5.4.4", "2.5.4.97", "1.2.840.113549.1.9.1", "2.5.4.65",
	"1.3.6.1.4.1.311.60.2.1.1", "1.3.6.1.4.1.311.60.2.1.2", "1.3.6.1.4.1.311.60.2.1.3", "2.5.4.15",
}

// shortNames are the RFC 4514 (and common) short names used in messages.
var shortNames = map[string]string{
	"2.5.4.6": "C", "2.5.4.8": "ST", "2.5.4.7": "L", "2.5.4.9": "STREET", "2.5.4.17": "postalCode",
	"2.5.4.10": "O", oidOrganizationalUnit: "OU", oidCommonName: "CN", "2.5.4.5": "serialNumber",
	"2.5.4.42": "GN", "2.5.4.4": "SN", "2.5.4.97": "organizationIdentifier", "1.2.840.113549.1.9.1": "emailAddress",
	"2.5.4.65": "pseudonym", "2.5.4.15": "businessCategory",
}

func attrName(oid string) string {
	if n, ok := shortNames[oid]; ok {
		return n
	}
	return oid
}

// subjectAttrs reads the CSR's subject as written, RDN by RDN, and refuses
// one Atlas would write differently: Atlas composes the subject from
// subject_dn, one attribute per RDN in its own order, so a multi-valued RDN
// or another order (both possible with cert-manager's literalSubject) would
// silently become another subject.
func subjectAttrs(csr *x509.CertificateRequest) ([]subjectAttr, error) {
	var rdns []subjectRDNSET
	if rest, err := asn1.Unmarshal(csr.RawSubject, &rdns); err != nil || len(rest) > 0 {
		return nil, policyErr("csr", "the subject cannot be parsed")
	}
	rank := map[string]int{}
	for i, oid := range subjectOrder {
		rank[oid] = i
	}
	var out []subjectAttr
	prev, prevRank := "", -1
	for _, rdn := range rdns {
		// Several values of one attribute share an RDN when crypto/x509
		// writes them (cert-manager's organizationalUnits); they are sent as
		// Atlas's list, and how Atlas groups them is its choice.
		if mixedRDN(rdn) {
			names := make([]string, len(rdn))
			for i, a := range rdn {
				names[i] = attrName(a.Type.String())
			}
			return nil, policyErr("subject_dn", "the subject has a multi-valued RDN (%s); Atlas writes one attribute per RDN, so the certificate's subject would differ from the one requested; write each attribute as an RDN of its own", strings.Join(names, "+"))
		}
		for _, a := range rdn {
			oid := a.Type.String()
			r, known := rank[oid]
			if !known {
				r = len(subjectOrder)
			}
			if r < prevRank {
				return nil, policyErr("subject_dn", "the subject has %s before %s; Atlas writes the subject in the order %s, then other attributes, so the certificate's subject would differ from the one requested; reorder the literal subject (an RFC 4514 string lists it reversed: CN=...,O=...,C=...)", attrName(prev), attrName(oid), orderList())
			}
			prev, prevRank = oid, r
			out = append(out, a)
		}
	}
	return out, nil
}

// mixedRDN reports whether an RDN holds attributes of more than one type.
func mixedRDN(rdn subjectRDNSET) bool {
	for _, a := range rdn[1:] {
		if !a.Type.Equal(rdn[0].Type) {
			return true
		}
	}
	return false
}

func orderList() string {
	names := make([]string, len(subjectOrder))
	for i, oid := range subjectOrder {
		names[i] = attrName(oid)
	}
	return strings.Join(names, ", ")
}

// attrText returns the text of an attribute in any of the string types.
func attrText(a subjectAttr) (string, bool) {
	var s string
	if rest, err := asn1.Unmarshal(a.Value.FullBytes, &s); err != nil || len(rest) > 0 {
		return "", false
	}
	return s, true
}
