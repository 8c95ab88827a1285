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
	"strings"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// san maps the CSR's subject alternative names. Unlike a subject attribute,
// a name the policy does not provide for fails the request: leaving it out
// would issue a certificate that does not cover a name the user asked for.
// The same holds for otherNames, and for a kind of name Atlas has no field
// for at all. The common name is never added here; the earlier issuer did,
// and sent duplicates.
func (m *mapper) san(csr *x509.CertificateRequest) (*atlas.SAN, error) {
	var sp atlas.SANPolicy
	if m.p.SAN != nil {
		sp = *m.p.SAN
	}
	ips := make([]string, len(csr.IPAddresses))
	for i, ip := range csr.IPAddresses {
		ips[i] = ip.String()
	}
	uris := make([]string, len(csr.URIs))
	for i, u := range csr.URIs {
		uris[i] = u.String()
	}
	out := &atlas.SAN{}
	var err error
	if out.DNSNames, err = m.sanList("san.dns_names", "DNS names", dedupe(csr.DNSNames, strings.ToLower), sp.DNSNames, matchSuffix); err != nil {
		return nil, err
	}
	if out.IPAddresses, err = m.sanList("san.ip_addresses", "IP addresses", dedupe(ips, identity), sp.IPAddresses, matchRegex); err != nil {
		return nil, err
	}
	if out.Emails, err = m.sanList("san.emails", "email addresses", dedupe(csr.EmailAddresses, identity), sp.Emails, matchSuffix); err != nil {
		return nil, err
	}
	if out.URIs, err = m.sanList("san.uris", "URIs", dedupe(uris, identity), sp.URIs, matchRegex); err != nil {
		return nil, err
	}
	ons, err := otherNames(csr)
	if err != nil {
		return nil, err
	}
	if out.OtherNames, err = m.oidValues("san.other_names", "otherName", ons, sp.OtherNames); err != nil {
		return nil, err
	}
	if out.Empty() {
		return nil, nil
	}
	return out, nil
}

func (m *mapper) sanList(field, what string, values []string, lp *atlas.ListPolicy, kind matchKind) ([]string, error) {
	if lp == nil {
		if len(values) > 0 {
			return nil, policyErr(field, "%s are not allowed by the account's validation policy; the request has %s", what, quoteList(values))
		}
		return nil, nil
	}
	return m.list(field, what, values, lp, kind)
}
