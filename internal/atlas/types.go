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

// The types below are the JSON bodies of the Atlas v2 API, field for field as
// GlobalSign documents them. Optional sections are pointers or
// maps so that an absent section stays distinguishable from an empty one:
// older accounts omit whole policy sections.

// LoginRequest is the body of POST /login.
type LoginRequest struct {
	APIKey    string `json:"api_key"`
	APISecret string `json:"api_secret"`
}

// LoginResponse is the 200 body of POST /login. The token is opaque.
type LoginResponse struct {
	AccessToken string `json:"access_token"`
}

// ErrorBody is Atlas's problem+json error document.
type ErrorBody struct {
	Description string            `json:"description"`
	ID          string            `json:"id,omitempty"`
	Errors      map[string]string `json:"errors,omitempty"`
}

// Validity is the requested lifetime, in UNIX seconds. NotAfter 0 asks for
// the longest lifetime the validation policy allows.
type Validity struct {
	NotBefore int64 `json:"not_before"`
	NotAfter  int64 `json:"not_after,omitempty"`
}

// OIDValue is a typed attribute: an OID and, unless its type is NIL, a value.
type OIDValue struct {
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
}

// SubjectDN is the subject distinguished name of a certificate request.
// Atlas ignores the subject inside a CSR; only these fields count.
type SubjectDN struct {
	CommonName                                     string     `json:"common_name,omitempty"`
	GivenName                                      string     `json:"given_name,omitempty"`
	Surname                                        string     `json:"surname,omitempty"`
	Country                                        string     `json:"country,omitempty"`
	State                                          string     `json:"state,omitempty"`
	Locality                                       string     `json:"locality,omitempty"`
	StreetAddress                                  string     `json:"street_address,omitempty"`
	PostalCode                                     string     `json:"postal_code,omitempty"`
	Organization                                   string     `json:"organization,omitempty"`
	OrganizationalUnit                             []string   `json:"organizational_unit,omitempty"`
	OrganizationIdentifier                         string     `json:"organization_identifier,omitempty"`
	SerialNumber                                   string     `json:"serial_number,omitempty"`
	Email                                          string     `json:"email,omitempty"`
	Pseudonym                                      string     `json:"pseudonym,omitempty"`
	JurisdictionOfIncorporationLocalityName        string     `json:"jurisdiction_of_incorporation_locality_name,omitempty"`
	JurisdictionOfIncorporationStateOrProvinceName string     `json:"jurisdiction_of_incorporation_state_or_province_name,omitempty"`
	JurisdictionOfIncorporationCountryName         string     `json:"jurisdiction_of_incorporation_country_name,omitempty"`
	BusinessCategory                               string     `json:"business_category,omitempty"`
	ExtraAttributes                                []OIDValue `json:"extra_attributes,omitempty"`
}

// SAN is the subject alternative names of a certificate request.
type SAN struct {
	DNSNames    []string   `json:"dns_names,omitempty"`
	Emails      []string   `json:"emails,omitempty"`
	IPAddresses []string   `json:"ip_addresses,omitempty"`
	URIs        []string   `json:"uris,omitempty"`
	OtherNames  []OIDValue `json:"other_names,omitempty"`
}

// Empty reports whether no name of any kind is set.
func (s *SAN) Empty() bool {
	return s == nil || len(s.DNSNames)+len(s.Emails)+len(s.IPAddresses)+len(s.URIs)+len(s.OtherNames) == 0
}

// KeyUsages are the requested key usages. A nil field is not sent, which
// leaves it to the policy; usages the policy fixes (STATIC_TRUE or
// STATIC_FALSE) must not be sent.
type KeyUsages struct {
	DigitalSignature   *bool `json:"digital_signature,omitempty"`
	ContentCommitment  *bool `json:"content_commitment,omitempty"`
	KeyEncipherment    *bool `json:"key_encipherment,omitempty"`
	DataEncipherment   *bool `json:"data_encipherment,omitempty"`
	KeyAgreement       *bool `json:"key_agreement,omitempty"`
	KeyCertificateSign *bool `json:"key_certificate_sign,omitempty"`
	CRLSign            *bool `json:"crl_sign,omitempty"`
	EncipherOnly       *bool `json:"encipher_only,omitempty"`
	DecipherOnly       *bool `json:"decipher_only,omitempty"`
}

// SubjectDA is the subject directory attributes extension.
type SubjectDA struct {
	Gender               string     `json:"gender,omitempty"`
	DateOfBirth          string     `json:"date_of_birth,omitempty"`
	PlaceOfBirth         string     `json:"place_of_birth,omitempty"`
	CountryOfCitizenship []string   `json:"country_of_citizenship,omitempty"`
	CountryOfResidence   []string   `json:"country_of_residence,omitempty"`
	ExtraAttributes      []OIDValue `json:"extra_attributes,omitempty"`
}

// QualifiedStatements is the qcStatements extension of a request.
type QualifiedStatements struct {
	Semantics             *QCSemantics      `json:"semantics,omitempty"`
	ETSIQCCompliance      *bool             `json:"etsi_qc_compliance,omitempty"`
	ETSIQCSSCDCompliance  *bool             `json:"etsi_qc_sscd_compliance,omitempty"`
	ETSIQCType            string            `json:"etsi_qc_type,omitempty"`
	ETSIQCRetentionPeriod *int              `json:"etsi_qc_retention_period,omitempty"`
	ETSIQCPDS             map[string]string `json:"etsi_qc_pds,omitempty"`
}

// QCSemantics is the semantics statement of QualifiedStatements.
type QCSemantics struct {
	Identifier      string   `json:"identifier,omitempty"`
	NameAuthorities []string `json:"name_authorities,omitempty"`
}

// MSExtensionTemplate is Microsoft's certificate template extension.
type MSExtensionTemplate struct {
	ID           string `json:"id"`
	MajorVersion *int   `json:"major_version,omitempty"`
	MinorVersion *int   `json:"minor_version,omitempty"`
}

// Signature selects the algorithm the CA signs the certificate with.
type Signature struct {
	Algorithm     string `json:"algorithm,omitempty"`
	HashAlgorithm string `json:"hash_algorithm,omitempty"`
}

// CertificateRequest is the body of POST /certificates. PublicKey carries a
// PEM CSR for PKCS10 accounts and a PEM SubjectPublicKeyInfo for PKCS8 ones.
type CertificateRequest struct {
	Validity            Validity             `json:"validity"`
	SubjectDN           SubjectDN            `json:"subject_dn"`
	SAN                 *SAN                 `json:"san,omitempty"`
	ExtendedKeyUsages   []string             `json:"extended_key_usages,omitempty"`
	KeyUsages           *KeyUsages           `json:"key_usages,omitempty"`
	SubjectDA           *SubjectDA           `json:"subject_da,omitempty"`
	QualifiedStatements *QualifiedStatements `json:"qualified_statements,omitempty"`
	MSExtensionTemplate *MSExtensionTemplate `json:"ms_extension_template,omitempty"`
	CustomExtensions    map[string]string    `json:"custom_extensions,omitempty"`
	Signature           *Signature           `json:"signature,omitempty"`
	PublicKey           string               `json:"public_key"`
	PublicKeySignature  string               `json:"public_key_signature,omitempty"`
}

// CertificateStatus is the status of an issued certificate. Atlas documents
// ISSUED and REVOKED; any other value is kept as it came.
type CertificateStatus string

// Certificate statuses. StatusPending is not sent by Atlas: the client
// reports a 202 "Operation in progress" with it.
const (
	StatusIssued  CertificateStatus = "ISSUED"
	StatusRevoked CertificateStatus = "REVOKED"
	StatusPending CertificateStatus = "PENDING"
)

// UnmarshalJSON upper-cases the status: Atlas's enums are case-insensitive.
func (s *CertificateStatus) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = CertificateStatus(strings.ToUpper(v))
	return nil
}

// CertificateInfo is the 200 body of GET /certificates/{serial}.
type CertificateInfo struct {
	Certificate string            `json:"certificate"`
	Status      CertificateStatus `json:"status"`
	UpdatedAt   int64             `json:"updated_at"`
}

// RevocationReason is why a certificate is revoked.
type RevocationReason string

// Revocation reasons Atlas accepts. ReasonPrivilegeWithdrawn is known only
// from the official Go client.
const (
	ReasonUnspecified          RevocationReason = "unspecified"
	ReasonKeyCompromise        RevocationReason = "keyCompromise"
	ReasonAffiliationChanged   RevocationReason = "affiliationChanged"
	ReasonSuperseded           RevocationReason = "superseded"
	ReasonCessationOfOperation RevocationReason = "cessationOfOperation"
	ReasonPrivilegeWithdrawn   RevocationReason = "privilegeWithdrawn"
)

// RevocationReasons lists every reason in the order users see them.
var RevocationReasons = []RevocationReason{
	ReasonUnspecified, ReasonKeyCompromise, ReasonAffiliationChanged,
	ReasonSuperseded, ReasonCessationOfOperation, ReasonPrivilegeWithdrawn,
}

// RevokeRequest is the body of PATCH /certificates/{serial}.
type RevokeRequest struct {
	RevocationReason         RevocationReason `json:"revocation_reason"`
	RevocationTime           int64            `json:"revocation_time,omitempty"`
	KeyCompromiseAttestation string           `json:"key_compromise_attestation,omitempty"`
}

// RekeyRequest is the body of POST /certificates/{serial}/rekey.
type RekeyRequest struct {
	PublicKey          string     `json:"public_key"`
	PublicKeySignature string     `json:"public_key_signature,omitempty"`
	Signature          *Signature `json:"signature,omitempty"`
}

// Counter is the body of the counters and quota endpoints.
type Counter struct {
	Value int64 `json:"value"`
}

// CertificateMeta is one row of the /stats listings. Serials are hex.
type CertificateMeta struct {
	SerialNumber string `json:"serial_number"`
	NotBefore    int64  `json:"not_before"`
	NotAfter     int64  `json:"not_after"`
}

// StatsQuery selects a page of a /stats listing. Zero fields are not sent,
// except Page, which defaults to 1.
type StatsQuery struct {
	Page    int
	PerPage int
	From    int64
	To      int64
}

// StatsPage is one page of a /stats listing with its Total-Count header.
type StatsPage struct {
	Certificates []CertificateMeta
	TotalCount   int
	// Next reports whether the Links header names a next page.
	Next bool
}

// ClaimStatus is the status of a domain claim.
type ClaimStatus string

// Claim statuses.
const (
	ClaimPending  ClaimStatus = "PENDING"
	ClaimVerified ClaimStatus = "VERIFIED"
)

// UnmarshalJSON upper-cases the status: Atlas's enums are case-insensitive.
func (s *ClaimStatus) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = ClaimStatus(strings.ToUpper(v))
	return nil
}

// ClaimLogEntry is one entry of a claim's verification log.
type ClaimLogEntry struct {
	Status      string `json:"status"`
	Description string `json:"description"`
	Timestamp   int64  `json:"timestamp"`
}

// Claim is a domain claim as GET /claims/domains and /claims/domains/{id}
// return it. Domain comes back with a trailing dot.
type Claim struct {
	ID                     string          `json:"id"`
	Status                 ClaimStatus     `json:"status"`
	Domain                 string          `json:"domain"`
	CreatedAt              int64           `json:"created_at"`
	ExpiresAt              int64           `json:"expires_at"`
	AssertBy               int64           `json:"assert_by,omitempty"`
	Log                    []ClaimLogEntry `json:"log,omitempty"`
	Token                  string          `json:"token,omitempty"`
	LastVerifiedAt         int64           `json:"last_verified_at,omitempty"`
	LastVerificationMethod string          `json:"last_verification_method,omitempty"`
}

// ClaimsQuery selects a page of claims. An empty Status lists all.
type ClaimsQuery struct {
	Page    int
	PerPage int
	Status  ClaimStatus
}

// ClaimsPage is one page of claims with its Total-Count header.
type ClaimsPage struct {
	Claims     []Claim
	TotalCount int
	Next       bool
}

// ClaimAssertion is the body of a claim submission or reassertion: the token
// to publish and the time by which control must be proven. ID comes from the
// Location header.
type ClaimAssertion struct {
	ID       string `json:"-"`
	Token    string `json:"token"`
	AssertBy int64  `json:"assert_by"`
}

// DNSVerifyRequest is the optional body of POST /claims/domains/{id}/dns.
type DNSVerifyRequest struct {
	AuthorizationDomain string `json:"authorization_domain,omitempty"`
}

// HTTPVerifyRequest is the body of POST /claims/domains/{id}/http.
type HTTPVerifyRequest struct {
	AuthorizationDomain string `json:"authorization_domain,omitempty"`
	Scheme              string `json:"scheme"`
}

// EmailVerifyRequest is the body of POST /claims/domains/{id}/email.
type EmailVerifyRequest struct {
	EmailAddress string `json:"email_address"`
}

// ClaimEmails is the body of GET /claims/domains/{id}/email: the addresses
// that may approve an email verification. The DNS and SOA keys are
// capitalised on the wire.
type ClaimEmails struct {
	Constructed []string `json:"constructed"`
	DNS         struct {
		SOA struct {
			Emails []string `json:"emails"`
			Errors []string `json:"errors,omitempty"`
		} `json:"SOA"`
	} `json:"DNS"`
}

// Verification is the outcome of a claim verification call.
type Verification string

// Verification outcomes: 201 scheduled, 202 a previous assertion is still
// pending, 204 control verified.
const (
	VerificationScheduled  Verification = "Scheduled"
	VerificationInProgress Verification = "InProgress"
	VerificationVerified   Verification = "Verified"
)
