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

package plugin

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/net/idna"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func newClaimsCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "claims",
		Aliases: []string{"claim"},
		Short:   "Claim domains and prove control of them (DNS, HTTP or email)",
		Long: `Manage the account's domain claims. Atlas issues certificates only for
domains the account has claimed and verified:

  1. claims submit DOMAIN             returns the claim ID and a token
  2. publish the token: a DNS TXT record at the domain (claims dns ID lists
     the authorization domains that also work), a file served over HTTP,
     or ask for an email to an approver address (claims email ID)
  3. claims verify-dns ID, verify-http ID or verify-email ID --email ADDR
     asks Atlas to check; run it again (or claims get ID) for the result
  4. after assert_by has passed, claims reassert ID issues a new token

claims list shows every claim; claims delete ID removes one.`,
		Example: `  kubectl atlas claims submit example.com --issuer atlas -n web
  kubectl atlas claims verify-dns 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --issuer atlas -n web
  kubectl atlas claims list --status PENDING --issuer atlas -n web`,
	}
	cmd.AddCommand(
		newClaimsListCommand(o),
		newClaimsSubmitCommand(o),
		newClaimsGetCommand(o),
		newClaimsDeleteCommand(o),
		newClaimsDNSCommand(o),
		newClaimsVerifyDNSCommand(o),
		newClaimsVerifyHTTPCommand(o),
		newClaimsEmailCommand(o),
		newClaimsVerifyEmailCommand(o),
		newClaimsReassertCommand(o),
	)
	return cmd
}

// claimOptions are the settings of a claims subcommand whose one argument
// is the claim ID.
type claimOptions struct {
	readOptions
	id string
}

// Validate checks -o and takes the claim ID.
func (co *claimOptions) Validate(cmd *cobra.Command, args []string) error {
	if err := co.readOptions.Validate(cmd, args); err != nil {
		return err
	}
	co.id = args[0]
	return nil
}

// claimExample is the usage line of a claims subcommand with a plausible ID.
func claimExample(sub string, extra ...string) string {
	lines := []string{fmt.Sprintf("  kubectl atlas claims %s 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --issuer atlas -n web", sub)}
	for _, e := range extra {
		lines = append(lines, "  "+e)
	}
	return strings.Join(lines, "\n")
}

// claimsListOptions are the settings of claims list.
type claimsListOptions struct {
	readOptions
	statusFlag string

	status atlas.ClaimStatus
}

func newClaimsListCommand(o *options) *cobra.Command {
	lo := &claimsListOptions{readOptions: readOptions{options: o}}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the account's domain claims",
		Example: `  kubectl atlas claims list --issuer atlas -n web
  kubectl atlas claims list --status VERIFIED --issuer atlas -n web -o json`,
		Args: exactArgs(),
		RunE: runE(lo),
	}
	cmd.Flags().StringVar(&lo.statusFlag, "status", "", "only claims in this status: PENDING or VERIFIED")
	return cmd
}

// Validate checks -o and --status.
func (lo *claimsListOptions) Validate(cmd *cobra.Command, args []string) error {
	if err := lo.readOptions.Validate(cmd, args); err != nil {
		return err
	}
	lo.status = atlas.ClaimStatus(strings.ToUpper(lo.statusFlag))
	if lo.status != "" && lo.status != atlas.ClaimPending && lo.status != atlas.ClaimVerified {
		return usageError(cmd, "--status must be PENDING or VERIFIED")
	}
	return nil
}

// Run fetches every page of claims and prints them.
func (lo *claimsListOptions) Run(cmd *cobra.Command) error {
	s, err := lo.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	claims := []atlas.Claim{}
	const perPage = 100
	for page := 1; ; page++ {
		p, err := s.atlas.ListClaims(cmd.Context(), atlas.ClaimsQuery{Page: page, PerPage: perPage, Status: lo.status})
		if err != nil {
			return s.explain("listing claims", err)
		}
		claims = append(claims, p.Claims...)
		// The page bound ends the loop on a server that ignores page.
		more := len(p.Claims) > 0 && (p.Next || len(claims) < p.TotalCount) && page*perPage <= p.TotalCount+perPage
		if page > 1 || more {
			fmt.Fprintf(lo.streams.ErrOut, "claims: fetched %d of %d\n", len(claims), max(p.TotalCount, len(claims)))
		}
		if !more {
			break
		}
	}
	return lo.emit(lo.format, claims, func(w io.Writer) {
		row(w, "ID", "DOMAIN", "STATUS", "CREATED", "ASSERT BY", "EXPIRES")
		for _, c := range claims {
			row(w, c.ID, c.Domain, string(c.Status), unixTime(c.CreatedAt), unixTime(c.AssertBy), unixTime(c.ExpiresAt))
		}
	})
}

// claimsSubmitOptions are the settings of claims submit.
type claimsSubmitOptions struct {
	readOptions
	// domain is the claimed name in its ASCII form.
	domain string
}

func newClaimsSubmitCommand(o *options) *cobra.Command {
	so := &claimsSubmitOptions{readOptions: readOptions{options: o}}
	return &cobra.Command{
		Use:   "submit DOMAIN",
		Short: "Claim a domain and get the token that proves control of it",
		Long: `Claim a domain for the account. Atlas answers with the claim ID and a token:
publish the token as a DNS TXT record at the domain (or one of the
authorization domains of "claims dns ID"), then run "claims verify-dns ID"
before assert_by. Internationalised names are sent in their ASCII form.`,
		Example: `  kubectl atlas claims submit example.com --issuer atlas -n web
  kubectl atlas claims submit example.com --issuer atlas -n web -o json | jq -r .token`,
		Args: exactArgs("DOMAIN"),
		RunE: runE(so),
	}
}

// Validate checks -o and turns DOMAIN into its ASCII form.
func (so *claimsSubmitOptions) Validate(cmd *cobra.Command, args []string) error {
	if err := so.readOptions.Validate(cmd, args); err != nil {
		return err
	}
	var err error
	if so.domain, err = idna.Lookup.ToASCII(strings.TrimSuffix(strings.TrimSpace(args[0]), ".")); err != nil {
		return usageError(cmd, "%q is not a valid domain name: %v", args[0], err)
	}
	return nil
}

// Run claims the domain and prints the claim ID and token.
func (so *claimsSubmitOptions) Run(cmd *cobra.Command) error {
	s, err := so.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	a, err := s.atlas.SubmitClaim(cmd.Context(), so.domain)
	if err != nil {
		return s.explain("claiming "+so.domain, err)
	}
	result := struct {
		ID       string `json:"id"`
		Domain   string `json:"domain"`
		Token    string `json:"token"`
		AssertBy int64  `json:"assert_by"`
	}{a.ID, so.domain, a.Token, a.AssertBy}
	return so.emit(so.format, result, func(w io.Writer) {
		row(w, "ID", "DOMAIN", "TOKEN", "ASSERT BY")
		row(w, a.ID, so.domain, a.Token, unixTime(a.AssertBy))
		fmt.Fprintf(so.streams.ErrOut, "Publish the token as a TXT record at %s, then: kubectl atlas claims verify-dns %s\n", so.domain, a.ID)
	})
}

// claimsGetOptions are the settings of claims get.
type claimsGetOptions struct{ claimOptions }

func newClaimsGetCommand(o *options) *cobra.Command {
	g := &claimsGetOptions{claimOptions{readOptions: readOptions{options: o}}}
	return &cobra.Command{
		Use:     "get ID",
		Short:   "Show a claim: domain, status, token, deadlines and verification log",
		Example: claimExample("get", "kubectl atlas claims get 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --issuer atlas -n web -o yaml"),
		Args:    exactArgs("ID"),
		RunE:    runE(g),
	}
}

// Run reads the claim and prints it.
func (g *claimsGetOptions) Run(cmd *cobra.Command) error {
	s, err := g.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	c, err := s.atlas.RetrieveClaim(cmd.Context(), g.id)
	if err != nil {
		return s.claimError("reading claim", g.id, err)
	}
	return g.emit(g.format, c, func(w io.Writer) {
		line := func(k, v string) { fmt.Fprintf(w, "%s:\t%s\n", k, v) }
		line("ID", c.ID)
		line("Domain", c.Domain)
		line("Status", string(c.Status))
		line("Token", orDash(c.Token))
		line("Created", unixTime(c.CreatedAt))
		line("Assert by", unixTime(c.AssertBy))
		line("Expires", unixTime(c.ExpiresAt))
		if c.LastVerifiedAt != 0 {
			line("Last verified", unixTime(c.LastVerifiedAt)+" by "+orDash(c.LastVerificationMethod))
		}
		if len(c.Log) > 0 {
			line("Log", "")
			for _, e := range c.Log {
				fmt.Fprintf(w, "  %s\t%s\t%s\n", unixTime(e.Timestamp), e.Status, e.Description)
			}
		}
	})
}

// claimError names a claim that does not exist plainly.
func (s *session) claimError(doing, id string, err error) error {
	if atlas.IsNotFound(err) {
		return &notFoundError{fmt.Sprintf("claim %s not found in the Atlas account of %s", id, s.issuer)}
	}
	return s.explain(doing+" "+id, err)
}

// claimsDeleteOptions are the settings of claims delete.
type claimsDeleteOptions struct{ claimOptions }

func newClaimsDeleteCommand(o *options) *cobra.Command {
	do := &claimsDeleteOptions{claimOptions{readOptions: readOptions{options: o}}}
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a domain claim",
		Long: `Delete a domain claim. Atlas then issues no more certificates for the domain
on the strength of this claim; claim it again to restore that.`,
		Example: claimExample("delete"),
		Args:    exactArgs("ID"),
		RunE:    runE(do),
	}
}

// Run deletes the claim.
func (do *claimsDeleteOptions) Run(cmd *cobra.Command) error {
	s, err := do.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	if err := s.atlas.DeleteClaim(cmd.Context(), do.id); err != nil {
		return s.claimError("deleting claim", do.id, err)
	}
	return do.emit(do.format, struct {
		ID      string `json:"id"`
		Deleted bool   `json:"deleted"`
	}{do.id, true}, func(w io.Writer) {
		fmt.Fprintf(w, "claim %s deleted\n", do.id)
	})
}

// claimsDNSOptions are the settings of claims dns.
type claimsDNSOptions struct{ claimOptions }

func newClaimsDNSCommand(o *options) *cobra.Command {
	no := &claimsDNSOptions{claimOptions{readOptions: readOptions{options: o}}}
	return &cobra.Command{
		Use:   "dns ID",
		Short: "List the authorization domains where the DNS token may be published",
		Long: `List the authorization domain names of a claim: the claimed domain and its
parents. The TXT record with the token may be published at any of them;
name the one used with "claims verify-dns ID --authorization-domain".`,
		Example: claimExample("dns"),
		Args:    exactArgs("ID"),
		RunE:    runE(no),
	}
}

// Run lists the claim's authorization domains.
func (no *claimsDNSOptions) Run(cmd *cobra.Command) error {
	s, err := no.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	domains, err := s.atlas.ClaimDNSDomains(cmd.Context(), no.id)
	if err != nil {
		return s.claimError("listing the authorization domains of claim", no.id, err)
	}
	if domains == nil {
		domains = []string{}
	}
	return no.emit(no.format, domains, func(w io.Writer) {
		row(w, "AUTHORIZATION DOMAIN")
		for _, d := range domains {
			row(w, d)
		}
	})
}

// verification prints the outcome of a verify-* call.
func (o *options) verification(format, id, method string, v atlas.Verification) error {
	result := struct {
		ID     string `json:"id"`
		Method string `json:"method"`
		Result string `json:"result"`
	}{id, method, string(v)}
	return o.emit(format, result, func(w io.Writer) {
		switch v {
		case atlas.VerificationVerified:
			fmt.Fprintf(w, "claim %s is VERIFIED\n", id)
		case atlas.VerificationInProgress:
			fmt.Fprintf(w, "claim %s: a previous verification is still in progress; try again shortly\n", id)
		default:
			fmt.Fprintf(w, "claim %s: %s verification scheduled; run this again or \"kubectl atlas claims get %s\" for the result\n", id, method, id)
		}
	})
}

// claimsVerifyDNSOptions are the settings of claims verify-dns.
type claimsVerifyDNSOptions struct {
	claimOptions
	authorizationDomain string
}

func newClaimsVerifyDNSCommand(o *options) *cobra.Command {
	vo := &claimsVerifyDNSOptions{claimOptions: claimOptions{readOptions: readOptions{options: o}}}
	cmd := &cobra.Command{
		Use:   "verify-dns ID",
		Short: "Ask Atlas to find the claim's token in DNS",
		Long: `Ask Atlas to look for the claim's token in a DNS TXT record at the claimed
domain, or at --authorization-domain (one of "claims dns ID"). The first
call schedules the check; a later call reports VERIFIED once Atlas found it.`,
		Example: claimExample("verify-dns", "kubectl atlas claims verify-dns 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --authorization-domain example.com --issuer atlas -n web"),
		Args:    exactArgs("ID"),
		RunE:    runE(vo),
	}
	cmd.Flags().StringVar(&vo.authorizationDomain, "authorization-domain", "", "authorization domain where the TXT record is published (default: the claimed domain)")
	return cmd
}

// Run asks Atlas to look for the token in DNS.
func (vo *claimsVerifyDNSOptions) Run(cmd *cobra.Command) error {
	s, err := vo.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	v, err := s.atlas.VerifyClaimDNS(cmd.Context(), vo.id, vo.authorizationDomain)
	if err != nil {
		return s.claimError("verifying claim", vo.id, err)
	}
	return vo.verification(vo.format, vo.id, "DNS", v)
}

// claimsVerifyHTTPOptions are the settings of claims verify-http.
type claimsVerifyHTTPOptions struct {
	claimOptions
	authorizationDomain string
	schemeFlag          string

	scheme string
}

func newClaimsVerifyHTTPCommand(o *options) *cobra.Command {
	vo := &claimsVerifyHTTPOptions{claimOptions: claimOptions{readOptions: readOptions{options: o}}}
	cmd := &cobra.Command{
		Use:   "verify-http ID",
		Short: "Ask Atlas to fetch the claim's token over HTTP or HTTPS",
		Long: `Ask Atlas to fetch the claim's token from a web server of the domain, over
--scheme https (default) or http. The first call schedules the check; a
later call reports VERIFIED once Atlas fetched it.`,
		Example: claimExample("verify-http", "kubectl atlas claims verify-http 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --scheme http --issuer atlas -n web"),
		Args:    exactArgs("ID"),
		RunE:    runE(vo),
	}
	cmd.Flags().StringVar(&vo.schemeFlag, "scheme", "https", "http or https")
	cmd.Flags().StringVar(&vo.authorizationDomain, "authorization-domain", "", "authorization domain that serves the token (default: the claimed domain)")
	return cmd
}

// Validate checks -o and --scheme and takes the claim ID.
func (vo *claimsVerifyHTTPOptions) Validate(cmd *cobra.Command, args []string) error {
	if err := vo.claimOptions.Validate(cmd, args); err != nil {
		return err
	}
	vo.scheme = strings.ToLower(vo.schemeFlag)
	if vo.scheme != "http" && vo.scheme != "https" {
		return usageError(cmd, "--scheme must be http or https")
	}
	return nil
}

// Run asks Atlas to fetch the token over HTTP or HTTPS.
func (vo *claimsVerifyHTTPOptions) Run(cmd *cobra.Command) error {
	s, err := vo.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	v, err := s.atlas.VerifyClaimHTTP(cmd.Context(), vo.id, atlas.HTTPVerifyRequest{Scheme: vo.scheme, AuthorizationDomain: vo.authorizationDomain})
	if err != nil {
		return s.claimError("verifying claim", vo.id, err)
	}
	return vo.verification(vo.format, vo.id, "HTTP", v)
}

// claimsEmailOptions are the settings of claims email.
type claimsEmailOptions struct{ claimOptions }

func newClaimsEmailCommand(o *options) *cobra.Command {
	eo := &claimsEmailOptions{claimOptions{readOptions: readOptions{options: o}}}
	return &cobra.Command{
		Use:   "email ID",
		Short: "List the addresses that may approve an email verification",
		Long: `List the approver addresses for email verification of a claim: the
constructed ones (admin@, hostmaster@, ... at the domain and its parents) and
the contact in the domain's SOA record. Send the email with
"claims verify-email ID --email ADDR".`,
		Example: claimExample("email"),
		Args:    exactArgs("ID"),
		RunE:    runE(eo),
	}
}

// Run lists the claim's approver addresses.
func (eo *claimsEmailOptions) Run(cmd *cobra.Command) error {
	s, err := eo.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	e, err := s.atlas.ClaimEmails(cmd.Context(), eo.id)
	if err != nil {
		return s.claimError("listing the approver addresses of claim", eo.id, err)
	}
	for _, msg := range e.DNS.SOA.Errors {
		fmt.Fprintf(eo.streams.ErrOut, "SOA lookup: %s\n", msg)
	}
	return eo.emit(eo.format, e, func(w io.Writer) {
		row(w, "ADDRESS", "SOURCE")
		for _, a := range e.Constructed {
			row(w, a, "constructed")
		}
		for _, a := range e.DNS.SOA.Emails {
			row(w, a, "SOA")
		}
	})
}

// claimsVerifyEmailOptions are the settings of claims verify-email.
type claimsVerifyEmailOptions struct {
	claimOptions
	email string
}

func newClaimsVerifyEmailCommand(o *options) *cobra.Command {
	vo := &claimsVerifyEmailOptions{claimOptions: claimOptions{readOptions: readOptions{options: o}}}
	cmd := &cobra.Command{
		Use:   "verify-email ID --email ADDR",
		Short: "Send a verification email to an approver address",
		Long: `Ask Atlas to send the verification email for a claim to one of the
addresses "claims email ID" lists. The claim is VERIFIED once the recipient
approves it; check with "claims get ID".`,
		Example: claimExample("verify-email", "kubectl atlas claims verify-email 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --email hostmaster@example.com --issuer atlas -n web"),
		Args:    exactArgs("ID"),
		RunE:    runE(vo),
	}
	cmd.Flags().StringVar(&vo.email, "email", "", "approver address to send the email to")
	return cmd
}

// Validate checks -o and that --email is set, and takes the claim ID.
func (vo *claimsVerifyEmailOptions) Validate(cmd *cobra.Command, args []string) error {
	if err := vo.claimOptions.Validate(cmd, args); err != nil {
		return err
	}
	if vo.email == "" {
		return usageError(cmd, "--email ADDR is required: one of the addresses \"kubectl atlas claims email %s\" lists", vo.id)
	}
	return nil
}

// Run asks Atlas to send the verification email.
func (vo *claimsVerifyEmailOptions) Run(cmd *cobra.Command) error {
	s, err := vo.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	v, err := s.atlas.VerifyClaimEmail(cmd.Context(), vo.id, vo.email)
	if err != nil {
		return s.claimError("verifying claim", vo.id, err)
	}
	return vo.verification(vo.format, vo.id, "email", v)
}

// claimsReassertOptions are the settings of claims reassert.
type claimsReassertOptions struct{ claimOptions }

func newClaimsReassertCommand(o *options) *cobra.Command {
	ro := &claimsReassertOptions{claimOptions{readOptions: readOptions{options: o}}}
	return &cobra.Command{
		Use:   "reassert ID",
		Short: "Get a new token and assert_by for a claim whose deadline has passed",
		Long: `Ask Atlas for a new token and a new assert_by for a claim that was not
verified in time (verification then fails with 424 "Claim expired").
Publish the new token and verify again.`,
		Example: claimExample("reassert"),
		Args:    exactArgs("ID"),
		RunE:    runE(ro),
	}
}

// Run asks for a new token and prints it.
func (ro *claimsReassertOptions) Run(cmd *cobra.Command) error {
	s, err := ro.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	a, err := s.atlas.ReassertClaim(cmd.Context(), ro.id)
	if errors.Is(err, atlas.ErrInProgress) {
		return fmt.Errorf("claim %s: a previous verification is still in progress; reassert once it has finished", ro.id)
	}
	if err != nil {
		return s.claimError("reasserting claim", ro.id, err)
	}
	result := struct {
		ID       string `json:"id"`
		Token    string `json:"token"`
		AssertBy int64  `json:"assert_by"`
	}{a.ID, a.Token, a.AssertBy}
	return ro.emit(ro.format, result, func(w io.Writer) {
		row(w, "ID", "TOKEN", "ASSERT BY")
		row(w, a.ID, a.Token, unixTime(a.AssertBy))
	})
}
