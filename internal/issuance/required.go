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
	"maps"
	"slices"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// unsatisfiable names the first section of the policy that every request
// must fill but that a cert-manager request has no way to carry: custom
// extensions, Microsoft's template extension, subject directory attributes,
// qualified statements, and OID-keyed subject attributes or other names
// with a minimum count. Without this check such an account looks healthy
// and every request costs a round trip to a 422. Entries Atlas fills itself
// (static ones) ask nothing of the request and are fine.
func unsatisfiable(p *atlas.ValidationPolicy) *PolicyError {
	for _, oid := range slices.Sorted(maps.Keys(p.CustomExtensions)) {
		if presenceOf(p.CustomExtensions[oid].Presence) == atlas.PresenceRequired {
			return hopeless("custom_extensions."+oid, "a custom extension")
		}
	}
	if t := p.MSExtensionTemplate; t != nil {
		if requiredString(t.TemplateID) {
			return hopeless("ms_extension_template.template_id", "a Microsoft certificate template extension")
		}
		if requiredInt(t.MajorVersion) || requiredInt(t.MinorVersion) {
			return hopeless("ms_extension_template", "a Microsoft certificate template version")
		}
	}
	if err := unsatisfiableDA(p.SubjectDA); err != nil {
		return err
	}
	if err := unsatisfiableQC(p.QualifiedStatements); err != nil {
		return err
	}
	if dn := p.SubjectDN; dn != nil {
		if oid, ok := requiredOID(dn.ExtraAttributes); ok {
			return hopeless("subject_dn.extra_attributes."+oid, "a subject attribute of type "+oid+" in every certificate")
		}
	}
	if san := p.SAN; san != nil {
		if oid, ok := requiredOID(san.OtherNames); ok {
			return hopeless("san.other_names."+oid, "an otherName SAN of type "+oid+" in every certificate")
		}
	}
	return nil
}

func unsatisfiableDA(da *atlas.SubjectDAPolicy) *PolicyError {
	if da == nil {
		return nil
	}
	const what = "subject directory attributes"
	switch {
	case requiredString(da.Gender):
		return hopeless("subject_da.gender", what)
	case presenceOf(da.DateOfBirth) == atlas.PresenceRequired:
		return hopeless("subject_da.date_of_birth", what)
	case requiredString(da.PlaceOfBirth):
		return hopeless("subject_da.place_of_birth", what)
	case requiredList(da.CountryOfCitizenship):
		return hopeless("subject_da.country_of_citizenship", what)
	case requiredList(da.CountryOfResidence):
		return hopeless("subject_da.country_of_residence", what)
	}
	if oid, ok := requiredOID(da.ExtraAttributes); ok {
		return hopeless("subject_da.extra_attributes."+oid, what)
	}
	return nil
}

func unsatisfiableQC(qc *atlas.QualifiedStatementsPolicy) *PolicyError {
	if qc == nil {
		return nil
	}
	const what = "qualified statements"
	if s := qc.Semantics; s != nil && (requiredString(s.Identifier) || requiredList(s.NameAuthorities)) {
		return hopeless("qualified_statements.semantics", what)
	}
	switch {
	case requiredString(qc.ETSIQCType):
		return hopeless("qualified_statements.etsi_qc_type", what)
	case requiredInt(qc.ETSIQCRetentionPeriod):
		return hopeless("qualified_statements.etsi_qc_retention_period", what)
	case qc.ETSIQCPDS != nil && presenceOf(qc.ETSIQCPDS.Presence) == atlas.PresenceRequired:
		return hopeless("qualified_statements.etsi_qc_pds", what)
	}
	return nil
}

func hopeless(field, what string) *PolicyError {
	return policyErr(field, "the account's validation policy requires %s, which no cert-manager request can carry, so every request would be refused; ask GlobalSign to make it optional or static for this account", what)
}

func requiredString(sp *atlas.StringPolicy) bool {
	return sp != nil && presenceOf(sp.Presence) == atlas.PresenceRequired
}

func requiredInt(ip *atlas.IntegerPolicy) bool {
	return ip != nil && presenceOf(ip.Presence) == atlas.PresenceRequired
}

func requiredList(lp *atlas.ListPolicy) bool {
	return lp != nil && !lp.Static && lp.MinCount > 0
}

// requiredOID returns the first OID, in sorted order so that the message is
// stable, whose entries the request must supply.
func requiredOID(pols map[string]atlas.TypeAndValuePolicy) (string, bool) {
	for _, oid := range slices.Sorted(maps.Keys(pols)) {
		if tv := pols[oid]; !tv.Static && tv.MinCount > 0 {
			return oid, true
		}
	}
	return "", false
}
