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
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// MismatchError says how an issued certificate differs from the request it
// is meant to answer. Field is in Atlas's dotted naming, like PolicyError's.
type MismatchError struct {
	Field  string
	Reason string
}

// Error returns "<field>: <reason>".
func (e *MismatchError) Error() string {
	return e.Field + ": " + e.Reason
}

// CheckIssued reports whether cert carries exactly the names and subject
// that r asked Atlas for under policy p: every requested value present and
// nothing else, apart from values the policy fixes (STATIC), which Atlas
// fills in itself. What the mapping left out (its notes) is absent from r
// and so must be absent from cert too. The public key is the caller's to
// compare; SAN other names are not compared, as crypto/x509 does not parse
// them.
func CheckIssued(cert *x509.Certificate, r *Result, p *atlas.ValidationPolicy) error {
	var san atlas.SAN
	if r.Request.SAN != nil {
		san = *r.Request.SAN
	}
	var sp atlas.SANPolicy
	if p != nil && p.SAN != nil {
		sp = *p.SAN
	}
	ips := make([]string, len(cert.IPAddresses))
	for i, ip := range cert.IPAddresses {
		ips[i] = ip.String()
	}
	uris := make([]string, len(cert.URIs))
	for i, u := range cert.URIs {
		uris[i] = u.String()
	}
	lists := []struct {
		field     string
		got, want []string
		lp        *atlas.ListPolicy
		fold      bool
	}{
		{"san.dns_names", cert.DNSNames, san.DNSNames, sp.DNSNames, true},
		{"san.ip_addresses", ips, canonicalIPs(san.IPAddresses), sp.IPAddresses, false},
		{"san.emails", cert.EmailAddresses, san.Emails, sp.Emails, true},
		{"san.uris", uris, san.URIs, sp.URIs, false},
	}
	for _, l := range lists {
		if err := compareValues(l.field, l.got, l.want, staticList(l.lp), l.fold); err != nil {
			return err
		}
	}
	return checkSubject(cert, r.Request.SubjectDN, p)
}

// checkSubject compares the certificate's subject attribute by attribute.
func checkSubject(cert *x509.Certificate, dn atlas.SubjectDN, p *atlas.ValidationPolicy) error {
	got := map[string][]string{}
	for _, atv := range cert.Subject.Names {
		oid := atv.Type.String()
		got[oid] = append(got[oid], fmt.Sprint(atv.Value))
	}
	want, err := requestedSubject(dn)
	if err != nil {
		return err
	}
	var dp atlas.SubjectDNPolicy
	if p != nil && p.SubjectDN != nil {
		dp = *p.SubjectDN
	}
	static := map[string][]string{}
	fields := map[string]string{oidOrganizationalUnit: "subject_dn.organizational_unit"}
	for _, a := range dnAttrs {
		fields[a.oid] = "subject_dn." + a.field
		if sp := a.pol(&dp); sp != nil && presenceOf(sp.Presence) == atlas.PresenceStatic {
			static[a.oid] = []string{sp.Format}
		}
	}
	static[oidOrganizationalUnit] = staticList(dp.OrganizationalUnit)
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	oids := slices.Sorted(maps.Keys(keys))
	for _, oid := range oids {
		field, ok := fields[oid]
		if !ok {
			field = "subject_dn.extra_attributes." + oid
			if tv, ok := dp.ExtraAttributes[oid]; ok && tv.Static && len(want[oid]) == 0 {
				continue // Atlas fills a static attribute with a value of its own.
			}
		}
		if err := compareValues(field, got[oid], want[oid], static[oid], false); err != nil {
			return err
		}
	}
	return nil
}

// requestedSubject lists the requested subject by attribute OID. The values are
// read through the JSON names dnAttrs records, so the table stays the one
// place that ties an OID to its Atlas field.
func requestedSubject(dn atlas.SubjectDN) (map[string][]string, error) {
	raw, err := json.Marshal(dn)
	if err != nil {
		return nil, fmt.Errorf("encode subject: %w", err)
	}
	var byField map[string]any
	if err := json.Unmarshal(raw, &byField); err != nil {
		return nil, fmt.Errorf("decode subject: %w", err)
	}
	out := map[string][]string{}
	for _, a := range dnAttrs {
		if v, ok := byField[a.field].(string); ok && v != "" {
			out[a.oid] = []string{v}
		}
	}
	if len(dn.OrganizationalUnit) > 0 {
		out[oidOrganizationalUnit] = slices.Clone(dn.OrganizationalUnit)
	}
	for _, x := range dn.ExtraAttributes {
		out[x.Type] = append(out[x.Type], x.Value)
	}
	return out, nil
}

// compareValues wants got to hold every value of want and nothing else but
// values of allowed (what the policy fixes).
func compareValues(field string, got, want, allowed []string, fold bool) error {
	eq := func(a, b string) bool {
		if fold {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	has := func(list []string, v string) bool {
		return slices.ContainsFunc(list, func(s string) bool { return eq(s, v) })
	}
	for _, w := range want {
		if !has(got, w) {
			return &MismatchError{Field: field, Reason: fmt.Sprintf("the certificate lacks %s, which the request asked for", quote(w))}
		}
	}
	for _, g := range got {
		if !has(want, g) && !has(allowed, g) {
			return &MismatchError{Field: field, Reason: fmt.Sprintf("the certificate has %s, which the request did not ask for", quote(g))}
		}
	}
	return nil
}

// staticList is what a static list policy fixes; nothing otherwise.
func staticList(lp *atlas.ListPolicy) []string {
	if lp == nil || !lp.Static {
		return nil
	}
	return canonicalIPs(lp.List)
}

// canonicalIPs writes IP addresses as net.IP does and leaves other values
// as they are, so that "::0001" and "::1" compare equal.
func canonicalIPs(vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		if ip := net.ParseIP(v); ip != nil {
			v = ip.String()
		}
		out[i] = v
	}
	return out
}
