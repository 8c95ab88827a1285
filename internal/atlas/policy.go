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

package atlas

import (
	"encoding/json"
	"strings"
)

// Presence says whether a policy field must, may, must not, or is fixed to
// a value. Atlas's enums are case-insensitive, so values are upper-cased on
// decoding; an unknown value is kept rather than failing the whole policy.
type Presence string

// Presence values.
const (
	PresenceOptional  Presence = "OPTIONAL"
	PresenceRequired  Presence = "REQUIRED"
	PresenceForbidden Presence = "FORBIDDEN"
	PresenceStatic    Presence = "STATIC"
)

// UnmarshalJSON upper-cases the value.
func (p *Presence) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Presence(strings.ToUpper(strings.TrimSpace(v)))
	return nil
}

// StringPolicy governs a string attribute. Format is a regular expression,
// or the fixed value itself when Presence is STATIC.
type StringPolicy struct {
	Presence    Presence `json:"presence"`
	Format      string   `json:"format,omitempty"`
	IgnoreEmpty bool     `json:"ignore_empty,omitempty"`
}

// ListPolicy governs a list attribute. For dns_names and emails the List
// entries are suffixes; for the other lists they are regular expressions.
// MaxCount 0 forbids the list.
type ListPolicy struct {
	Static   bool     `json:"static"`
	List     []string `json:"list"`
	MinCount int      `json:"mincount"`
	MaxCount int      `json:"maxcount"`
}

// IntegerPolicy governs an integer attribute.
type IntegerPolicy struct {
	Presence Presence `json:"presence"`
	Min      int      `json:"min"`
	Max      int      `json:"max"`
}

// TypeAndValuePolicy governs an OID-keyed attribute.
type TypeAndValuePolicy struct {
	Static      bool   `json:"static"`
	ValueType   string `json:"value_type"`
	ValueFormat string `json:"value_format,omitempty"`
	MinCount    int    `json:"mincount"`
	MaxCount    int    `json:"maxcount"`
}

// ValidityPolicy bounds the certificate lifetime and the not_before skew,
// all in seconds. IssuerExpiry is a UNIX time.
type ValidityPolicy struct {
	SecondsMin            int64 `json:"secondsmin"`
	SecondsMax            int64 `json:"secondsmax"`
	NotBeforeNegativeSkew int64 `json:"not_before_negative_skew"`
	NotBeforePositiveSkew int64 `json:"not_before_positive_skew"`
	IssuerExpiry          int64 `json:"issuer_expiry,omitempty"`
}

// SubjectDNPolicy governs each subject attribute. A nil entry is an
// attribute the account's policy does not mention.
type SubjectDNPolicy struct {
	CommonName                                     *StringPolicy                 `json:"common_name,omitempty"`
	GivenName                                      *StringPolicy                 `json:"given_name,omitempty"`
	Surname                                        *StringPolicy                 `json:"surname,omitempty"`
	Organization                                   *StringPolicy                 `json:"organization,omitempty"`
	OrganizationalUnit                             *ListPolicy                   `json:"organizational_unit,omitempty"`
	OrganizationIdentifier                         *StringPolicy                 `json:"organization_identifier,omitempty"`
	Country                                        *StringPolicy                 `json:"country,omitempty"`
	State                                          *StringPolicy                 `json:"state,omitempty"`
	Locality                                       *StringPolicy                 `json:"locality,omitempty"`
	StreetAddress                                  *StringPolicy                 `json:"street_address,omitempty"`
	PostalCode                                     *StringPolicy                 `json:"postal_code,omitempty"`
	Email                                          *StringPolicy                 `json:"email,omitempty"`
	JurisdictionOfIncorporationLocalityName        *StringPolicy                 `json:"jurisdiction_of_incorporation_locality_name,omitempty"`
	JurisdictionOfIncorporationStateOrProvinceName *StringPolicy                 `json:"jurisdiction_of_incorporation_state_or_province_name,omitempty"`
	JurisdictionOfIncorporationCountryName         *StringPolicy                 `json:"jurisdiction_of_incorporation_country_name,omitempty"`
	BusinessCategory                               *StringPolicy                 `json:"business_category,omitempty"`
	SerialNumber                                   *StringPolicy                 `json:"serial_number,omitempty"`
	Pseudonym                                      *StringPolicy                 `json:"pseudonym,omitempty"`
	ExtraAttributes                                map[string]TypeAndValuePolicy `json:"extra_attributes,omitempty"`
}

// SANPolicy governs the subject alternative names.
type SANPolicy struct {
	DNSNames    *ListPolicy                   `json:"dns_names,omitempty"`
	Emails      *ListPolicy                   `json:"emails,omitempty"`
	IPAddresses *ListPolicy                   `json:"ip_addresses,omitempty"`
	URIs        *ListPolicy                   `json:"uris,omitempty"`
	OtherNames  map[string]TypeAndValuePolicy `json:"other_names,omitempty"`
	Critical    bool                          `json:"critical,omitempty"`
}

// EKUPolicy governs extended key usages; EKUs.List holds OID regexes.
type EKUPolicy struct {
	EKUs     *ListPolicy `json:"ekus,omitempty"`
	Critical bool        `json:"critical,omitempty"`
}

// KeyUsagePolicy values: OPTIONAL, STATIC_TRUE or STATIC_FALSE.
const (
	KeyUsageOptional    = "OPTIONAL"
	KeyUsageStaticTrue  = "STATIC_TRUE"
	KeyUsageStaticFalse = "STATIC_FALSE"
)

// SubjectDAPolicy governs the subject directory attributes.
type SubjectDAPolicy struct {
	Gender               *StringPolicy                 `json:"gender,omitempty"`
	DateOfBirth          Presence                      `json:"date_of_birth,omitempty"`
	PlaceOfBirth         *StringPolicy                 `json:"place_of_birth,omitempty"`
	CountryOfCitizenship *ListPolicy                   `json:"country_of_citizenship,omitempty"`
	CountryOfResidence   *ListPolicy                   `json:"country_of_residence,omitempty"`
	ExtraAttributes      map[string]TypeAndValuePolicy `json:"extra_attributes,omitempty"`
}

// QualifiedStatementsPolicy governs the qcStatements extension.
type QualifiedStatementsPolicy struct {
	Semantics *struct {
		Identifier      *StringPolicy `json:"identifier,omitempty"`
		NameAuthorities *ListPolicy   `json:"name_authorities,omitempty"`
	} `json:"semantics,omitempty"`
	ETSIQCCompliance      string         `json:"etsi_qc_compliance,omitempty"`
	ETSIQCSSCDCompliance  string         `json:"etsi_qc_sscd_compliance,omitempty"`
	ETSIQCType            *StringPolicy  `json:"etsi_qc_type,omitempty"`
	ETSIQCRetentionPeriod *IntegerPolicy `json:"etsi_qc_retention_period,omitempty"`
	ETSIQCPDS             *struct {
		Presence Presence          `json:"presence"`
		Policies map[string]string `json:"policies,omitempty"`
	} `json:"etsi_qc_pds,omitempty"`
}

// MSExtensionTemplatePolicy governs Microsoft's template extension.
type MSExtensionTemplatePolicy struct {
	Critical     bool           `json:"critical,omitempty"`
	TemplateID   *StringPolicy  `json:"template_id,omitempty"`
	MajorVersion *IntegerPolicy `json:"major_version,omitempty"`
	MinorVersion *IntegerPolicy `json:"minor_version,omitempty"`
}

// CustomExtensionPolicy governs one custom extension, keyed by OID.
type CustomExtensionPolicy struct {
	Presence    Presence `json:"presence"`
	Critical    bool     `json:"critical,omitempty"`
	ValueType   string   `json:"value_type"`
	ValueFormat string   `json:"value_format,omitempty"`
}

// ListPresencePolicy is a presence with the values allowed.
type ListPresencePolicy struct {
	Presence Presence `json:"presence"`
	List     []string `json:"list"`
}

// SignaturePolicy governs the signature algorithm the CA uses.
type SignaturePolicy struct {
	Algorithm     *ListPresencePolicy `json:"algorithm,omitempty"`
	HashAlgorithm *ListPresencePolicy `json:"hash_algorithm,omitempty"`
}

// Key types and formats of PublicKeyPolicy.
const (
	KeyTypeRSA      = "RSA"
	KeyTypeECDSA    = "ECDSA"
	KeyFormatPKCS8  = "PKCS8"
	KeyFormatPKCS10 = "PKCS10"
)

// PublicKeyPolicy says which keys the account accepts and how they are sent:
// KeyFormat PKCS10 sends the CSR, PKCS8 the bare public key.
type PublicKeyPolicy struct {
	KeyType        string `json:"key_type"`
	AllowedLengths []int  `json:"allowed_lengths"`
	KeyFormat      string `json:"key_format,omitempty"`
}

// ValidationPolicy is the account's validation policy, the body of GET
// /validationpolicy. Every section may be missing on older accounts.
type ValidationPolicy struct {
	Validity            *ValidityPolicy                  `json:"validity,omitempty"`
	SubjectDN           *SubjectDNPolicy                 `json:"subject_dn,omitempty"`
	SAN                 *SANPolicy                       `json:"san,omitempty"`
	ExtendedKeyUsages   *EKUPolicy                       `json:"extended_key_usages,omitempty"`
	KeyUsages           map[string]string                `json:"key_usages,omitempty"`
	SubjectDA           *SubjectDAPolicy                 `json:"subject_da,omitempty"`
	QualifiedStatements *QualifiedStatementsPolicy       `json:"qualified_statements,omitempty"`
	MSExtensionTemplate *MSExtensionTemplatePolicy       `json:"ms_extension_template,omitempty"`
	CustomExtensions    map[string]CustomExtensionPolicy `json:"custom_extensions,omitempty"`
	Signature           *SignaturePolicy                 `json:"signature,omitempty"`
	PublicKey           *PublicKeyPolicy                 `json:"public_key,omitempty"`
	PublicKeySignature  Presence                         `json:"public_key_signature,omitempty"`
}

// KeyFormat returns the policy's key format, upper-cased; PKCS10 when the
// policy does not say, since every known account without the field takes a
// CSR.
func (p *ValidationPolicy) KeyFormat() string {
	if p == nil || p.PublicKey == nil || p.PublicKey.KeyFormat == "" {
		return KeyFormatPKCS10
	}
	return strings.ToUpper(p.PublicKey.KeyFormat)
}

// NeedsPrivateKey reports whether the account needs a public_key_signature
// made with the private key, which no cert-manager issuer ever holds.
func (p *ValidationPolicy) NeedsPrivateKey() bool {
	return p.KeyFormat() == KeyFormatPKCS8 && p.PublicKeySignature == PresenceRequired
}
