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
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// Domain claims follow one deterministic state machine, since the fake
// cannot look at DNS, HTTP or a mailbox:
//
//   - POST /claims/domains/{domain} creates a PENDING claim with a token and
//     assert_by = now + 30 days (201, Location /v2/claims/domains/{id}).
//   - The first verification call (/dns, /http or /email) schedules a check:
//     201. The next verification call, by any method, finds control proven:
//     204 and the claim is VERIFIED, valid for 397 days. Further calls on a
//     VERIFIED claim answer 204.
//   - After assert_by a PENDING claim answers 424 "Claim expired. Reassert
//     first" to verification calls until POST /reassert, which issues a new
//     token and assert_by (201) and starts the two-call sequence again.
//
// Atlas's 202 "a previous assertion is still pending" never happens here:
// a scheduled check completes on the next call.
type claimRecord struct {
	claim     atlas.Claim
	bare      string // domain without the trailing dot, lower case
	scheduled bool
}

const (
	claimAssertWindow = 30 * 24 * time.Hour
	claimValidity     = 397 * 24 * time.Hour
)

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

type verifyMethod string

const (
	verifyDNS   verifyMethod = "DNS"
	verifyHTTP  verifyMethod = "HTTP"
	verifyEmail verifyMethod = "EMAIL"
)

// handleSubmitClaim is POST /claims/domains/{domain}. The domain may come
// with or without its trailing dot and is echoed with it.
func (s *Server) handleSubmitClaim(w http.ResponseWriter, r *http.Request) {
	bare := strings.TrimSuffix(strings.ToLower(r.PathValue("domain")), ".")
	if !domainRE.MatchString(bare) || !strings.Contains(bare, ".") {
		msg := r.PathValue("domain") + " is not a valid domain name"
		writeProblem(w, http.StatusUnprocessableEntity, "domain: "+msg, map[string]string{"domain": msg})
		return
	}
	now := s.now()
	c := &claimRecord{bare: bare}
	c.claim = atlas.Claim{
		Status:    atlas.ClaimPending,
		Domain:    bare + ".",
		CreatedAt: now.Unix(),
		AssertBy:  now.Add(claimAssertWindow).Unix(),
		Token:     newClaimToken(),
		Log:       []atlas.ClaimLogEntry{{Status: "INFO", Description: "claim created", Timestamp: now.Unix()}},
	}
	s.mu.Lock()
	for {
		c.claim.ID = strings.ToUpper(randomHex(16))
		if _, taken := s.claims[c.claim.ID]; !taken {
			break
		}
	}
	s.claims[c.claim.ID] = c
	s.claimOrder = append(s.claimOrder, c)
	body := atlas.ClaimAssertion{Token: c.claim.Token, AssertBy: c.claim.AssertBy}
	id := c.claim.ID
	s.mu.Unlock()
	w.Header().Set("Location", basePath+"/claims/domains/"+id)
	writeJSON(w, http.StatusCreated, body)
}

func newClaimToken() string { return "globalsign-domain-verification=" + randomHex(20) }

// claimLocked finds the claim named in the path, or writes 422 for an id
// that cannot be one and 404 for an unknown one. s.mu must be held.
func (s *Server) claimLocked(w http.ResponseWriter, r *http.Request) *claimRecord {
	id := strings.ToUpper(r.PathValue("id"))
	if len(id) != 32 || strings.Trim(id, "0123456789ABCDEF") != "" {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid claim id", nil)
		return nil
	}
	c := s.claims[id]
	if c == nil {
		writeProblem(w, http.StatusNotFound, "Not found", nil)
	}
	return c
}

func (c *claimRecord) snapshot() atlas.Claim {
	out := c.claim
	out.Log = slices.Clone(c.claim.Log)
	return out
}

// handleRetrieveClaim is GET /claims/domains/{id}.
func (s *Server) handleRetrieveClaim(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c := s.claimLocked(w, r)
	if c == nil {
		s.mu.Unlock()
		return
	}
	out := c.snapshot()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// handleDeleteClaim is DELETE /claims/domains/{id}.
func (s *Server) handleDeleteClaim(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.claimLocked(w, r)
	if c == nil {
		return
	}
	delete(s.claims, c.claim.ID)
	s.claimOrder = slices.DeleteFunc(s.claimOrder, func(x *claimRecord) bool { return x == c })
	w.WriteHeader(http.StatusNoContent)
}

// handleListClaims is GET /claims/domains with page, per_page and an
// optional status, oldest first.
func (s *Server) handleListClaims(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pg, ok := parsePaging(w, q)
	if !ok {
		return
	}
	status := atlas.ClaimStatus(strings.ToUpper(q.Get("status")))
	if status != "" && status != atlas.ClaimPending && status != atlas.ClaimVerified {
		writeProblem(w, http.StatusUnprocessableEntity, "Validation error message", map[string]string{"status": "must be PENDING or VERIFIED"})
		return
	}
	var all []atlas.Claim
	s.mu.Lock()
	for _, c := range s.claimOrder {
		if status == "" || c.claim.Status == status {
			all = append(all, c.snapshot())
		}
	}
	s.mu.Unlock()
	lo, hi := pg.bounds(len(all))
	out := append([]atlas.Claim{}, all[lo:hi]...)
	link := url.Values{"per_page": {strconv.Itoa(pg.perPage)}}
	if status != "" {
		link.Set("status", string(status))
	}
	setPagingHeaders(w, "/claims/domains", link, pg, len(all))
	writeJSON(w, http.StatusOK, out)
}

// adns are the authorization domain names of a claim: the domain and each
// parent, without the TLD.
func adns(bare string) []string {
	labels := strings.Split(bare, ".")
	var out []string
	for i := 0; i < len(labels)-1; i++ {
		out = append(out, strings.Join(labels[i:], "."))
	}
	return out
}

// handleClaimDNSDomains is GET /claims/domains/{id}/dns: the ADNs, without
// trailing dots (the shape is UNCONFIRMED; verification accepts both).
func (s *Server) handleClaimDNSDomains(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c := s.claimLocked(w, r)
	if c == nil {
		s.mu.Unlock()
		return
	}
	out := adns(c.bare)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

var approverLocalParts = []string{"admin", "administrator", "webmaster", "hostmaster", "postmaster"}

// claimEmails are the approver addresses: the five constructed local parts
// at every AND, and the SOA contact of the registered domain.
func claimEmails(bare string) atlas.ClaimEmails {
	var out atlas.ClaimEmails
	names := adns(bare)
	for _, d := range names {
		for _, lp := range approverLocalParts {
			out.Constructed = append(out.Constructed, lp+"@"+d)
		}
	}
	out.DNS.SOA.Emails = []string{"hostmaster@" + names[len(names)-1]}
	return out
}

// handleClaimEmails is GET /claims/domains/{id}/email.
func (s *Server) handleClaimEmails(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c := s.claimLocked(w, r)
	if c == nil {
		s.mu.Unlock()
		return
	}
	out := claimEmails(c.bare)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// handleVerifyClaim is POST /claims/domains/{id}/dns, /http and /email.
func (s *Server) handleVerifyClaim(method verifyMethod) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var and, email, scheme string
		switch method {
		case verifyDNS:
			if r.ContentLength > 0 {
				var req atlas.DNSVerifyRequest
				if err := readJSON(r, &req); err != nil {
					writeProblem(w, http.StatusBadRequest, "Bad Request", nil)
					return
				}
				and = req.AuthorizationDomain
			}
		case verifyHTTP:
			var req atlas.HTTPVerifyRequest
			if err := readJSON(r, &req); err != nil {
				writeProblem(w, http.StatusBadRequest, "Bad Request", nil)
				return
			}
			and, scheme = req.AuthorizationDomain, strings.ToLower(req.Scheme)
			if scheme != "http" && scheme != "https" {
				writeProblem(w, http.StatusUnprocessableEntity, "scheme: must be http or https", map[string]string{"scheme": "must be http or https"})
				return
			}
		case verifyEmail:
			var req atlas.EmailVerifyRequest
			if err := readJSON(r, &req); err != nil {
				writeProblem(w, http.StatusBadRequest, "Bad Request", nil)
				return
			}
			email = strings.ToLower(strings.TrimSpace(req.EmailAddress))
			if email == "" {
				writeProblem(w, http.StatusUnprocessableEntity, "email_address: is required", map[string]string{"email_address": "is required"})
				return
			}
		}

		now := s.now()
		s.mu.Lock()
		defer s.mu.Unlock()
		c := s.claimLocked(w, r)
		if c == nil {
			return
		}
		if and != "" && !slices.Contains(adns(c.bare), strings.TrimSuffix(strings.ToLower(and), ".")) {
			msg := and + " is not an authorization domain of " + c.claim.Domain
			writeProblem(w, http.StatusUnprocessableEntity, "authorization_domain: "+msg, map[string]string{"authorization_domain": msg})
			return
		}
		if email != "" {
			allowed := claimEmails(c.bare)
			if !slices.Contains(allowed.Constructed, email) && !slices.Contains(allowed.DNS.SOA.Emails, email) {
				msg := email + " is not an approver address of " + c.claim.Domain
				writeProblem(w, http.StatusUnprocessableEntity, "email_address: "+msg, map[string]string{"email_address": msg})
				return
			}
		}
		if c.claim.Status == atlas.ClaimVerified {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if now.Unix() > c.claim.AssertBy {
			writeProblem(w, http.StatusFailedDependency, "Claim expired. Reassert first", nil)
			return
		}
		if !c.scheduled {
			c.scheduled = true
			c.claim.Log = append(c.claim.Log, atlas.ClaimLogEntry{Status: "INFO", Description: string(method) + " verification scheduled", Timestamp: now.Unix()})
			w.WriteHeader(http.StatusCreated)
			return
		}
		c.claim.Status = atlas.ClaimVerified
		c.claim.LastVerifiedAt = now.Unix()
		c.claim.LastVerificationMethod = string(method)
		c.claim.ExpiresAt = now.Add(claimValidity).Unix()
		c.claim.Log = append(c.claim.Log, atlas.ClaimLogEntry{Status: "SUCCESS", Description: string(method) + " verification succeeded", Timestamp: now.Unix()})
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleReassertClaim is POST /claims/domains/{id}/reassert: a new token and
// assert_by, with the Location DOC21 gives (without /v2).
func (s *Server) handleReassertClaim(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	s.mu.Lock()
	c := s.claimLocked(w, r)
	if c == nil {
		s.mu.Unlock()
		return
	}
	c.claim.Token = newClaimToken()
	c.claim.AssertBy = now.Add(claimAssertWindow).Unix()
	c.scheduled = false
	c.claim.Log = append(c.claim.Log, atlas.ClaimLogEntry{Status: "INFO", Description: "claim reasserted", Timestamp: now.Unix()})
	body := atlas.ClaimAssertion{Token: c.claim.Token, AssertBy: c.claim.AssertBy}
	id := c.claim.ID
	s.mu.Unlock()
	w.Header().Set("Location", "/claims/domains/"+id)
	writeJSON(w, http.StatusCreated, body)
}
