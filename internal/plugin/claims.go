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

// claimExample is the usage line of a claims subcommand with a plausible ID.
func claimExample(sub string, extra ...string) string {
	lines := []string{fmt.Sprintf("  kubectl atlas claims %s 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --issuer atlas -n web", sub)}
	for _, e := range extra {
		lines = append(lines, "  "+e)
	}
	return strings.Join(lines, "\n")
}

func newClaimsListCommand(o *options) *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the account's domain claims",
		Example: `  kubectl atlas claims list --issuer atlas -n web
  kubectl atlas claims list --status VERIFIED --issuer atlas -n web -o json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := o.format(cmd, false)
			if err != nil {
				return err
			}
			st := atlas.ClaimStatus(strings.ToUpper(status))
			if st != "" && st != atlas.ClaimPending && st != atlas.ClaimVerified {
				return usageError(cmd, "--status must be PENDING or VERIFIED")
			}
			s, err := o.connect(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			claims := []atlas.Claim{}
			const perPage = 100
			for page := 1; ; page++ {
				p, err := s.atlas.ListClaims(cmd.Context(), atlas.ClaimsQuery{Page: page, PerPage: perPage, Status: st})
				if err != nil {
					return s.explain("listing claims", err)
				}
				claims = append(claims, p.Claims...)
				// The page bound ends the loop on a server that ignores page.
				more := len(p.Claims) > 0 && (p.Next || len(claims) < p.TotalCount) && page*perPage <= p.TotalCount+perPage
				if page > 1 || more {
					fmt.Fprintf(o.streams.ErrOut, "claims: fetched %d of %d\n", len(claims), max(p.TotalCount, len(claims)))
				}
				if !more {
					break
				}
			}
			return o.emit(format, claims, func(w io.Writer) {
				row(w, "ID", "DOMAIN", "STATUS", "CREATED", "ASSERT BY", "EXPIRES")
				for _, c := range claims {
					row(w, c.ID, c.Domain, string(c.Status), unixTime(c.CreatedAt), unixTime(c.AssertBy), unixTime(c.ExpiresAt))
				}
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only claims in this status: PENDING or VERIFIED")
	return cmd
}

func newClaimsSubmitCommand(o *options) *cobra.Command {
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
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := o.format(cmd, false)
			if err != nil {
				return err
			}
			domain, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.TrimSpace(args[0]), "."))
			if err != nil {
				return usageError(cmd, "%q is not a valid domain name: %v", args[0], err)
			}
			s, err := o.connect(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			a, err := s.atlas.SubmitClaim(cmd.Context(), domain)
			if err != nil {
				return s.explain("claiming "+domain, err)
			}
			result := struct {
				ID       string `json:"id"`
				Domain   string `json:"domain"`
				Token    string `json:"token"`
				AssertBy int64  `json:"assert_by"`
			}{a.ID, domain, a.Token, a.AssertBy}
			return o.emit(format, result, func(w io.Writer) {
				row(w, "ID", "DOMAIN", "TOKEN", "ASSERT BY")
				row(w, a.ID, domain, a.Token, unixTime(a.AssertBy))
				fmt.Fprintf(o.streams.ErrOut, "Publish the token as a TXT record at %s, then: kubectl atlas claims verify-dns %s\n", domain, a.ID)
			})
		},
	}
}

func newClaimsGetCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:     "get ID",
		Short:   "Show a claim: domain, status, token, deadlines and verification log",
		Example: claimExample("get", "kubectl atlas claims get 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --issuer atlas -n web -o yaml"),
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, s, err := o.formatAndConnect(cmd, false)
			if err != nil {
				return err
			}
			c, err := s.atlas.RetrieveClaim(cmd.Context(), args[0])
			if err != nil {
				return s.claimError("reading claim", args[0], err)
			}
			return o.emit(format, c, func(w io.Writer) {
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
		},
	}
}

// claimError names a claim that does not exist plainly.
func (s *session) claimError(doing, id string, err error) error {
	if atlas.IsNotFound(err) {
		return &notFoundError{fmt.Sprintf("claim %s not found in the Atlas account of %s", id, s.issuer)}
	}
	return s.explain(doing+" "+id, err)
}

func newClaimsDeleteCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a domain claim",
		Long: `Delete a domain claim. Atlas then issues no more certificates for the domain
on the strength of this claim; claim it again to restore that.`,
		Example: claimExample("delete"),
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, s, err := o.formatAndConnect(cmd, false)
			if err != nil {
				return err
			}
			if err := s.atlas.DeleteClaim(cmd.Context(), args[0]); err != nil {
				return s.claimError("deleting claim", args[0], err)
			}
			return o.emit(format, struct {
				ID      string `json:"id"`
				Deleted bool   `json:"deleted"`
			}{args[0], true}, func(w io.Writer) {
				fmt.Fprintf(w, "claim %s deleted\n", args[0])
			})
		},
	}
}

func newClaimsDNSCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "dns ID",
		Short: "List the authorization domains where the DNS token may be published",
		Long: `List the authorization domain names of a claim: the claimed domain and its
parents. The TXT record with the token may be published at any of them;
name the one used with "claims verify-dns ID --authorization-domain".`,
		Example: claimExample("dns"),
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, s, err := o.formatAndConnect(cmd, false)
			if err != nil {
				return err
			}
			domains, err := s.atlas.ClaimDNSDomains(cmd.Context(), args[0])
			if err != nil {
				return s.claimError("listing the authorization domains of claim", args[0], err)
			}
			if domains == nil {
				domains = []string{}
			}
			return o.emit(format, domains, func(w io.Writer) {
				row(w, "AUTHORIZATION DOMAIN")
				for _, d := range domains {
					row(w, d)
				}
			})
		},
	}
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

func newClaimsVerifyDNSCommand(o *options) *cobra.Command {
	var and string
	cmd := &cobra.Command{
		Use:   "verify-dns ID",
		Short: "Ask Atlas to find the claim's token in DNS",
		Long: `Ask Atlas to look for the claim's token in a DNS TXT record at the claimed
domain, or at --authorization-domain (one of "claims dns ID"). The first
call schedules the check; a later call reports VERIFIED once Atlas found it.`,
		Example: claimExample("verify-dns", "kubectl atlas claims verify-dns 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --authorization-domain example.com --issuer atlas -n web"),
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, s, err := o.formatAndConnect(cmd, false)
			if err != nil {
				return err
			}
			v, err := s.atlas.VerifyClaimDNS(cmd.Context(), args[0], and)
			if err != nil {
				return s.claimError("verifying claim", args[0], err)
			}
			return o.verification(format, args[0], "DNS", v)
		},
	}
	cmd.Flags().StringVar(&and, "authorization-domain", "", "authorization domain where the TXT record is published (default: the claimed domain)")
	return cmd
}

func newClaimsVerifyHTTPCommand(o *options) *cobra.Command {
	var and, scheme string
	cmd := &cobra.Command{
		Use:   "verify-http ID",
		Short: "Ask Atlas to fetch the claim's token over HTTP or HTTPS",
		Long: `Ask Atlas to fetch the claim's token from a web server of the domain, over
--scheme https (default) or http. The first call schedules the check; a
later call reports VERIFIED once Atlas fetched it.`,
		Example: claimExample("verify-http", "kubectl atlas claims verify-http 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --scheme http --issuer atlas -n web"),
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := o.format(cmd, false)
			if err != nil {
				return err
			}
			sc := strings.ToLower(scheme)
			if sc != "http" && sc != "https" {
				return usageError(cmd, "--scheme must be http or https")
			}
			s, err := o.connect(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			v, err := s.atlas.VerifyClaimHTTP(cmd.Context(), args[0], atlas.HTTPVerifyRequest{Scheme: sc, AuthorizationDomain: and})
			if err != nil {
				return s.claimError("verifying claim", args[0], err)
			}
			return o.verification(format, args[0], "HTTP", v)
		},
	}
	cmd.Flags().StringVar(&scheme, "scheme", "https", "http or https")
	cmd.Flags().StringVar(&and, "authorization-domain", "", "authorization domain that serves the token (default: the claimed domain)")
	return cmd
}

func newClaimsEmailCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "email ID",
		Short: "List the addresses that may approve an email verification",
		Long: `List the approver addresses for email verification of a claim: the
constructed ones (admin@, hostmaster@, ... at the domain and its parents) and
the contact in the domain's SOA record. Send the email with
"claims verify-email ID --email ADDR".`,
		Example: claimExample("email"),
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, s, err := o.formatAndConnect(cmd, false)
			if err != nil {
				return err
			}
			e, err := s.atlas.ClaimEmails(cmd.Context(), args[0])
			if err != nil {
				return s.claimError("listing the approver addresses of claim", args[0], err)
			}
			for _, msg := range e.DNS.SOA.Errors {
				fmt.Fprintf(o.streams.ErrOut, "SOA lookup: %s\n", msg)
			}
			return o.emit(format, e, func(w io.Writer) {
				row(w, "ADDRESS", "SOURCE")
				for _, a := range e.Constructed {
					row(w, a, "constructed")
				}
				for _, a := range e.DNS.SOA.Emails {
					row(w, a, "SOA")
				}
			})
		},
	}
}

func newClaimsVerifyEmailCommand(o *options) *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   "verify-email ID --email ADDR",
		Short: "Send a verification email to an approver address",
		Long: `Ask Atlas to send the verification email for a claim to one of the
addresses "claims email ID" lists. The claim is VERIFIED once the recipient
approves it; check with "claims get ID".`,
		Example: claimExample("verify-email", "kubectl atlas claims verify-email 014E9CEAF4D351FE5AA76E6E9B3BCDA5 --email hostmaster@example.com --issuer atlas -n web"),
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := o.format(cmd, false)
			if err != nil {
				return err
			}
			if email == "" {
				return usageError(cmd, "--email ADDR is required: one of the addresses \"kubectl atlas claims email %s\" lists", args[0])
			}
			s, err := o.connect(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			v, err := s.atlas.VerifyClaimEmail(cmd.Context(), args[0], email)
			if err != nil {
				return s.claimError("verifying claim", args[0], err)
			}
			return o.verification(format, args[0], "email", v)
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "approver address to send the email to")
	return cmd
}

func newClaimsReassertCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "reassert ID",
		Short: "Get a new token and assert_by for a claim whose deadline has passed",
		Long: `Ask Atlas for a new token and a new assert_by for a claim that was not
verified in time (verification then fails with 424 "Claim expired").
Publish the new token and verify again.`,
		Example: claimExample("reassert"),
		Args:    exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, s, err := o.formatAndConnect(cmd, false)
			if err != nil {
				return err
			}
			a, err := s.atlas.ReassertClaim(cmd.Context(), args[0])
			if errors.Is(err, atlas.ErrInProgress) {
				return fmt.Errorf("claim %s: a previous verification is still in progress; reassert once it has finished", args[0])
			}
			if err != nil {
				return s.claimError("reasserting claim", args[0], err)
			}
			result := struct {
				ID       string `json:"id"`
				Token    string `json:"token"`
				AssertBy int64  `json:"assert_by"`
			}{a.ID, a.Token, a.AssertBy}
			return o.emit(format, result, func(w io.Writer) {
				row(w, "ID", "TOKEN", "ASSERT BY")
				row(w, a.ID, a.Token, unixTime(a.AssertBy))
			})
		},
	}
}
