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
	"slices"
	"strings"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// dnAttr ties a subject attribute's OID to its Atlas field and policy entry.
type dnAttr struct {
	oid   string
	field string // Atlas's JSON name under subject_dn
	label string // what a user calls it, for notes
	pol   func(*atlas.SubjectDNPolicy) *atlas.StringPolicy
	set   func(*atlas.SubjectDN, string)
}

const (
	oidCommonName         = "2.5.4.3"
	oidOrganizationalUnit = "2.5.4.11"
)

// dnAttrs lists the single-valued attributes Atlas has a field for, common
// name first: a forbidden or defaulted common name needs the DNS names, and
// its note reads best first.
var dnAttrs = []dnAttr{
	{oidCommonName, "common_name", "common name",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.CommonName },
		func(d *atlas.SubjectDN, v string) { d.CommonName = v }},
	{"2.5.4.10", "organization", "organization",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.Organization },
		func(d *atlas.SubjectDN, v string) { d.Organization = v }},
	{"2.5.4.6", "country", "country",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.Country },
		func(d *atlas.SubjectDN, v string) { d.Country = v }},
	{"2.5.4.8", "state", "state or province",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.State },
		func(d *atlas.SubjectDN, v string) { d.State = v }},
	{"2.5.4.7", "locality", "locality",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.Locality },
		func(d *atlas.SubjectDN, v string) { d.Locality = v }},
	{"2.5.4.9", "street_address", "street address",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.StreetAddress },
		func(d *atlas.SubjectDN, v string) { d.StreetAddress = v }},
	{"2.5.4.17", "postal_code", "postal code",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.PostalCode },
		func(d *atlas.SubjectDN, v string) { d.PostalCode = v }},
	{"2.5.4.5", "serial_number", "serial number",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.SerialNumber },
		func(d *atlas.SubjectDN, v string) { d.SerialNumber = v }},
	{"1.2.840.113549.1.9.1", "email", "email address",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.Email },
		func(d *atlas.SubjectDN, v string) { d.Email = v }},
	{"2.5.4.42", "given_name", "given name",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.GivenName },
		func(d *atlas.SubjectDN, v string) { d.GivenName = v }},
	{"2.5.4.4", "surname", "surname",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.Surname },
		func(d *atlas.SubjectDN, v string) { d.Surname = v }},
	{"2.5.4.65", "pseudonym", "pseudonym",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.Pseudonym },
		func(d *atlas.SubjectDN, v string) { d.Pseudonym = v }},
	{"2.5.4.97", "organization_identifier", "organization identifier",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.OrganizationIdentifier },
		func(d *atlas.SubjectDN, v string) { d.OrganizationIdentifier = v }},
	{"2.5.4.15", "business_category", "business category",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.BusinessCategory },
		func(d *atlas.SubjectDN, v string) { d.BusinessCategory = v }},
	{"1.3.6.1.4.1.311.60.2.1.1", "jurisdiction_of_incorporation_locality_name", "jurisdiction locality",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.JurisdictionOfIncorporationLocalityName },
		func(d *atlas.SubjectDN, v string) { d.JurisdictionOfIncorporationLocalityName = v }},
	{"1.3.6.1.4.1.311.60.2.1.2", "jurisdiction_of_incorporation_state_or_province_name", "jurisdiction state or province",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy {
			return p.JurisdictionOfIncorporationStateOrProvinceName
		},
		func(d *atlas.SubjectDN, v string) { d.JurisdictionOfIncorporationStateOrProvinceName = v }},
	{"1.3.6.1.4.1.311.60.2.1.3", "jurisdiction_of_incorporation_country_name", "jurisdiction country",
		func(p *atlas.SubjectDNPolicy) *atlas.StringPolicy { return p.JurisdictionOfIncorporationCountryName },
		func(d *atlas.SubjectDN, v string) { d.JurisdictionOfIncorporationCountryName = v }},
}

// subject maps every attribute of the CSR's subject into req.SubjectDN,
// since Atlas ignores the subject inside the CSR itself. Attributes are read
// from the raw RDNs, not pkix.Name's fields, which keep only the last of a
// repeated common name or serial number, and lose the RDN structure and
// the encodings: what should be refused would be hidden.
func (m *mapper) subject(csr *x509.CertificateRequest, req *atlas.CertificateRequest) error {
	values, extra, err := subjectValues(csr)
	if err != nil {
		return err
	}

	dp := m.p.SubjectDN
	for _, a := range dnAttrs {
		vals := values[a.oid]
		if len(vals) > 1 {
			return policyErr("subject_dn."+a.field, "the CSR has %d values (%s); Atlas takes a single %s", len(vals), quoteList(vals), a.label)
		}
		v := ""
		if len(vals) == 1 {
			v = vals[0]
		}
		var sp *atlas.StringPolicy
		if dp != nil {
			sp = a.pol(dp)
		}
		defaulted := false
		if a.oid == oidCommonName {
			cn := m.commonName(v, sp, csr)
			defaulted = v == "" && cn != ""
			v = cn
		}
		send, err := m.applyString("subject_dn."+a.field, a.label, v, sp)
		if err != nil {
			if defaulted {
				// The user never wrote this value; say where it came from.
				err.Reason += "; the account requires a common name and the request has none, so the first DNS name was used"
			}
			return err
		}
		if send {
			a.set(&req.SubjectDN, v)
		}
	}

	ous := values[oidOrganizationalUnit]
	var lp *atlas.ListPolicy
	if dp != nil {
		lp = dp.OrganizationalUnit
	}
	if lp == nil {
		if len(ous) > 0 {
			m.note("subject organizational unit is not in the account's validation policy and was left out")
		}
	} else {
		var err error
		if req.SubjectDN.OrganizationalUnit, err = m.list("subject_dn.organizational_unit", "organizational units", ous, lp, matchRegex); err != nil {
			return err
		}
	}

	// An attribute Atlas has no field for goes to extra_attributes, or
	// fails: left out, it would change the subject.
	var extraPols map[string]atlas.TypeAndValuePolicy
	if dp != nil {
		extraPols = dp.ExtraAttributes
	}
	req.SubjectDN.ExtraAttributes, err = m.oidValues("subject_dn.extra_attributes", "subject attribute", extra, extraPols)
	return err
}

// subjectValues splits the CSR's subject into the distinct texts of the
// attributes Atlas has a field for, by OID, and the other attributes as
// written.
func subjectValues(csr *x509.CertificateRequest) (map[string][]string, []rawOIDValue, error) {
	attrs, err := subjectAttrs(csr)
	if err != nil {
		return nil, nil, err
	}
	values := map[string][]string{}
	var extra []rawOIDValue
	known := map[string]bool{oidCommonName: true, oidOrganizationalUnit: true}
	for _, a := range dnAttrs {
		known[a.oid] = true
	}
	for _, atv := range attrs {
		oid := atv.Type.String()
		if !known[oid] {
			extra = append(extra, rawOIDValue{oid: oid, value: atv.Value})
			continue
		}
		s, ok := attrText(atv)
		if !ok {
			return nil, nil, policyErr("csr", "the subject attribute %s has a value that is not text", oid)
		}
		if s != "" && !slices.Contains(values[oid], s) {
			values[oid] = append(values[oid], s)
		}
	}
	return values, extra, nil
}

// commonName settles the common name before the generic rules see it.
// cert-manager often leaves the common name out and puts every name in the
// DNS names, so a required one is taken from the first DNS name; and since a
// common name is usually repeated as a DNS name, a forbidden one can be
// dropped without losing anything when it is.
func (m *mapper) commonName(cn string, sp *atlas.StringPolicy, csr *x509.CertificateRequest) string {
	if sp == nil {
		return cn
	}
	dns := dedupe(csr.DNSNames, strings.ToLower)
	switch presenceOf(sp.Presence) {
	case atlas.PresenceRequired:
		if cn == "" && len(dns) > 0 {
			m.note("the CSR has no common name and the account requires one; using the first DNS name %s", quote(dns[0]))
			return dns[0]
		}
	case atlas.PresenceForbidden:
		if cn != "" && containsFold(dns, cn) {
			m.note("the common name %s was left out: the account's validation policy forbids a common name, and the name is among the DNS names", quote(cn))
			return ""
		}
	}
	return cn
}

// applyString applies a StringPolicy to one value and reports whether to
// send it.
func (m *mapper) applyString(field, label, v string, sp *atlas.StringPolicy) (bool, *PolicyError) {
	if sp == nil {
		if v != "" {
			m.note("subject %s is not in the account's validation policy and was left out", label)
		}
		return false, nil
	}
	switch presenceOf(sp.Presence) {
	case atlas.PresenceForbidden:
		if v != "" {
			return false, policyErr(field, "is forbidden by the account's validation policy; remove the %s (%s) from the request", label, quote(v))
		}
		return false, nil
	case atlas.PresenceStatic:
		// Atlas fills a static value itself and answers 422 "is static" to
		// a different one; whether it accepts the same one is unknown, so
		// it is never sent.
		if v != "" && v != sp.Format {
			return false, policyErr(field, "is static (%s for every certificate of this account); the request has %s, so leave the %s out or set it to that value", quote(sp.Format), quote(v), label)
		}
		return false, nil
	case atlas.PresenceRequired:
		if v == "" {
			return false, policyErr(field, "is required by the account's validation policy, and the request has no %s", label)
		}
	}
	// OPTIONAL, REQUIRED, and any presence Atlas may add later.
	if v == "" {
		return false, nil
	}
	if !m.matchFormat(field, v, sp.Format) {
		return false, policyErr(field, "%s does not match the account's format %s", quote(v), quote(sp.Format))
	}
	return true, nil
}

func containsFold(list []string, v string) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}
