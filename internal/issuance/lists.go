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
	"net"
	"regexp"
	"strings"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// presenceOf normalises a presence written by hand or by an older account;
// decoding from JSON already upper-cases it.
func presenceOf(p atlas.Presence) atlas.Presence {
	return atlas.Presence(strings.ToUpper(strings.TrimSpace(string(p))))
}

// compileFormat compiles an Atlas format as a whole-value match. Atlas's
// examples anchor their formats themselves (^[A-Z]{2}$), so a format that
// has an anchor is taken as written; one without is anchored at both ends,
// the stricter reading, so that a request is never sent that Atlas might
// reject under a whole-value match.
func compileFormat(format string) (*regexp.Regexp, error) {
	expr := format
	if !strings.HasPrefix(format, "^") && !strings.HasSuffix(format, "$") {
		expr = "^(?:" + format + ")$"
	}
	return regexp.Compile(expr)
}

// matchFormat reports whether v matches format. A format Go cannot compile
// is left to Atlas with a note rather than failing a request Atlas may
// accept.
func (m *mapper) matchFormat(field, v, format string) bool {
	if format == "" {
		return true
	}
	re, err := compileFormat(format)
	if err != nil {
		m.note("the account's format %s for %s cannot be checked by this issuer; Atlas checks it", quote(format), field)
		return true
	}
	return re.MatchString(v)
}

// matchKind says how a ListPolicy's entries are compared with values.
type matchKind int

const (
	// matchSuffix: dns_names and emails, case-insensitive literal suffixes.
	matchSuffix matchKind = iota
	// matchRegex: every other list, whole-value regular expressions.
	matchRegex
)

// matchList reports whether v is allowed by one entry of list.
func (m *mapper) matchList(field, v string, list []string, kind matchKind) bool {
	if kind == matchSuffix {
		lv := strings.ToLower(v)
		for _, s := range list {
			if strings.HasSuffix(lv, strings.ToLower(s)) {
				return true
			}
		}
		return false
	}
	var unchecked []string
	for _, p := range list {
		re, err := compileFormat(p)
		if err != nil {
			unchecked = append(unchecked, p)
			continue
		}
		if re.MatchString(v) {
			return true
		}
	}
	if len(unchecked) > 0 {
		m.note("the account's patterns %s for %s cannot be checked by this issuer; Atlas checks them", quoteList(unchecked), field)
		return true
	}
	return false
}

// inStatic reports whether v is one of a static list's fixed values. The
// entries are meant literally, but a regex list marked static is compared
// as patterns too, so that neither reading rejects a value Atlas accepts.
func (m *mapper) inStatic(field, v string, list []string, kind matchKind) bool {
	for _, s := range list {
		if strings.EqualFold(s, v) {
			return true
		}
		if ip := net.ParseIP(s); ip != nil && ip.String() == v {
			return true
		}
	}
	return kind == matchRegex && m.matchList(field, v, list, kind)
}

// list applies a non-nil ListPolicy to values, which the caller has
// de-duplicated, and returns what to send: nothing for a static list, since
// Atlas fills those and VAULT and KF omit them too.
func (m *mapper) list(field, what string, values []string, lp *atlas.ListPolicy, kind matchKind) ([]string, error) {
	if lp.Static {
		for _, v := range values {
			if !m.inStatic(field, v, lp.List, kind) {
				return nil, policyErr(field, "%s is not one of the values the account's validation policy fixes (%s)", quote(v), quoteList(lp.List))
			}
		}
		return nil, nil
	}
	n := len(values)
	switch {
	case n > 0 && lp.MaxCount <= 0:
		return nil, policyErr(field, "%s are not allowed by the account's validation policy; the request has %s", what, quoteList(values))
	case n > lp.MaxCount:
		return nil, policyErr(field, "the request has %d %s; the account's validation policy allows at most %d", n, what, lp.MaxCount)
	case n < lp.MinCount:
		return nil, policyErr(field, "the request has %d %s; the account's validation policy requires at least %d", n, what, lp.MinCount)
	}
	if len(lp.List) > 0 {
		for _, v := range values {
			if m.matchList(field, v, lp.List, kind) {
				continue
			}
			if kind == matchSuffix {
				return nil, policyErr(field, "%s does not end with an allowed suffix (%s)", quote(v), quoteList(lp.List))
			}
			return nil, policyErr(field, "%s matches none of the allowed patterns (%s)", quote(v), quoteList(lp.List))
		}
	}
	if n == 0 {
		return nil, nil
	}
	return values, nil
}

// dedupe keeps the first of values that are equal under key, dropping
// empty ones.
func dedupe(values []string, key func(string) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		k := key(v)
		if v == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, v)
	}
	return out
}

func identity(s string) string { return s }
