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
	"fmt"
	"slices"
	"strings"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// Summary describes the parts of a validation policy that decide whether a
// cert-manager request can succeed, in one short line for an issuer's
// status, e.g. "PKCS10, RSA 2048/4096, lifetime 1h-397d, DNS names <= 100
// (suffixes .example.com), CN required".
func Summary(p *atlas.ValidationPolicy) string {
	if p == nil {
		return "no validation policy"
	}
	parts := []string{p.KeyFormat()}
	if p.NeedsPrivateKey() {
		parts[0] += " with public key signature (unusable by cert-manager)"
	}

	key := "RSA or ECDSA"
	var lengths []int
	if pk := p.PublicKey; pk != nil {
		if pk.KeyType != "" {
			key = strings.ToUpper(pk.KeyType)
		}
		lengths = pk.AllowedLengths
	}
	if len(lengths) > 0 {
		ls := make([]string, len(lengths))
		for i, l := range lengths {
			ls[i] = fmt.Sprint(l)
		}
		key += " " + strings.Join(ls, "/")
	}
	parts = append(parts, key)

	if v := p.Validity; v != nil && (v.SecondsMin > 0 || v.SecondsMax > 0) {
		switch {
		case v.SecondsMax <= 0:
			parts = append(parts, "lifetime >= "+shortSeconds(v.SecondsMin))
		case v.SecondsMin <= 0:
			parts = append(parts, "lifetime <= "+shortSeconds(v.SecondsMax))
		default:
			parts = append(parts, "lifetime "+shortSeconds(v.SecondsMin)+"-"+shortSeconds(v.SecondsMax))
		}
	}

	var sp atlas.SANPolicy
	if p.SAN != nil {
		sp = *p.SAN
	}
	parts = append(parts, summaryList("DNS names", sp.DNSNames, true))
	for _, l := range []struct {
		name string
		lp   *atlas.ListPolicy
	}{{"IPs", sp.IPAddresses}, {"emails", sp.Emails}, {"URIs", sp.URIs}} {
		// Only the name kinds an account allows are worth the space.
		if l.lp != nil && (l.lp.Static || l.lp.MaxCount > 0) {
			parts = append(parts, summaryList(l.name, l.lp, false))
		}
	}

	if p.SubjectDN != nil && p.SubjectDN.CommonName != nil {
		pr := presenceOf(p.SubjectDN.CommonName.Presence)
		if pr == "" {
			pr = atlas.PresenceOptional
		}
		parts = append(parts, "CN "+strings.ToLower(string(pr)))
	}
	return strings.Join(parts, ", ")
}

func summaryList(name string, lp *atlas.ListPolicy, suffixes bool) string {
	switch {
	case lp == nil || (!lp.Static && lp.MaxCount <= 0):
		return "no " + name
	case lp.Static:
		return name + " fixed"
	}
	s := fmt.Sprintf("%s <= %d", name, lp.MaxCount)
	if !suffixes || len(lp.List) == 0 || slices.Contains(lp.List, "") {
		return s
	}
	shown := lp.List
	more := ""
	if len(shown) > 3 {
		more = fmt.Sprintf(" +%d", len(shown)-3)
		shown = shown[:3]
	}
	return s + " (suffixes " + strings.Join(shown, " ") + more + ")"
}

// shortSeconds prints a lifetime bound compactly, in the largest whole unit.
func shortSeconds(s int64) string {
	switch {
	case s%86400 == 0:
		return fmt.Sprintf("%dd", s/86400)
	case s%3600 == 0:
		return fmt.Sprintf("%dh", s/3600)
	case s%60 == 0:
		return fmt.Sprintf("%dm", s/60)
	default:
		return fmt.Sprintf("%ds", s)
	}
}
