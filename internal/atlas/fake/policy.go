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

package fake

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// DefaultPolicy is a permissive but realistic PKCS10 account policy for RSA
// 2048, 3072 and 4096 keys: lifetimes from one hour to 397 days, 600 s of
// not_before skew either way, the usual subject attributes optional, up to
// 100 DNS names under any suffix, TLS and email EKUs, digital signature and
// key encipherment optional, and no public_key_signature.
func DefaultPolicy() *atlas.ValidationPolicy {
	return defaultPolicy(atlas.KeyTypeRSA, []int{2048, 3072, 4096})
}

// DefaultECDSAPolicy is DefaultPolicy for ECDSA P-256 and P-384 keys.
func DefaultECDSAPolicy() *atlas.ValidationPolicy {
	return defaultPolicy(atlas.KeyTypeECDSA, []int{256, 384})
}

func defaultPolicy(keyType string, lengths []int) *atlas.ValidationPolicy {
	optional := func(format string) *atlas.StringPolicy {
		return &atlas.StringPolicy{Presence: atlas.PresenceOptional, Format: format}
	}
	return &atlas.ValidationPolicy{
		Validity: &atlas.ValidityPolicy{
			SecondsMin:            3600,
			SecondsMax:            397 * 24 * 3600,
			NotBeforeNegativeSkew: 600,
			NotBeforePositiveSkew: 600,
		},
		SubjectDN: &atlas.SubjectDNPolicy{
			CommonName:         optional(".*"),
			Organization:       optional(".*"),
			OrganizationalUnit: &atlas.ListPolicy{List: []string{".*"}, MaxCount: 10},
			Country:            optional("^[A-Z]{2}$"),
			State:              optional(".*"),
			Locality:           optional(".*"),
			StreetAddress:      optional(".*"),
			PostalCode:         optional(".*"),
			SerialNumber:       optional(".*"),
			Email:              optional(".*"),
		},
		SAN: &atlas.SANPolicy{
			// An empty suffix matches every name.
			DNSNames:    &atlas.ListPolicy{List: []string{""}, MaxCount: 100},
			Emails:      &atlas.ListPolicy{List: []string{""}, MaxCount: 10},
			IPAddresses: &atlas.ListPolicy{List: []string{".*"}, MaxCount: 10},
			URIs:        &atlas.ListPolicy{List: []string{".*"}, MaxCount: 10},
		},
		ExtendedKeyUsages: &atlas.EKUPolicy{
			EKUs: &atlas.ListPolicy{List: []string{`^1\.3\.6\.1\.5\.5\.7\.3\.[1-4]$`}, MaxCount: 4},
		},
		KeyUsages: map[string]string{
			"digital_signature":    atlas.KeyUsageOptional,
			"key_encipherment":     atlas.KeyUsageOptional,
			"content_commitment":   atlas.KeyUsageStaticFalse,
			"data_encipherment":    atlas.KeyUsageStaticFalse,
			"key_agreement":        atlas.KeyUsageStaticFalse,
			"key_certificate_sign": atlas.KeyUsageStaticFalse,
			"crl_sign":             atlas.KeyUsageStaticFalse,
			"encipher_only":        atlas.KeyUsageStaticFalse,
			"decipher_only":        atlas.KeyUsageStaticFalse,
		},
		PublicKey: &atlas.PublicKeyPolicy{
			KeyType:        keyType,
			AllowedLengths: lengths,
			KeyFormat:      atlas.KeyFormatPKCS10,
		},
		PublicKeySignature: atlas.PresenceForbidden,
	}
}

// clonePolicy deep-copies through JSON, which is also what a client would
// see, so the fake never serves a policy a caller mutates afterwards.
func clonePolicy(p *atlas.ValidationPolicy) (*atlas.ValidationPolicy, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("fake atlas: policy: %w", err)
	}
	var out atlas.ValidationPolicy
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("fake atlas: policy: %w", err)
	}
	return &out, nil
}

// PublicKeyFingerprint is the hex SHA-256 of the DER SubjectPublicKeyInfo of
// pub. The fake counts issuance per fingerprint, and the issuer records the
// same value before it submits, so both sides name a key identically.
func PublicKeyFingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// issuePlan is a validated request: everything the leaf will contain.
type issuePlan struct {
	pub         crypto.PublicKey
	spki        []byte
	fingerprint string
	subject     pkix.Name
	dnsNames    []string
	emails      []string
	ips         []net.IP
	uris        []*url.URL
	ekus        []x509.ExtKeyUsage
	unknownEKUs []asn1.ObjectIdentifier
	keyUsage    x509.KeyUsage
	extensions  []pkix.Extension
	notBefore   time.Time
	notAfter    time.Time
}

// violations collects 422 messages in the order the fields are checked.
// Atlas reports one "field: problem" line; the fake joins all of them into
// the description and keys the errors map by field, so a test can match
// either.
type violations struct {
	msgs   []string
	fields map[string]string
}

func (v *violations) add(field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	v.msgs = append(v.msgs, field+": "+msg)
	if v.fields == nil {
		v.fields = map[string]string{}
	}
	if _, ok := v.fields[field]; !ok {
		v.fields[field] = msg
	}
}

func (v *violations) empty() bool { return len(v.msgs) == 0 }

func (v *violations) body() atlas.ErrorBody {
	return atlas.ErrorBody{Description: strings.Join(v.msgs, "; "), Errors: v.fields}
}

// validateRequest checks req against p at time now. A policy section that is
// missing leaves its part of the request unchecked (older accounts omit
// sections); an attribute missing from a section that is present is
// forbidden, because the account cannot use it.
func validateRequest(p *atlas.ValidationPolicy, req *atlas.CertificateRequest, now time.Time) (*issuePlan, *violations) {
	v := &violations{}
	plan := &issuePlan{}
	checkValidity(v, plan, p.Validity, req.Validity, now)
	checkSubject(v, plan, p.SubjectDN, &req.SubjectDN)
	checkSAN(v, plan, p.SAN, req.SAN)
	checkEKUs(v, plan, p.ExtendedKeyUsages, req.ExtendedKeyUsages)
	checkKeyUsages(v, plan, p.KeyUsages, req.KeyUsages)
	checkSections(v, p, req)
	checkCustomExtensions(v, plan, p.CustomExtensions, req.CustomExtensions)
	checkSignature(v, p.Signature, req.Signature)
	checkPublicKey(v, plan, p, req.PublicKey, req.PublicKeySignature)
	if !v.empty() {
		return nil, v
	}
	return plan, nil
}

func checkValidity(v *violations, plan *issuePlan, p *atlas.ValidityPolicy, val atlas.Validity, now time.Time) {
	nb, na := val.NotBefore, val.NotAfter
	if nb <= 0 {
		v.add("validity.not_before", "is required")
		return
	}
	maxLife := int64(397 * 24 * 3600)
	if p != nil {
		maxLife = p.SecondsMax
		t := now.Unix()
		if nb < t-p.NotBeforeNegativeSkew || nb > t+p.NotBeforePositiveSkew {
			v.add("validity.not_before", "outside the allowed skew")
		}
	}
	if na == 0 {
		na = nb + maxLife
	}
	if na <= nb {
		v.add("validity.not_after", "must be after not_before")
		return
	}
	if p != nil {
		if life := na - nb; life < p.SecondsMin || life > p.SecondsMax {
			v.add("validity", "lifetime outside [%d, %d]", p.SecondsMin, p.SecondsMax)
		}
		if p.IssuerExpiry > 0 && na > p.IssuerExpiry {
			v.add("validity.not_after", "after the issuing CA's expiry")
		}
	}
	plan.notBefore, plan.notAfter = time.Unix(nb, 0).UTC(), time.Unix(na, 0).UTC()
}

// Subject attribute OIDs for attributes pkix.Name has no field for.
var (
	oidEmailAddress   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidGivenName      = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname        = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidOrgIdentifier  = asn1.ObjectIdentifier{2, 5, 4, 97}
	oidPseudonym      = asn1.ObjectIdentifier{2, 5, 4, 65}
	oidBusinessCat    = asn1.ObjectIdentifier{2, 5, 4, 15}
	oidJurisdictionL  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 1}
	oidJurisdictionST = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 2}
	oidJurisdictionC  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3}
)

func checkSubject(v *violations, plan *issuePlan, p *atlas.SubjectDNPolicy, dn *atlas.SubjectDN) {
	unchecked := p == nil
	if unchecked {
		p = &atlas.SubjectDNPolicy{}
	}
	str := func(name, value string, pol *atlas.StringPolicy) string {
		if unchecked {
			return value
		}
		return checkString(v, "subject_dn."+name, value, pol)
	}
	one := func(s string) []string {
		if s == "" {
			return nil
		}
		return []string{s}
	}
	extra := func(oid asn1.ObjectIdentifier, s string) {
		if s != "" {
			plan.subject.ExtraNames = append(plan.subject.ExtraNames, pkix.AttributeTypeAndValue{Type: oid, Value: s})
		}
	}
	n := &plan.subject
	n.CommonName = str("common_name", dn.CommonName, p.CommonName)
	extra(oidGivenName, str("given_name", dn.GivenName, p.GivenName))
	extra(oidSurname, str("surname", dn.Surname, p.Surname))
	n.Country = one(str("country", dn.Country, p.Country))
	n.Province = one(str("state", dn.State, p.State))
	n.Locality = one(str("locality", dn.Locality, p.Locality))
	n.StreetAddress = one(str("street_address", dn.StreetAddress, p.StreetAddress))
	n.PostalCode = one(str("postal_code", dn.PostalCode, p.PostalCode))
	n.Organization = one(str("organization", dn.Organization, p.Organization))
	if unchecked {
		n.OrganizationalUnit = dn.OrganizationalUnit
	} else {
		n.OrganizationalUnit = checkList(v, "subject_dn.organizational_unit", dn.OrganizationalUnit, p.OrganizationalUnit, matchRegex)
	}
	extra(oidOrgIdentifier, str("organization_identifier", dn.OrganizationIdentifier, p.OrganizationIdentifier))
	n.SerialNumber = str("serial_number", dn.SerialNumber, p.SerialNumber)
	if email := str("email", dn.Email, p.Email); email != "" {
		// emailAddress is an IA5String by definition (PKCS #9).
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidEmailAddress, Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(email)}})
	}
	extra(oidPseudonym, str("pseudonym", dn.Pseudonym, p.Pseudonym))
	extra(oidJurisdictionL, str("jurisdiction_of_incorporation_locality_name", dn.JurisdictionOfIncorporationLocalityName, p.JurisdictionOfIncorporationLocalityName))
	extra(oidJurisdictionST, str("jurisdiction_of_incorporation_state_or_province_name", dn.JurisdictionOfIncorporationStateOrProvinceName, p.JurisdictionOfIncorporationStateOrProvinceName))
	extra(oidJurisdictionC, str("jurisdiction_of_incorporation_country_name", dn.JurisdictionOfIncorporationCountryName, p.JurisdictionOfIncorporationCountryName))
	extra(oidBusinessCat, str("business_category", dn.BusinessCategory, p.BusinessCategory))
	for _, a := range checkOIDValues(v, "subject_dn.extra_attributes", dn.ExtraAttributes, p.ExtraAttributes, unchecked) {
		oid, _ := parseOID(a.Type)
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oid, Value: a.Value})
	}
}

// checkString applies a StringPolicy and returns the value for the
// certificate: a STATIC attribute carries the policy's value even when the
// request leaves it out, as VAULT and KF expect when they omit it.
func checkString(v *violations, field, value string, pol *atlas.StringPolicy) string {
	if pol == nil {
		if value != "" {
			v.add(field, "is forbidden")
		}
		return ""
	}
	if value == "" && pol.IgnoreEmpty && pol.Presence != atlas.PresenceStatic {
		return ""
	}
	switch pol.Presence {
	case atlas.PresenceForbidden:
		if value != "" {
			v.add(field, "is forbidden")
		}
		return ""
	case atlas.PresenceStatic:
		if value != "" && value != pol.Format {
			v.add(field, "is static")
		}
		return pol.Format
	case atlas.PresenceRequired:
		if value == "" {
			v.add(field, "is required")
			return ""
		}
	default:
		if value == "" {
			return ""
		}
	}
	if pol.Format != "" && !matchRegex(pol.Format, value) {
		v.add(field, "%s does not match the required format", value)
	}
	return value
}

// checkList applies a ListPolicy; match decides whether one policy entry
// admits one value (suffix for DNS names and emails, regex otherwise). A
// static list is what the certificate gets when the request sends nothing.
func checkList(v *violations, field string, values []string, pol *atlas.ListPolicy, match func(entry, value string) bool) []string {
	if pol == nil {
		if len(values) > 0 {
			v.add(field, "is forbidden")
		}
		return nil
	}
	if pol.Static {
		if len(values) > 0 && !slices.Equal(values, pol.List) {
			v.add(field, "is static")
		}
		return slices.Clone(pol.List)
	}
	if len(values) > pol.MaxCount {
		v.add(field, "too many entries")
		return nil
	}
	if len(values) < pol.MinCount {
		v.add(field, "too few entries")
		return nil
	}
	for _, val := range values {
		if len(pol.List) == 0 {
			break
		}
		ok := false
		for _, e := range pol.List {
			if match(e, val) {
				ok = true
				break
			}
		}
		if !ok {
			v.add(field, "%s is not allowed", val)
		}
	}
	return values
}

func matchSuffix(entry, value string) bool {
	return strings.HasSuffix(strings.ToLower(value), strings.ToLower(entry))
}

var regexCache sync.Map // string -> *regexp.Regexp, or error

// matchRegex reports whether value matches the policy regex. A regex the fake
// cannot compile admits nothing, so a broken test policy shows up as a 422
// instead of passing silently.
func matchRegex(expr, value string) bool {
	c, ok := regexCache.Load(expr)
	if !ok {
		re, err := regexp.Compile(expr)
		if err != nil {
			c = err
		} else {
			c = re
		}
		regexCache.Store(expr, c)
	}
	re, ok := c.(*regexp.Regexp)
	return ok && re.MatchString(value)
}

var (
	dnsNameRE = regexp.MustCompile(`^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)
	oidRE     = regexp.MustCompile(`^([0-9]{1,9}\.){0,63}[0-9]+$`)
)

func checkSAN(v *violations, plan *issuePlan, p *atlas.SANPolicy, san *atlas.SAN) {
	if san == nil {
		san = &atlas.SAN{}
	}
	if p == nil {
		p = &atlas.SANPolicy{
			DNSNames:    &atlas.ListPolicy{MaxCount: len(san.DNSNames)},
			Emails:      &atlas.ListPolicy{MaxCount: len(san.Emails)},
			IPAddresses: &atlas.ListPolicy{MaxCount: len(san.IPAddresses)},
			URIs:        &atlas.ListPolicy{MaxCount: len(san.URIs)},
		}
	}
	for _, d := range san.DNSNames {
		if !dnsNameRE.MatchString(strings.ToLower(d)) {
			v.add("san.dns_names", "%s is not a valid DNS name", d)
		}
	}
	plan.dnsNames = checkList(v, "san.dns_names", san.DNSNames, p.DNSNames, matchSuffix)
	for _, e := range san.Emails {
		if at := strings.LastIndexByte(e, '@'); at <= 0 || at == len(e)-1 {
			v.add("san.emails", "%s is not a valid email address", e)
		}
	}
	plan.emails = checkList(v, "san.emails", san.Emails, p.Emails, matchSuffix)
	for _, s := range checkList(v, "san.ip_addresses", san.IPAddresses, p.IPAddresses, matchRegex) {
		ip := net.ParseIP(s)
		if ip == nil {
			v.add("san.ip_addresses", "%s is not a valid IP address", s)
			continue
		}
		plan.ips = append(plan.ips, ip)
	}
	for _, s := range checkList(v, "san.uris", san.URIs, p.URIs, matchRegex) {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" {
			v.add("san.uris", "%s is not a valid URI", s)
			continue
		}
		plan.uris = append(plan.uris, u)
	}
	// other_names are validated but not encoded: no issuer sends them, and
	// crypto/x509 cannot write them without hand-built SAN DER.
	checkOIDValues(v, "san.other_names", san.OtherNames, p.OtherNames, false)
}

// checkOIDValues applies a map of TypeAndValuePolicy to OID-typed values.
func checkOIDValues(v *violations, field string, values []atlas.OIDValue, pols map[string]atlas.TypeAndValuePolicy, unchecked bool) []atlas.OIDValue {
	var out []atlas.OIDValue
	counts := map[string]int{}
	for _, a := range values {
		if _, ok := parseOID(a.Type); !ok {
			v.add(field, "%s is not a valid OID", a.Type)
			continue
		}
		if !unchecked {
			pol, ok := pols[a.Type]
			if !ok {
				v.add(field, "%s is not allowed", a.Type)
				continue
			}
			counts[a.Type]++
			if counts[a.Type] > pol.MaxCount {
				v.add(field, "%s: too many entries", a.Type)
				continue
			}
			if pol.ValueFormat != "" && !matchRegex(pol.ValueFormat, a.Value) {
				v.add(field, "%s: %s does not match the required format", a.Type, a.Value)
				continue
			}
		}
		out = append(out, a)
	}
	if !unchecked {
		oids := make([]string, 0, len(pols))
		for oid := range pols {
			oids = append(oids, oid)
		}
		sort.Strings(oids)
		for _, oid := range oids {
			if counts[oid] < pols[oid].MinCount {
				v.add(field, "%s: too few entries", oid)
			}
		}
	}
	return out
}

var ekuByOID = map[string]x509.ExtKeyUsage{
	"2.5.29.37.0":       x509.ExtKeyUsageAny,
	"1.3.6.1.5.5.7.3.1": x509.ExtKeyUsageServerAuth,
	"1.3.6.1.5.5.7.3.2": x509.ExtKeyUsageClientAuth,
	"1.3.6.1.5.5.7.3.3": x509.ExtKeyUsageCodeSigning,
	"1.3.6.1.5.5.7.3.4": x509.ExtKeyUsageEmailProtection,
	"1.3.6.1.5.5.7.3.8": x509.ExtKeyUsageTimeStamping,
	"1.3.6.1.5.5.7.3.9": x509.ExtKeyUsageOCSPSigning,
}

func checkEKUs(v *violations, plan *issuePlan, p *atlas.EKUPolicy, ekus []string) {
	bad := false
	for _, e := range ekus {
		if !oidRE.MatchString(e) {
			v.add("extended_key_usages", "%s is not a valid OID", e)
			bad = true
		}
	}
	if bad {
		return
	}
	if p != nil {
		pol := p.EKUs
		if pol == nil {
			pol = &atlas.ListPolicy{}
		}
		ekus = checkList(v, "extended_key_usages", ekus, pol, matchRegex)
	}
	for _, e := range ekus {
		if ku, ok := ekuByOID[e]; ok {
			plan.ekus = append(plan.ekus, ku)
		} else if oid, ok := parseOID(e); ok {
			plan.unknownEKUs = append(plan.unknownEKUs, oid)
		}
	}
}

var keyUsageBits = []struct {
	name string
	bit  x509.KeyUsage
	get  func(*atlas.KeyUsages) *bool
}{
	{"digital_signature", x509.KeyUsageDigitalSignature, func(k *atlas.KeyUsages) *bool { return k.DigitalSignature }},
	{"content_commitment", x509.KeyUsageContentCommitment, func(k *atlas.KeyUsages) *bool { return k.ContentCommitment }},
	{"key_encipherment", x509.KeyUsageKeyEncipherment, func(k *atlas.KeyUsages) *bool { return k.KeyEncipherment }},
	{"data_encipherment", x509.KeyUsageDataEncipherment, func(k *atlas.KeyUsages) *bool { return k.DataEncipherment }},
	{"key_agreement", x509.KeyUsageKeyAgreement, func(k *atlas.KeyUsages) *bool { return k.KeyAgreement }},
	{"key_certificate_sign", x509.KeyUsageCertSign, func(k *atlas.KeyUsages) *bool { return k.KeyCertificateSign }},
	{"crl_sign", x509.KeyUsageCRLSign, func(k *atlas.KeyUsages) *bool { return k.CRLSign }},
	{"encipher_only", x509.KeyUsageEncipherOnly, func(k *atlas.KeyUsages) *bool { return k.EncipherOnly }},
	{"decipher_only", x509.KeyUsageDecipherOnly, func(k *atlas.KeyUsages) *bool { return k.DecipherOnly }},
}

// checkKeyUsages: a usage the policy fixes may be sent only with its fixed
// value, and a usage the policy does not name is fixed to false. Without a
// key_usages section every requested usage is granted.
func checkKeyUsages(v *violations, plan *issuePlan, p map[string]string, req *atlas.KeyUsages) {
	if req == nil {
		req = &atlas.KeyUsages{}
	}
	for _, ku := range keyUsageBits {
		val := ku.get(req)
		field := "key_usages." + ku.name
		want := true
		mode := atlas.KeyUsageOptional
		if p != nil {
			mode = strings.ToUpper(p[ku.name])
		}
		switch mode {
		case atlas.KeyUsageOptional:
			want = val != nil && *val
		case atlas.KeyUsageStaticTrue:
			if val != nil && !*val {
				v.add(field, "is static")
			}
		default:
			want = false
			if val != nil && *val {
				v.add(field, "is static")
			}
		}
		if want {
			plan.keyUsage |= ku.bit
		}
	}
}

// checkSections rejects extensions the account's policy has no section for.
// When the section exists the request is accepted as sent but not encoded:
// cert-manager has no way to ask for them.
func checkSections(v *violations, p *atlas.ValidationPolicy, req *atlas.CertificateRequest) {
	if req.SubjectDA != nil && p.SubjectDA == nil {
		v.add("subject_da", "is forbidden")
	}
	if req.QualifiedStatements != nil && p.QualifiedStatements == nil {
		v.add("qualified_statements", "is forbidden")
	}
	if req.MSExtensionTemplate != nil && p.MSExtensionTemplate == nil {
		v.add("ms_extension_template", "is forbidden")
	}
}

// checkCustomExtensions encodes each custom extension by its policy's
// value_type, in the formats the Atlas API documents for custom extensions.
func checkCustomExtensions(v *violations, plan *issuePlan, p map[string]atlas.CustomExtensionPolicy, exts map[string]string) {
	oids := make([]string, 0, len(exts))
	for oid := range exts {
		oids = append(oids, oid)
	}
	sort.Strings(oids)
	for _, oid := range oids {
		field := "custom_extensions." + oid
		pol, ok := p[oid]
		if !ok || pol.Presence == atlas.PresenceForbidden {
			v.add(field, "is forbidden")
			continue
		}
		id, ok := parseOID(oid)
		if !ok {
			v.add(field, "is not a valid OID")
			continue
		}
		val := exts[oid]
		if pol.ValueFormat != "" && !matchRegex(pol.ValueFormat, val) {
			v.add(field, "%s does not match the required format", val)
			continue
		}
		der, err := encodeExtensionValue(pol.ValueType, val)
		if err != nil {
			v.add(field, "%v", err)
			continue
		}
		plan.extensions = append(plan.extensions, pkix.Extension{Id: id, Critical: pol.Critical, Value: der})
	}
	reqd := make([]string, 0, len(p))
	for oid, pol := range p {
		if pol.Presence == atlas.PresenceRequired {
			if _, ok := exts[oid]; !ok {
				reqd = append(reqd, oid)
			}
		}
	}
	sort.Strings(reqd)
	for _, oid := range reqd {
		v.add("custom_extensions."+oid, "is required")
	}
}

func encodeExtensionValue(valueType, val string) ([]byte, error) {
	switch strings.ToUpper(valueType) {
	case "NIL":
		return asn1.NullBytes, nil
	case "DER":
		b, err := hex.DecodeString(val)
		if err != nil {
			return nil, fmt.Errorf("is not hex DER")
		}
		return b, nil
	case "INTEGER":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("is not an integer")
		}
		return asn1.Marshal(n)
	case "IA5STRING":
		return asn1.MarshalWithParams(val, "ia5")
	case "PRINTABLESTRING":
		return asn1.MarshalWithParams(val, "printable")
	default:
		return asn1.MarshalWithParams(val, "utf8")
	}
}

// checkSignature validates the requested CA signature algorithm. The fake's
// CA always signs with ECDSA SHA-256 whatever is asked: an issuer only needs
// the request to be accepted.
func checkSignature(v *violations, p *atlas.SignaturePolicy, sig *atlas.Signature) {
	if p == nil {
		return
	}
	if sig == nil {
		sig = &atlas.Signature{}
	}
	checkListPresence(v, "signature.algorithm", sig.Algorithm, p.Algorithm)
	checkListPresence(v, "signature.hash_algorithm", sig.HashAlgorithm, p.HashAlgorithm)
}

func checkListPresence(v *violations, field, value string, pol *atlas.ListPresencePolicy) {
	if pol == nil {
		return
	}
	switch pol.Presence {
	case atlas.PresenceForbidden:
		if value != "" {
			v.add(field, "is forbidden")
		}
		return
	case atlas.PresenceStatic:
		if value != "" && (len(pol.List) == 0 || !strings.EqualFold(value, pol.List[0])) {
			v.add(field, "is static")
		}
		return
	case atlas.PresenceRequired:
		if value == "" {
			v.add(field, "is required")
			return
		}
	}
	if value == "" {
		return
	}
	if !slices.ContainsFunc(pol.List, func(s string) bool { return strings.EqualFold(s, value) }) {
		v.add(field, "%s is not allowed", value)
	}
}

// checkPublicKey reads public_key as the policy's key_format says (a CSR for
// PKCS10, whose signature is checked and whose subject and extensions are
// ignored as Atlas ignores them; an SPKI for PKCS8), then the key type and
// size, then public_key_signature.
func checkPublicKey(v *violations, plan *issuePlan, p *atlas.ValidationPolicy, pemText, signature string) {
	pub, spki, ok := parsePublicKey(v, p.KeyFormat(), pemText)
	if !ok {
		return
	}
	if p.PublicKey != nil {
		keyType, bits := describeKey(pub)
		if keyType == "" || (p.PublicKey.KeyType != "" && !strings.EqualFold(keyType, p.PublicKey.KeyType)) {
			v.add("public_key", "key type not allowed")
			return
		}
		if len(p.PublicKey.AllowedLengths) > 0 && !slices.Contains(p.PublicKey.AllowedLengths, bits) {
			v.add("public_key", "key length not allowed")
			return
		}
	} else if t, _ := describeKey(pub); t == "" {
		v.add("public_key", "key type not allowed")
		return
	}
	switch p.PublicKeySignature {
	case atlas.PresenceForbidden:
		if signature != "" {
			v.add("public_key_signature", "is forbidden")
			return
		}
	case atlas.PresenceRequired:
		if signature == "" {
			v.add("public_key_signature", "is required")
			return
		}
	}
	if signature != "" && !verifyKeySignature(pub, spki, signature) {
		v.add("public_key_signature", "invalid signature")
		return
	}
	fp := sha256.Sum256(spki)
	plan.pub, plan.spki, plan.fingerprint = pub, spki, hex.EncodeToString(fp[:])
}

func parsePublicKey(v *violations, format, pemText string) (crypto.PublicKey, []byte, bool) {
	if strings.TrimSpace(pemText) == "" {
		v.add("public_key", "is required")
		return nil, nil, false
	}
	block, rest := pem.Decode([]byte(pemText))
	if block == nil || strings.TrimSpace(string(rest)) != "" {
		v.add("public_key", "is not a single PEM block")
		return nil, nil, false
	}
	var pub crypto.PublicKey
	switch format {
	case atlas.KeyFormatPKCS8:
		if block.Type != "PUBLIC KEY" {
			v.add("public_key", "expected a PEM PUBLIC KEY for key format PKCS8, got %s", block.Type)
			return nil, nil, false
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			v.add("public_key", "invalid public key: %v", err)
			return nil, nil, false
		}
		pub = k
	default:
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			v.add("public_key", "expected a PEM CERTIFICATE REQUEST for key format PKCS10, got %s", block.Type)
			return nil, nil, false
		}
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			v.add("public_key", "invalid certificate request: %v", err)
			return nil, nil, false
		}
		if err := csr.CheckSignature(); err != nil {
			v.add("public_key", "invalid certificate request signature")
			return nil, nil, false
		}
		pub = csr.PublicKey
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		v.add("public_key", "key type not allowed")
		return nil, nil, false
	}
	return pub, spki, true
}

// describeKey names a key as the policy does: RSA with its modulus size, or
// ECDSA with its curve size. Atlas takes no other kind.
func describeKey(pub crypto.PublicKey) (string, int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return atlas.KeyTypeRSA, k.N.BitLen()
	case *ecdsa.PublicKey:
		return atlas.KeyTypeECDSA, k.Curve.Params().BitSize
	}
	return "", 0
}

// verifyKeySignature checks public_key_signature: base64 of an RSA PKCS#1
// v1.5 or ECDSA ASN.1 signature over the SHA-256 of the DER SPKI.
func verifyKeySignature(pub crypto.PublicKey, spki []byte, signature string) bool {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil {
		if sig, err = base64.RawStdEncoding.DecodeString(strings.TrimSpace(signature)); err != nil {
			return false
		}
	}
	digest := sha256.Sum256(spki)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, digest[:], sig)
	}
	return false
}

func parseOID(s string) (asn1.ObjectIdentifier, bool) {
	if !oidRE.MatchString(s) {
		return nil, false
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, false
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, false
		}
		oid[i] = n
	}
	return oid, true
}
