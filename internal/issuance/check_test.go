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
	"errors"
	"strings"
	"testing"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func TestCheckAccount(t *testing.T) {
	cases := []struct {
		name   string
		policy func() *atlas.ValidationPolicy
		field  string // empty: the account is usable
		reason string
	}{
		{name: "PKCS10", policy: basePolicy},
		{name: "PKCS8 without signature", policy: ecPolicy},
		{name: "empty policy", policy: func() *atlas.ValidationPolicy { return &atlas.ValidationPolicy{} }},
		{name: "nil policy", policy: func() *atlas.ValidationPolicy { return nil },
			field: "validation_policy", reason: "no validation policy"},
		{name: "PKCS8 with a required signature", policy: func() *atlas.ValidationPolicy {
			p := ecPolicy()
			p.PublicKeySignature = atlas.PresenceRequired
			return p
		}, field: "public_key_signature",
			reason: "the account's validation policy requires a public_key_signature, which needs the private key, and cert-manager never gives an issuer the private key, so no cert-manager issuer can use this account"},
		{name: "PKCS10 with a required signature is fine", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.PublicKeySignature = atlas.PresenceRequired
			return p
		}},
		{name: "lower-case pkcs8 with a required signature", policy: func() *atlas.ValidationPolicy {
			p := ecPolicy()
			p.PublicKey.KeyFormat = "pkcs8"
			p.PublicKeySignature = atlas.PresenceRequired
			return p
		}, field: "public_key_signature", reason: "no cert-manager issuer can use this account"},
		{name: "unknown key format", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.PublicKey.KeyFormat = "PKCS12"
			return p
		}, field: "public_key.key_format", reason: `unknown key format "PKCS12"`},
		{name: "unknown key type", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.PublicKey.KeyType = "DSA"
			return p
		}, field: "public_key.key_type", reason: `unknown key type "DSA"`},
		{name: "minimum lifetime above the maximum", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.Validity.SecondsMin = 2 * 86400
			p.Validity.SecondsMax = 86400
			return p
		}, field: "validity", reason: "its minimum 2 days is longer than its maximum 1 day"},
		{name: "required hash with no choices", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.Signature = &atlas.SignaturePolicy{HashAlgorithm: &atlas.ListPresencePolicy{Presence: atlas.PresenceRequired}}
			return p
		}, field: "signature.hash_algorithm", reason: "lists none"},
		{name: "required custom extension", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.CustomExtensions = map[string]atlas.CustomExtensionPolicy{
				"2.5.29.99.2": {Presence: atlas.PresenceOptional, ValueType: "UTF8STRING"},
				"2.5.29.99.1": {Presence: "required", ValueType: "NIL"},
			}
			return p
		}, field: "custom_extensions.2.5.29.99.1", reason: "requires a custom extension, which no cert-manager request can carry"},
		{name: "optional and static custom extensions are fine", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.CustomExtensions = map[string]atlas.CustomExtensionPolicy{
				"2.5.29.99.1": {Presence: atlas.PresenceOptional}, "2.5.29.99.2": {Presence: atlas.PresenceStatic},
			}
			return p
		}},
		{name: "required template id", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.MSExtensionTemplate = &atlas.MSExtensionTemplatePolicy{TemplateID: sp(atlas.PresenceRequired, "")}
			return p
		}, field: "ms_extension_template.template_id", reason: "Microsoft certificate template"},
		{name: "required template version", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.MSExtensionTemplate = &atlas.MSExtensionTemplatePolicy{
				TemplateID:   sp(atlas.PresenceOptional, ""),
				MinorVersion: &atlas.IntegerPolicy{Presence: atlas.PresenceRequired},
			}
			return p
		}, field: "ms_extension_template", reason: "template version"},
		{name: "optional template is fine", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.MSExtensionTemplate = &atlas.MSExtensionTemplatePolicy{
				TemplateID: sp(atlas.PresenceOptional, ""), MajorVersion: &atlas.IntegerPolicy{Presence: atlas.PresenceStatic},
			}
			return p
		}},
		{name: "required date of birth", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.SubjectDA = &atlas.SubjectDAPolicy{Gender: sp(atlas.PresenceOptional, ""), DateOfBirth: atlas.PresenceRequired}
			return p
		}, field: "subject_da.date_of_birth", reason: "requires subject directory attributes"},
		{name: "required country of residence", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.SubjectDA = &atlas.SubjectDAPolicy{CountryOfResidence: &atlas.ListPolicy{MinCount: 1, MaxCount: 2}}
			return p
		}, field: "subject_da.country_of_residence", reason: "subject directory attributes"},
		{name: "required directory extra attribute", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.SubjectDA = &atlas.SubjectDAPolicy{ExtraAttributes: map[string]atlas.TypeAndValuePolicy{"1.2.3": {MinCount: 1, MaxCount: 1}}}
			return p
		}, field: "subject_da.extra_attributes.1.2.3", reason: "subject directory attributes"},
		{name: "optional and static directory attributes are fine", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.SubjectDA = &atlas.SubjectDAPolicy{
				Gender: sp(atlas.PresenceOptional, ""), DateOfBirth: atlas.PresenceForbidden,
				CountryOfCitizenship: &atlas.ListPolicy{Static: true, MinCount: 1, List: []string{"BE"}},
				ExtraAttributes:      map[string]atlas.TypeAndValuePolicy{"1.2.3": {MaxCount: 1}},
			}
			return p
		}},
		{name: "required qualified statement", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.QualifiedStatements = &atlas.QualifiedStatementsPolicy{ETSIQCType: sp(atlas.PresenceRequired, "")}
			return p
		}, field: "qualified_statements.etsi_qc_type", reason: "qualified statements"},
		{name: "required subject extra attribute", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.SubjectDN.ExtraAttributes = map[string]atlas.TypeAndValuePolicy{
				"1.2.3.5": {MaxCount: 1}, "1.2.3.4": {MinCount: 1, MaxCount: 1, ValueType: "UTF8STRING"},
			}
			return p
		}, field: "subject_dn.extra_attributes.1.2.3.4", reason: "a subject attribute of type 1.2.3.4 in every certificate"},
		{name: "static subject extra attribute is fine", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.SubjectDN.ExtraAttributes = map[string]atlas.TypeAndValuePolicy{"1.2.3.4": {Static: true, MinCount: 1, MaxCount: 1}}
			return p
		}},
		{name: "required other name", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.SAN.OtherNames = map[string]atlas.TypeAndValuePolicy{"1.3.6.1.4.1.311.20.2.3": {MinCount: 1, MaxCount: 1, ValueType: "UTF8STRING"}}
			return p
		}, field: "san.other_names.1.3.6.1.4.1.311.20.2.3", reason: "an otherName SAN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckAccount(tc.policy())
			if tc.field == "" {
				if err != nil {
					t.Fatalf("CheckAccount() = %v, want nil", err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("CheckAccount() = %v, want a *PolicyError on %s", err, tc.field)
			}
			if pe.Field != tc.field || !strings.Contains(pe.Reason, tc.reason) {
				t.Errorf("CheckAccount() = %q\nwant field %q, reason containing %q", pe.Error(), tc.field, tc.reason)
			}
			if !strings.HasPrefix(pe.Error(), tc.field+": ") {
				t.Errorf("Error() = %q, want it to start with the field", pe.Error())
			}
		})
	}
}

func TestPolicyErrorWithoutField(t *testing.T) {
	if got := (&PolicyError{Reason: "r"}).Error(); got != "r" {
		t.Errorf("Error() = %q, want %q", got, "r")
	}
}

func TestQuoteShortensLongValues(t *testing.T) {
	got := quote(strings.Repeat("x", 500))
	if len(got) > 100 || !strings.HasSuffix(got, `…"`) {
		t.Errorf("quote() = %q, want at most 100 bytes ending in an ellipsis", got)
	}
}

func TestSummary(t *testing.T) {
	cases := []struct {
		name   string
		policy func() *atlas.ValidationPolicy
		want   string
	}{
		{name: "nil", policy: func() *atlas.ValidationPolicy { return nil }, want: "no validation policy"},
		{name: "empty", policy: func() *atlas.ValidationPolicy { return &atlas.ValidationPolicy{} },
			want: "PKCS10, RSA or ECDSA, no DNS names"},
		{name: "typical", policy: func() *atlas.ValidationPolicy {
			p := basePolicy()
			p.SAN = &atlas.SANPolicy{DNSNames: &atlas.ListPolicy{MaxCount: 100, List: []string{".example.com"}}}
			p.SubjectDN.CommonName = sp(atlas.PresenceRequired, "")
			return p
		}, want: "PKCS10, RSA 2048/4096, lifetime 1h-397d, DNS names <= 100 (suffixes .example.com), CN required"},
		{name: "every kind of name", policy: basePolicy,
			want: "PKCS10, RSA 2048/4096, lifetime 1h-397d, DNS names <= 10 (suffixes .example.com), IPs <= 2, emails <= 2, URIs <= 2, CN optional"},
		{name: "PKCS8 unusable, static names, many suffixes", policy: func() *atlas.ValidationPolicy {
			p := ecPolicy()
			p.PublicKeySignature = atlas.PresenceRequired
			p.Validity = &atlas.ValidityPolicy{SecondsMax: 90 * 60}
			p.SAN = &atlas.SANPolicy{
				DNSNames: &atlas.ListPolicy{MaxCount: 5, List: []string{".a", ".b", ".c", ".d", ".e"}},
				Emails:   &atlas.ListPolicy{Static: true, List: []string{"x@a"}},
			}
			p.SubjectDN = nil
			return p
		}, want: "PKCS8 with public key signature (unusable by cert-manager), ECDSA 256/384, lifetime <= 90m, DNS names <= 5 (suffixes .a .b .c +2), emails fixed"},
		{name: "empty suffix means any", policy: func() *atlas.ValidationPolicy {
			p := &atlas.ValidationPolicy{SAN: &atlas.SANPolicy{DNSNames: &atlas.ListPolicy{MaxCount: 3, List: []string{""}}}}
			p.Validity = &atlas.ValidityPolicy{SecondsMin: 90}
			return p
		}, want: "PKCS10, RSA or ECDSA, lifetime >= 90s, DNS names <= 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Summary(tc.policy()); got != tc.want {
				t.Errorf("Summary() = %q\nwant        %q", got, tc.want)
			}
		})
	}
}
