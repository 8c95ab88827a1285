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

// ekuOIDs maps every extended key usage crypto/x509 knows to its OID, with a
// name for messages.
var ekuOIDs = map[x509.ExtKeyUsage]struct{ oid, name string }{
	x509.ExtKeyUsageAny:                            {"2.5.29.37.0", "any"},
	x509.ExtKeyUsageServerAuth:                     {"1.3.6.1.5.5.7.3.1", "server auth"},
	x509.ExtKeyUsageClientAuth:                     {"1.3.6.1.5.5.7.3.2", "client auth"},
	x509.ExtKeyUsageCodeSigning:                    {"1.3.6.1.5.5.7.3.3", "code signing"},
	x509.ExtKeyUsageEmailProtection:                {"1.3.6.1.5.5.7.3.4", "email protection"},
	x509.ExtKeyUsageIPSECEndSystem:                 {"1.3.6.1.5.5.7.3.5", "ipsec end system"},
	x509.ExtKeyUsageIPSECTunnel:                    {"1.3.6.1.5.5.7.3.6", "ipsec tunnel"},
	x509.ExtKeyUsageIPSECUser:                      {"1.3.6.1.5.5.7.3.7", "ipsec user"},
	x509.ExtKeyUsageTimeStamping:                   {"1.3.6.1.5.5.7.3.8", "timestamping"},
	x509.ExtKeyUsageOCSPSigning:                    {"1.3.6.1.5.5.7.3.9", "ocsp signing"},
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     {"1.3.6.1.4.1.311.10.3.3", "microsoft sgc"},
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      {"2.16.840.1.113730.4.1", "netscape sgc"},
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: {"1.3.6.1.4.1.311.2.1.22", "microsoft commercial code signing"},
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     {"1.3.6.1.4.1.311.61.1.1", "microsoft kernel code signing"},
}

// extKeyUsages maps the requested extended key usages to OIDs. An account
// whose policy has no extended_key_usages section gets none sent: Atlas then
// applies its own profile, and that is noted, since failing every request
// of an older account would help nobody.
func (m *mapper) extKeyUsages(ekus []x509.ExtKeyUsage) ([]string, error) {
	var oids []string
	for _, e := range ekus {
		info, ok := ekuOIDs[e]
		if !ok {
			return nil, policyErr("extended_key_usages", "unknown extended key usage %d", int(e))
		}
		if !slices.Contains(oids, info.oid) {
			oids = append(oids, info.oid)
		}
	}
	var lp *atlas.ListPolicy
	if m.p.ExtendedKeyUsages != nil {
		lp = m.p.ExtendedKeyUsages.EKUs
	}
	if lp == nil {
		if len(oids) > 0 {
			m.note("the account's validation policy does not mention extended key usages; %s left out and Atlas decides", describeEKUs(oids))
		}
		return nil, nil
	}
	return m.list("extended_key_usages", "extended key usages", oids, lp, matchRegex)
}

func describeEKUs(oids []string) string {
	names := make([]string, len(oids))
	for i, oid := range oids {
		names[i] = oid
		for _, info := range ekuOIDs {
			if info.oid == oid {
				names[i] = info.name + " (" + oid + ")"
			}
		}
	}
	if len(names) == 1 {
		return names[0] + " was"
	}
	return strings.Join(names, ", ") + " were"
}

// keyUsageFields ties each key usage bit to its Atlas name and field.
var keyUsageFields = []struct {
	bit   x509.KeyUsage
	name  string
	label string
	field func(*atlas.KeyUsages) **bool
}{
	{x509.KeyUsageDigitalSignature, "digital_signature", "digital signature", func(k *atlas.KeyUsages) **bool { return &k.DigitalSignature }},
	{x509.KeyUsageContentCommitment, "content_commitment", "content commitment", func(k *atlas.KeyUsages) **bool { return &k.ContentCommitment }},
	{x509.KeyUsageKeyEncipherment, "key_encipherment", "key encipherment", func(k *atlas.KeyUsages) **bool { return &k.KeyEncipherment }},
	{x509.KeyUsageDataEncipherment, "data_encipherment", "data encipherment", func(k *atlas.KeyUsages) **bool { return &k.DataEncipherment }},
	{x509.KeyUsageKeyAgreement, "key_agreement", "key agreement", func(k *atlas.KeyUsages) **bool { return &k.KeyAgreement }},
	{x509.KeyUsageCertSign, "key_certificate_sign", "cert sign", func(k *atlas.KeyUsages) **bool { return &k.KeyCertificateSign }},
	{x509.KeyUsageCRLSign, "crl_sign", "crl sign", func(k *atlas.KeyUsages) **bool { return &k.CRLSign }},
	{x509.KeyUsageEncipherOnly, "encipher_only", "encipher only", func(k *atlas.KeyUsages) **bool { return &k.EncipherOnly }},
	{x509.KeyUsageDecipherOnly, "decipher_only", "decipher only", func(k *atlas.KeyUsages) **bool { return &k.DecipherOnly }},
}

// keyUsages maps the requested key usages. cert-manager asks for digital
// signature and key encipherment by default whatever the key, so a usage
// the account fixes to false is a note, not a failure: the account's
// profile decides. Cert sign and CRL sign are the exception: they make a
// CA, which Atlas does not issue, so unless the account explicitly offers
// them, asking for them fails the request, even on an account whose policy
// has no key_usages section.
func (m *mapper) keyUsages(ku x509.KeyUsage) (*atlas.KeyUsages, error) {
	out := &atlas.KeyUsages{}
	set := false
	var unmentioned []string
	for _, f := range keyUsageFields {
		if ku&f.bit == 0 {
			continue
		}
		val, mentioned := lookupFold(m.p.KeyUsages, f.name)
		val = strings.ToUpper(strings.TrimSpace(val))
		caUsage := f.bit == x509.KeyUsageCertSign || f.bit == x509.KeyUsageCRLSign
		switch {
		case val == atlas.KeyUsageStaticTrue:
			// Atlas sets it; sending it would be refused.
		case caUsage && (!mentioned || val == atlas.KeyUsageStaticFalse):
			return nil, policyErr("key_usages."+f.name, "%s is a CA usage; Atlas issues end-entity certificates and the account's validation policy does not allow it; remove it from the requested usages", f.label)
		case !mentioned:
			// Older accounts have no key_usages section; Atlas decides.
			unmentioned = append(unmentioned, f.label)
		case val == atlas.KeyUsageStaticFalse:
			m.note("the account does not allow key usage %s; the certificate will not have it", f.label)
		default: // OPTIONAL, and values Atlas may add later
			t := true
			*f.field(out) = &t
			set = true
		}
	}
	if len(unmentioned) > 0 {
		verb := " was"
		if len(unmentioned) > 1 {
			verb = " were"
		}
		m.note("the account's validation policy does not mention key usages; %s%s left out and Atlas decides", strings.Join(unmentioned, ", "), verb)
	}
	if !set {
		return nil, nil
	}
	return out, nil
}

func lookupFold(m map[string]string, key string) (string, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(strings.TrimSpace(k), key) {
			return v, true
		}
	}
	return "", false
}

// Signature chooses the CA's signature algorithms for a request (or a
// rekey) for a key of type keyAlg when the policy p requires a choice, and
// returns nil when it does not. The algorithm is the one the CA signs with,
// so an entry of the requester's key type is only a preference: an RSA CA
// may well issue for an ECDSA key, and refusing would reject requests Atlas
// accepts.
func Signature(p *atlas.ValidationPolicy, keyAlg x509.PublicKeyAlgorithm) *atlas.Signature {
	if p == nil {
		return nil
	}
	sp := p.Signature
	if sp == nil {
		return nil
	}
	out := &atlas.Signature{}
	if h := sp.HashAlgorithm; h != nil && presenceOf(h.Presence) == atlas.PresenceRequired && len(h.List) > 0 {
		out.HashAlgorithm = h.List[0]
		for _, v := range h.List {
			if strings.EqualFold(v, "SHA-256") {
				out.HashAlgorithm = v
				break
			}
		}
	}
	if a := sp.Algorithm; a != nil && presenceOf(a.Presence) == atlas.PresenceRequired && len(a.List) > 0 {
		out.Algorithm = a.List[0]
		for _, v := range a.List {
			u := strings.ToUpper(v)
			if (keyAlg == x509.RSA && (u == "RSA" || u == "RSA-PSS")) || (keyAlg == x509.ECDSA && u == "ECDSA") {
				out.Algorithm = v
				break
			}
		}
	}
	if *out == (atlas.Signature{}) {
		return nil
	}
	return out
}
