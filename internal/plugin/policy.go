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

package plugin

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/issuance"
)

// policyRows summarises a validation policy as (field, rule) rows, in the
// order a request is built: key, lifetime, subject, names, usages. Sections
// the account's policy omits are left out; the full policy is one -o away.
func policyRows(p *atlas.ValidationPolicy) [][2]string {
	var rows policyRowList
	rows.add("summary", issuance.Summary(p))
	addKeyRows(&rows, p)
	addValidityRows(&rows, p)
	addSubjectRows(&rows, p)
	addSANRows(&rows, p)
	addUsageRows(&rows, p)
	addOtherRows(&rows, p)
	return rows
}

// policyRowList collects the (field, rule) rows of policyRows.
type policyRowList [][2]string

func (r *policyRowList) add(field, rule string) { *r = append(*r, [2]string{field, rule}) }

// addKeyRows adds the key type, lengths, format and proof of possession.
func addKeyRows(rows *policyRowList, p *atlas.ValidationPolicy) {
	key := "any"
	if pk := p.PublicKey; pk != nil {
		key = orDash(strings.ToUpper(pk.KeyType))
		if len(pk.AllowedLengths) > 0 {
			ls := make([]string, len(pk.AllowedLengths))
			for i, l := range pk.AllowedLengths {
				ls[i] = fmt.Sprint(l)
			}
			key += " " + strings.Join(ls, "/")
		}
	}
	format := p.KeyFormat()
	switch format {
	case atlas.KeyFormatPKCS10:
		format += " (send a CSR)"
	case atlas.KeyFormatPKCS8:
		format += " (send the public key)"
	}
	rows.add("public_key", key+", "+format)
	if p.PublicKeySignature != "" {
		rule := string(p.PublicKeySignature)
		if p.NeedsPrivateKey() {
			rule += " (needs the private key: unusable by cert-manager)"
		}
		rows.add("public_key_signature", rule)
	}
}

// addValidityRows adds the lifetime and not_before window.
func addValidityRows(rows *policyRowList, p *atlas.ValidationPolicy) {
	if v := p.Validity; v != nil {
		rows.add("validity", fmt.Sprintf("lifetime %s to %s", durationText(v.SecondsMin), durationText(v.SecondsMax)))
		rows.add("validity.not_before", fmt.Sprintf("from %s before to %s after now", durationText(v.NotBeforeNegativeSkew), durationText(v.NotBeforePositiveSkew)))
		if v.IssuerExpiry != 0 {
			rows.add("validity.issuer_expiry", unixTime(v.IssuerExpiry))
		}
	}
}

// addSubjectRows adds one row per subject DN attribute the policy names.
func addSubjectRows(rows *policyRowList, p *atlas.ValidationPolicy) {
	if dn := p.SubjectDN; dn != nil {
		for _, a := range []struct {
			name string
			sp   *atlas.StringPolicy
		}{
			{"common_name", dn.CommonName}, {"given_name", dn.GivenName}, {"surname", dn.Surname},
			{"organization", dn.Organization}, {"organization_identifier", dn.OrganizationIdentifier},
			{"country", dn.Country}, {"state", dn.State}, {"locality", dn.Locality},
			{"street_address", dn.StreetAddress}, {"postal_code", dn.PostalCode}, {"email", dn.Email},
			{"serial_number", dn.SerialNumber}, {"pseudonym", dn.Pseudonym},
			{"business_category", dn.BusinessCategory},
			{"jurisdiction_of_incorporation_locality_name", dn.JurisdictionOfIncorporationLocalityName},
			{"jurisdiction_of_incorporation_state_or_province_name", dn.JurisdictionOfIncorporationStateOrProvinceName},
			{"jurisdiction_of_incorporation_country_name", dn.JurisdictionOfIncorporationCountryName},
		} {
			if a.sp != nil {
				rows.add("subject_dn."+a.name, stringRule(a.sp))
			}
		}
		if dn.OrganizationalUnit != nil {
			rows.add("subject_dn.organizational_unit", listRule(dn.OrganizationalUnit, "matching"))
		}
		if len(dn.ExtraAttributes) > 0 {
			rows.add("subject_dn.extra_attributes", oids(dn.ExtraAttributes))
		}
	}
}

// addSANRows adds one row per SAN type the policy names.
func addSANRows(rows *policyRowList, p *atlas.ValidationPolicy) {
	if san := p.SAN; san != nil {
		for _, l := range []struct {
			name, how string
			lp        *atlas.ListPolicy
		}{
			{"dns_names", "ending in", san.DNSNames}, {"emails", "ending in", san.Emails},
			{"ip_addresses", "matching", san.IPAddresses}, {"uris", "matching", san.URIs},
		} {
			if l.lp != nil {
				rows.add("san."+l.name, listRule(l.lp, l.how))
			}
		}
		if len(san.OtherNames) > 0 {
			rows.add("san.other_names", oids(san.OtherNames))
		}
		if san.Critical {
			rows.add("san.critical", "true")
		}
	}
}

// addUsageRows adds the extended and plain key usages.
func addUsageRows(rows *policyRowList, p *atlas.ValidationPolicy) {
	if eku := p.ExtendedKeyUsages; eku != nil && eku.EKUs != nil {
		rule := listRule(eku.EKUs, "matching")
		if eku.Critical {
			rule += ", critical"
		}
		rows.add("extended_key_usages", rule)
	}

	if len(p.KeyUsages) > 0 {
		byRule := map[string][]string{}
		for usage, rule := range p.KeyUsages {
			byRule[strings.ToUpper(rule)] = append(byRule[strings.ToUpper(rule)], usage)
		}
		var parts []string
		for _, r := range []struct{ rule, text string }{
			{atlas.KeyUsageStaticTrue, "always"}, {atlas.KeyUsageOptional, "optional"}, {atlas.KeyUsageStaticFalse, "never"},
		} {
			if u := byRule[r.rule]; len(u) > 0 {
				sort.Strings(u)
				parts = append(parts, r.text+": "+strings.Join(u, " "))
				delete(byRule, r.rule)
			}
		}
		for rule, u := range byRule {
			sort.Strings(u)
			parts = append(parts, strings.ToLower(rule)+": "+strings.Join(u, " "))
		}
		rows.add("key_usages", strings.Join(parts, "; "))
	}
}

// addOtherRows adds the signature rules, custom extensions and the sections that do not fit a line.
func addOtherRows(rows *policyRowList, p *atlas.ValidationPolicy) {
	if sig := p.Signature; sig != nil {
		if sig.Algorithm != nil {
			rows.add("signature.algorithm", listPresenceRule(sig.Algorithm))
		}
		if sig.HashAlgorithm != nil {
			rows.add("signature.hash_algorithm", listPresenceRule(sig.HashAlgorithm))
		}
	}
	if len(p.CustomExtensions) > 0 {
		keys := make([]string, 0, len(p.CustomExtensions))
		for oid, ext := range p.CustomExtensions {
			keys = append(keys, fmt.Sprintf("%s (%s %s)", oid, strings.ToLower(string(ext.Presence)), ext.ValueType))
		}
		sort.Strings(keys)
		rows.add("custom_extensions", strings.Join(keys, ", "))
	}
	// The remaining sections matter to few accounts and do not fit a line.
	for _, s := range []struct {
		name    string
		present bool
	}{
		{"subject_da", p.SubjectDA != nil},
		{"qualified_statements", p.QualifiedStatements != nil},
		{"ms_extension_template", p.MSExtensionTemplate != nil},
	} {
		if s.present {
			rows.add(s.name, "present (see -o yaml)")
		}
	}
}

func stringRule(sp *atlas.StringPolicy) string {
	pr := orDash(strings.ToLower(string(sp.Presence)))
	switch {
	case sp.Presence == atlas.PresenceStatic:
		return fmt.Sprintf("static %q", sp.Format)
	case sp.Presence == atlas.PresenceForbidden, sp.Format == "", sp.Format == ".*":
		return pr
	}
	return pr + ", matching " + sp.Format
}

func listRule(lp *atlas.ListPolicy, how string) string {
	if lp.Static {
		return "static: " + list(lp.List)
	}
	if lp.MaxCount <= 0 {
		return "forbidden"
	}
	rule := fmt.Sprintf("%d to %d", lp.MinCount, lp.MaxCount)
	if len(lp.List) > 0 && !slices.Contains(lp.List, "") && !slices.Contains(lp.List, ".*") {
		rule += ", " + how + " " + strings.Join(lp.List, " | ")
	}
	return rule
}

func listPresenceRule(lp *atlas.ListPresencePolicy) string {
	return orDash(strings.ToLower(string(lp.Presence))) + ": " + list(lp.List)
}

func oids(m map[string]atlas.TypeAndValuePolicy) string {
	keys := make([]string, 0, len(m))
	for oid := range m {
		keys = append(keys, oid)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
