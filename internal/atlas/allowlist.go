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
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultAllowedURLs allows GlobalSign's Atlas API hosts, such as
// emea.api.hvca.globalsign.com, on any port.
const DefaultAllowedURLs = "*.hvca.globalsign.com"

// URLAllowlist is the set of Atlas endpoints a client may be built for:
// whoever may edit an issuer chooses its URL, and the login sends the
// account's API key and secret there. A nil *URLAllowlist allows every
// URL.
//
// Each rule is one of:
//   - "*": any https URL;
//   - a host, "emea.api.hvca.globalsign.com", or a host glob whose first
//     label is "*", "*.hvca.globalsign.com" (one or more labels in its
//     place); with ":port" only that port, without it any port;
//   - a URL prefix, "https://emea.api.hvca.globalsign.com:8443/v2": the
//     same scheme, host and port (443 when absent) and a path equal to the
//     rule's or below it.
type URLAllowlist struct {
	rules []urlRule
}

type urlRule struct {
	text string
	any  bool
	// host is the exact host, or the suffix after "*." when wildcard.
	host     string
	wildcard bool
	// port is empty for any port.
	port string
	// prefix marks a URL rule, whose path must match.
	prefix bool
	path   string
}

// ParseURLAllowlist parses a comma-separated list of rules. Blanks around
// rules are ignored; an empty list is refused, since it would allow
// nothing and so stop every issuer.
func ParseURLAllowlist(list string) (*URLAllowlist, error) {
	a := &URLAllowlist{}
	for raw := range strings.SplitSeq(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		r, err := parseURLRule(raw)
		if err != nil {
			return nil, fmt.Errorf("allowed Atlas URL %q: %w", raw, err)
		}
		a.rules = append(a.rules, r)
	}
	if len(a.rules) == 0 {
		return nil, errors.New("the list of allowed Atlas URLs is empty; use \"*\" to allow any URL")
	}
	return a, nil
}

func parseURLRule(raw string) (urlRule, error) {
	r := urlRule{text: raw}
	if raw == "*" {
		r.any = true
		return r, nil
	}
	hostport := raw
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return r, err
		}
		if u.Scheme != "https" || u.Host == "" {
			return r, errors.New("a URL rule must be an absolute https URL")
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return r, errors.New("a URL rule must not have user info, query or fragment")
		}
		r.prefix = true
		r.path = strings.TrimRight(u.EscapedPath(), "/")
		r.host = strings.ToLower(u.Hostname())
		r.port = u.Port()
		if r.port == "" {
			r.port = "443"
		}
		if strings.Contains(r.host, "*") {
			return r, errors.New("a URL rule names one host; use a host rule for a glob")
		}
		return r, nil
	}
	host := hostport
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, r.port = h, p
	}
	host = strings.ToLower(host)
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		r.wildcard = true
		host = rest
	}
	if host == "" || strings.ContainsAny(host, "*/?#@ ") {
		return r, errors.New("want a host, a host glob like *.example.com, or an https URL")
	}
	r.host = host
	return r, nil
}

// String lists the rules as given, comma-separated.
func (a *URLAllowlist) String() string {
	if a == nil {
		return "*"
	}
	texts := make([]string, len(a.rules))
	for i, r := range a.rules {
		texts[i] = r.text
	}
	return strings.Join(texts, ",")
}

// Check returns nil when some rule allows raw, and a *URLNotAllowedError
// otherwise.
func (a *URLAllowlist) Check(raw string) error {
	if a == nil {
		return nil
	}
	u, err := url.Parse(raw)
	if err == nil && u.Scheme == "https" && u.Host != "" {
		for _, r := range a.rules {
			if r.allows(u) {
				return nil
			}
		}
	}
	return &URLNotAllowedError{URL: raw, Rules: a.String()}
}

func (r urlRule) allows(u *url.URL) bool {
	if r.any {
		return true
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "443"
	}
	if r.wildcard {
		if !strings.HasSuffix(host, "."+r.host) {
			return false
		}
	} else if host != r.host {
		return false
	}
	if r.port != "" && port != r.port {
		return false
	}
	if !r.prefix {
		return true
	}
	p := u.EscapedPath()
	return r.path == "" || p == r.path || strings.HasPrefix(p, r.path+"/")
}

// URLNotAllowedError is a URL that no rule of the allowlist allows.
type URLNotAllowedError struct {
	URL   string
	Rules string
}

func (e *URLNotAllowedError) Error() string {
	return fmt.Sprintf("atlas: URL %q is not among the allowed Atlas URLs (%s)", e.URL, e.Rules)
}
