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
	"strings"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// PolicyError says why a request cannot be sent to Atlas, or why an account
// cannot serve cert-manager at all. Retrying does not help: the request, the
// issuer's account or its policy has to change.
type PolicyError struct {
	// Field is the offending field in Atlas's own dotted naming, such as
	// "subject_dn.organization", "san.dns_names", "public_key.key_length",
	// "validity" or "is_ca"; "csr" for the CSR itself.
	Field string
	// Reason is plain words a platform engineer can act on.
	Reason string
}

// Error returns "<field>: <reason>".
func (e *PolicyError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

func policyErr(field, format string, args ...any) *PolicyError {
	return &PolicyError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// CheckAccount reports whether a cert-manager issuer can use an account with
// this validation policy: nil if it can, otherwise a *PolicyError that says
// why no request could ever succeed. Map returns the same error, so a caller
// that runs CheckAccount when it checks the issuer can treat a later
// PolicyError from Map as a problem of the request alone.
func CheckAccount(p *atlas.ValidationPolicy) error {
	if p == nil {
		return policyErr("validation_policy", "no validation policy: Atlas returned none for this account, so no request can be checked or built")
	}
	switch f := p.KeyFormat(); f {
	case atlas.KeyFormatPKCS10, atlas.KeyFormatPKCS8:
	default:
		return policyErr("public_key.key_format", "unknown key format %s in the account's validation policy; this issuer knows PKCS10 (a CSR) and PKCS8 (a bare public key)", quote(f))
	}
	if p.NeedsPrivateKey() {
		return policyErr("public_key_signature", "the account's validation policy requires a public_key_signature, which needs the private key, and cert-manager never gives an issuer the private key, so no cert-manager issuer can use this account; ask GlobalSign for an account with key_format PKCS10, or PKCS8 with public_key_signature FORBIDDEN")
	}
	if pk := p.PublicKey; pk != nil && pk.KeyType != "" {
		switch strings.ToUpper(pk.KeyType) {
		case atlas.KeyTypeRSA, atlas.KeyTypeECDSA:
		default:
			return policyErr("public_key.key_type", "unknown key type %s in the account's validation policy; this issuer supports RSA and ECDSA keys", quote(pk.KeyType))
		}
	}
	if v := p.Validity; v != nil && v.SecondsMin > 0 && v.SecondsMax > 0 && v.SecondsMin > v.SecondsMax {
		return policyErr("validity", "the account's validation policy allows no lifetime: its minimum %s is longer than its maximum %s", humanSeconds(v.SecondsMin), humanSeconds(v.SecondsMax))
	}
	if s := p.Signature; s != nil {
		if a := s.Algorithm; a != nil && presenceOf(a.Presence) == atlas.PresenceRequired && len(a.List) == 0 {
			return policyErr("signature.algorithm", "the account's validation policy requires a signature algorithm but lists none to choose from")
		}
		if h := s.HashAlgorithm; h != nil && presenceOf(h.Presence) == atlas.PresenceRequired && len(h.List) == 0 {
			return policyErr("signature.hash_algorithm", "the account's validation policy requires a hash algorithm but lists none to choose from")
		}
	}
	if err := unsatisfiable(p); err != nil {
		return err
	}
	return nil
}

// quote quotes a value for a message, shortened so that a hostile or huge
// CSR attribute cannot flood a status condition.
func quote(s string) string {
	const maxRunes = 80
	if r := []rune(s); len(r) > maxRunes {
		s = string(r[:maxRunes]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// quoteList quotes up to a few values, comma-separated, for a message.
func quoteList(vals []string) string {
	const maxValues = 5
	var b strings.Builder
	for i, v := range vals {
		if i == maxValues {
			fmt.Fprintf(&b, ", and %d more", len(vals)-maxValues)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(v))
	}
	return b.String()
}

// humanSeconds prints a policy bound in the unit people configure it in.
func humanSeconds(s int64) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case s != 0 && s%86400 == 0:
		return plural(s/86400, "day")
	case s != 0 && s%3600 == 0:
		return plural(s/3600, "hour")
	case s != 0 && s%60 == 0:
		return plural(s/60, "minute")
	default:
		return plural(s, "second")
	}
}
