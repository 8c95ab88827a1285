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
	"encoding/asn1"
	"encoding/hex"
	"maps"
	"math/big"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// Value types of an Atlas TypeAndValuePolicy.
const (
	valueIA5       = "IA5STRING"
	valuePrintable = "PRINTABLESTRING"
	valueUTF8      = "UTF8STRING"
	valueInteger   = "INTEGER"
	valueDER       = "DER"
	valueNIL       = "NIL"
)

// stringTags are the ASN.1 string types Atlas can write, by value type.
var stringTags = map[string]int{
	valueIA5:       asn1.TagIA5String,
	valuePrintable: asn1.TagPrintableString,
	valueUTF8:      asn1.TagUTF8String,
}

// rawOIDValue is an OID-typed value as the CSR encodes it: a subject
// attribute the policy knows only by OID, or the value of an otherName.
type rawOIDValue struct {
	oid   string
	value asn1.RawValue
}

// oidValues maps OID-typed values to the OIDValues Atlas takes under pols,
// the policy's extra_attributes or other_names. what names one such value
// in messages ("subject attribute", "otherName"). A value Atlas would write
// differently from the CSR fails the request, except a string Atlas writes
// with another string type, which keeps its text and is noted.
func (m *mapper) oidValues(field, what string, vals []rawOIDValue, pols map[string]atlas.TypeAndValuePolicy) ([]atlas.OIDValue, error) {
	var out []atlas.OIDValue
	counts := map[string]int{}
	for _, v := range vals {
		pol, ok := pols[v.oid]
		if !ok {
			return nil, policyErr(field, "the request has a %s of type %s, which the account's validation policy does not allow, and leaving it out would change the certificate", what, v.oid)
		}
		counts[v.oid]++
		if counts[v.oid] > pol.MaxCount && !pol.Static {
			return nil, policyErr(field, "the request has %d values of type %s; the account's validation policy allows at most %d", counts[v.oid], v.oid, pol.MaxCount)
		}
		ov, err := m.typedValue(field, what, v, pol)
		if err != nil {
			return nil, err
		}
		if pol.Static {
			// Atlas writes a static value itself.
			if pol.ValueFormat != "" && ov.Value != pol.ValueFormat {
				return nil, policyErr(field, "%s of type %s is static (%s for every certificate of this account); the request has %s", what, v.oid, quote(pol.ValueFormat), quote(ov.Value))
			}
			continue
		}
		out = append(out, ov)
	}
	for _, oid := range slices.Sorted(maps.Keys(pols)) {
		if pol := pols[oid]; !pol.Static && counts[oid] < pol.MinCount {
			return nil, policyErr(field, "the account's validation policy requires at least %d values of type %s; the request has %d", pol.MinCount, oid, counts[oid])
		}
	}
	return out, nil
}

// typedValue encodes one value as the policy's value_type asks.
func (m *mapper) typedValue(field, what string, v rawOIDValue, pol atlas.TypeAndValuePolicy) (atlas.OIDValue, error) {
	out := atlas.OIDValue{Type: v.oid}
	raw := v.value
	universal := raw.Class == asn1.ClassUniversal
	switch vt := strings.ToUpper(strings.TrimSpace(pol.ValueType)); vt {
	case valueNIL:
		if !universal || raw.Tag != asn1.TagNull || len(raw.Bytes) != 0 {
			return out, policyErr(field, "the account's validation policy takes no value for the %s of type %s (NIL), and the request has one", what, v.oid)
		}
		return out, nil
	case valueDER:
		out.Value = hex.EncodeToString(raw.FullBytes)
		return out, nil
	case valueInteger:
		var n *big.Int
		if rest, err := asn1.Unmarshal(raw.FullBytes, &n); err != nil || len(rest) > 0 {
			return out, policyErr(field, "the account's validation policy takes an INTEGER for the %s of type %s, and the request's value is not one", what, v.oid)
		}
		out.Value = n.String()
	case valueIA5, valuePrintable, valueUTF8:
		text, ok := asn1String(raw)
		if !ok {
			return out, policyErr(field, "the account's validation policy takes a %s for the %s of type %s, and the request's value is not text", vt, what, v.oid)
		}
		if !fits(text, vt) {
			return out, policyErr(field, "the account's validation policy takes a %s for the %s of type %s, which cannot hold %s", vt, what, v.oid, quote(text))
		}
		if raw.Tag != stringTags[vt] {
			m.note("the %s of type %s keeps its text but is written as %s, the type the account's validation policy uses", what, v.oid, vt)
		}
		out.Value = text
	default:
		return out, policyErr(field, "the account's validation policy has value type %s for the %s of type %s, which this issuer does not know", quote(pol.ValueType), what, v.oid)
	}
	if !m.matchFormat(field, out.Value, pol.ValueFormat) {
		return out, policyErr(field, "the %s of type %s, %s, does not match the account's format %s", what, v.oid, quote(out.Value), quote(pol.ValueFormat))
	}
	return out, nil
}

// asn1String returns the text of a UTF8String, PrintableString or
// IA5String.
func asn1String(raw asn1.RawValue) (string, bool) {
	if raw.Class != asn1.ClassUniversal {
		return "", false
	}
	switch raw.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String:
		if !utf8.Valid(raw.Bytes) {
			return "", false
		}
		return string(raw.Bytes), true
	}
	return "", false
}

// fits reports whether text can be written as the string type vt.
func fits(text, vt string) bool {
	switch vt {
	case valueIA5:
		for _, r := range text {
			if r > unicode.MaxASCII {
				return false
			}
		}
	case valuePrintable:
		for _, r := range text {
			if !printable(r) {
				return false
			}
		}
	}
	return true
}

// printable reports whether r is in PrintableString's alphabet (X.680).
func printable(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(" '()+,-./:=?", r)
}
