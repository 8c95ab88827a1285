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
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ListClaims lists the account's domain claims, all of them or those with
// q.Status.
func (c *Client) ListClaims(ctx context.Context, q ClaimsQuery) (*ClaimsPage, error) {
	query := pageQuery(q.Page, q.PerPage)
	if q.Status != "" {
		query.Set("status", string(q.Status))
	}
	resp, err := c.do(ctx, &request{op: "ListClaims", method: http.MethodGet, path: "/claims/domains", query: query, limit: limitPage})
	if err != nil {
		return nil, err
	}
	var page ClaimsPage
	if err := decode("ListClaims", resp, &page.Claims, true); err != nil {
		return nil, err
	}
	page.TotalCount = totalCount(resp.header, len(page.Claims))
	page.Next = hasNextLink(resp.header)
	return &page, nil
}

// SubmitClaim claims a domain and returns the claim ID (from the Location
// header) with the token to publish. Like issuance it is repeated only when
// Atlas certainly did not act, so that no second claim appears. If the claim
// was created but its body cannot be read, the error comes with an
// assertion holding just the ID, so the claim is not lost.
func (c *Client) SubmitClaim(ctx context.Context, domain string) (*ClaimAssertion, error) {
	seg, err := segment("domain", domain)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, &request{
		op:     "SubmitClaim",
		method: http.MethodPost,
		path:   "/claims/domains/" + seg,
		unsafe: true,
		limit:  limitSmall,
	})
	if err != nil {
		return nil, fmt.Errorf("claim domain %s: %w", domain, err)
	}
	// The claim exists once Atlas answered, so its ID is what matters; a
	// missing body still leaves the token to RetrieveClaim.
	id, err := lastSegment("SubmitClaim", resp.header.Get("Location"))
	if err != nil {
		return nil, fmt.Errorf("claim domain %s: %w", domain, err)
	}
	var a ClaimAssertion
	if err := decode("SubmitClaim", resp, &a, true); err != nil {
		return &ClaimAssertion{ID: id}, fmt.Errorf("claim domain %s (claim %s): %w", domain, id, err)
	}
	a.ID = id
	return &a, nil
}

// RetrieveClaim returns one claim.
func (c *Client) RetrieveClaim(ctx context.Context, id string) (*Claim, error) {
	seg, err := segment("claim ID", id)
	if err != nil {
		return nil, err
	}
	var claim Claim
	if err := c.getJSON(ctx, "RetrieveClaim", "/claims/domains/"+seg, limitSmall, &claim); err != nil {
		return nil, fmt.Errorf("claim %s: %w", id, err)
	}
	return &claim, nil
}

// DeleteClaim deletes a claim.
func (c *Client) DeleteClaim(ctx context.Context, id string) error {
	seg, err := segment("claim ID", id)
	if err != nil {
		return err
	}
	if _, err := c.do(ctx, &request{op: "DeleteClaim", method: http.MethodDelete, path: "/claims/domains/" + seg, limit: limitSmall}); err != nil {
		return fmt.Errorf("delete claim %s: %w", id, err)
	}
	return nil
}

// ClaimDNSDomains lists the authorization domain names (the claimed domain
// and its parents) under which the DNS token may be published.
func (c *Client) ClaimDNSDomains(ctx context.Context, id string) ([]string, error) {
	seg, err := segment("claim ID", id)
	if err != nil {
		return nil, err
	}
	var domains []string
	if err := c.getJSON(ctx, "ClaimDNSDomains", "/claims/domains/"+seg+"/dns", limitSmall, &domains); err != nil {
		return nil, fmt.Errorf("claim %s: %w", id, err)
	}
	return domains, nil
}

// VerifyClaimDNS asks Atlas to look for the claim's token in DNS, at
// authorizationDomain when given. The body is omitted without one: Atlas
// rejects an empty authorization_domain.
func (c *Client) VerifyClaimDNS(ctx context.Context, id, authorizationDomain string) (Verification, error) {
	var body any
	if authorizationDomain != "" {
		body = DNSVerifyRequest{AuthorizationDomain: authorizationDomain}
	}
	return c.verify(ctx, "VerifyClaimDNS", id, "/dns", body, false)
}

// VerifyClaimHTTP asks Atlas to fetch the claim's token over HTTP or HTTPS.
func (c *Client) VerifyClaimHTTP(ctx context.Context, id string, req HTTPVerifyRequest) (Verification, error) {
	if req.Scheme == "" {
		return "", errors.New("atlas VerifyClaimHTTP: scheme is required")
	}
	return c.verify(ctx, "VerifyClaimHTTP", id, "/http", req, false)
}

// ClaimEmails lists the addresses that may approve an email verification.
func (c *Client) ClaimEmails(ctx context.Context, id string) (*ClaimEmails, error) {
	seg, err := segment("claim ID", id)
	if err != nil {
		return nil, err
	}
	var emails ClaimEmails
	if err := c.getJSON(ctx, "ClaimEmails", "/claims/domains/"+seg+"/email", limitSmall, &emails); err != nil {
		return nil, fmt.Errorf("claim %s: %w", id, err)
	}
	return &emails, nil
}

// VerifyClaimEmail sends a verification email to one of the ClaimEmails
// addresses. It is not repeated after an ambiguous failure, which could send
// a person the same email twice.
func (c *Client) VerifyClaimEmail(ctx context.Context, id, email string) (Verification, error) {
	if email == "" {
		return "", errors.New("atlas VerifyClaimEmail: email address is required")
	}
	return c.verify(ctx, "VerifyClaimEmail", id, "/email", EmailVerifyRequest{EmailAddress: email}, true)
}

// verify runs one of the claim verification POSTs, whose status code is the
// answer.
func (c *Client) verify(ctx context.Context, op, id, suffix string, body any, unsafe bool) (Verification, error) {
	seg, err := segment("claim ID", id)
	if err != nil {
		return "", err
	}
	resp, err := c.do(ctx, &request{
		op:     op,
		method: http.MethodPost,
		path:   "/claims/domains/" + seg + suffix,
		body:   body,
		unsafe: unsafe,
		accept: []int{http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent},
		limit:  limitSmall,
	})
	if err != nil {
		return "", fmt.Errorf("verify claim %s: %w", id, err)
	}
	switch resp.status {
	case http.StatusAccepted:
		return VerificationInProgress, nil
	case http.StatusNoContent:
		return VerificationVerified, nil
	default:
		// 201 is documented; 200 would mean the same to any client.
		return VerificationScheduled, nil
	}
}

// ReassertClaim gets a fresh token and assert_by for a claim whose
// assert_by has passed. It returns ErrInProgress (wrapped) while a previous
// assertion is pending.
func (c *Client) ReassertClaim(ctx context.Context, id string) (*ClaimAssertion, error) {
	seg, err := segment("claim ID", id)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, &request{
		op:     "ReassertClaim",
		method: http.MethodPost,
		path:   "/claims/domains/" + seg + "/reassert",
		accept: []int{http.StatusOK, http.StatusCreated, http.StatusAccepted},
		limit:  limitSmall,
	})
	if err != nil {
		return nil, fmt.Errorf("reassert claim %s: %w", id, err)
	}
	if resp.status == http.StatusAccepted {
		return nil, fmt.Errorf("reassert claim %s: %w", id, ErrInProgress)
	}
	var a ClaimAssertion
	if err := decode("ReassertClaim", resp, &a, false); err != nil {
		return nil, fmt.Errorf("reassert claim %s: %w", id, err)
	}
	a.ID = id
	return &a, nil
}
