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
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"github.com/spf13/cobra"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// quotaOptions are the settings of quota.
type quotaOptions struct{ readOptions }

func newQuotaCommand(o *options) *cobra.Command {
	qo := &quotaOptions{readOptions{options: o}}
	return &cobra.Command{
		Use:   "quota",
		Short: "Show the remaining issuance quota of the account",
		Long: `Show how many more certificates the Atlas account may issue. At zero,
Atlas answers 402 "Quota Reached" and the issuer stops being Ready.`,
		Example: `  kubectl atlas quota --issuer atlas -n web
  kubectl atlas quota --cluster-issuer atlas -o json`,
		Args: exactArgs(),
		RunE: runE(qo),
	}
}

// Run reads the quota and prints it.
func (qo *quotaOptions) Run(cmd *cobra.Command) error {
	s, err := qo.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	n, err := s.atlas.Quota(cmd.Context())
	if err != nil {
		return s.explain("reading the quota", err)
	}
	return qo.emit(qo.format, struct {
		Quota int64 `json:"quota"`
	}{n}, func(w io.Writer) {
		row(w, "QUOTA")
		row(w, fmt.Sprint(n))
	})
}

// countersOptions are the settings of counters.
type countersOptions struct{ readOptions }

func newCountersCommand(o *options) *cobra.Command {
	co := &countersOptions{readOptions{options: o}}
	return &cobra.Command{
		Use:   "counters",
		Short: "Show how many certificates the account has issued and revoked",
		Example: `  kubectl atlas counters --issuer atlas -n web
  kubectl atlas counters --issuer atlas -n web -o yaml`,
		Args: exactArgs(),
		RunE: runE(co),
	}
}

// Run reads both counters and prints them.
func (co *countersOptions) Run(cmd *cobra.Command) error {
	s, err := co.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	issued, err := s.atlas.CountIssued(cmd.Context())
	if err != nil {
		return s.explain("reading the issued counter", err)
	}
	revoked, err := s.atlas.CountRevoked(cmd.Context())
	if err != nil {
		return s.explain("reading the revoked counter", err)
	}
	return co.emit(co.format, struct {
		Issued  int64 `json:"issued"`
		Revoked int64 `json:"revoked"`
	}{issued, revoked}, func(w io.Writer) {
		row(w, "ISSUED", "REVOKED")
		row(w, fmt.Sprint(issued), fmt.Sprint(revoked))
	})
}

// trustChainOptions are the settings of trustchain.
type trustChainOptions struct{ readOptions }

func newTrustChainCommand(o *options) *cobra.Command {
	to := &trustChainOptions{readOptions{options: o, allowPEM: true}}
	return &cobra.Command{
		Use:   "trustchain",
		Short: "Show the CA certificates that sign the account's certificates",
		Long: `Show the account's trust chain, from the issuing CA to the root: subject,
issuer and validity of each certificate. -o pem prints the certificates
themselves, ready for a trust bundle.`,
		Example: `  kubectl atlas trustchain --issuer atlas -n web
  kubectl atlas trustchain --issuer atlas -n web -o pem > atlas-chain.pem`,
		Args: exactArgs(),
		RunE: runE(to),
	}
}

// Run reads the trust chain and prints it, as PEM for -o pem.
func (to *trustChainOptions) Run(cmd *cobra.Command) error {
	s, err := to.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	chain, err := s.atlas.TrustChain(cmd.Context())
	if err != nil {
		return s.explain("reading the trust chain", err)
	}
	if to.format == formatPEM {
		for _, p := range chain {
			fmt.Fprint(to.streams.Out, strings.TrimSpace(p)+"\n")
		}
		return nil
	}
	type caView struct {
		Subject   string `json:"subject"`
		Issuer    string `json:"issuer"`
		Serial    string `json:"serial"`
		NotBefore string `json:"not_before"`
		NotAfter  string `json:"not_after"`
		PEM       string `json:"pem"`
	}
	views := make([]caView, 0, len(chain))
	for i, p := range chain {
		c, err := pki.DecodeX509CertificateBytes([]byte(p))
		if err != nil {
			return fmt.Errorf("trust chain entry %d from Atlas: %w", i+1, err)
		}
		views = append(views, caView{
			Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: serialHex(c),
			NotBefore: formatTime(c.NotBefore), NotAfter: formatTime(c.NotAfter), PEM: p,
		})
	}
	return to.emit(to.format, views, func(w io.Writer) {
		row(w, "#", "SUBJECT", "ISSUER", "NOT BEFORE", "NOT AFTER")
		for i, v := range views {
			row(w, fmt.Sprint(i+1), v.Subject, v.Issuer, v.NotBefore, v.NotAfter)
		}
	})
}

func newStatsCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats issued|revoked|expiring",
		Short: "List certificates issued, revoked or expiring in a time window",
		Long: `List the account's certificates issued, revoked, or expiring (not_after)
within a time window, fetching every page. --from and --to take an RFC 3339
time, a date, "now", or a duration from now (90m, 24h, 7d, 2w): for issued
and revoked a duration reaches into the past, for expiring into the future.
The default window is the last 24 hours (expiring: the next 24 hours).`,
		Example: `  kubectl atlas stats issued --issuer atlas -n web
  kubectl atlas stats revoked --issuer atlas -n web --from 7d
  kubectl atlas stats expiring --issuer atlas -n web --to 30d -o json`,
	}
	for _, k := range []struct {
		name, short string
		dir         int
		fetch       func(*atlas.Client) statsFunc
	}{
		{"issued", "List certificates issued in a time window", -1, func(c *atlas.Client) statsFunc { return c.StatsIssued }},
		{"revoked", "List certificates revoked in a time window", -1, func(c *atlas.Client) statsFunc { return c.StatsRevoked }},
		{"expiring", "List certificates whose validity ends in a time window", +1, func(c *atlas.Client) statsFunc { return c.StatsExpiring }},
	} {
		cmd.AddCommand(newStatsKindCommand(o, k.name, k.short, k.dir, k.fetch))
	}
	return cmd
}

// statsKindOptions are the settings of stats issued, revoked or expiring.
type statsKindOptions struct {
	*options
	kind string
	// dir is the direction a duration in --from or --to reaches from now:
	// -1 into the past, +1 into the future.
	dir   int
	fetch func(*atlas.Client) statsFunc

	from, to string
	pageSize int

	format     string
	start, end time.Time
}

func newStatsKindCommand(o *options, kind, short string, dir int, fetch func(*atlas.Client) statsFunc) *cobra.Command {
	so := &statsKindOptions{options: o, kind: kind, dir: dir, fetch: fetch, from: "24h", to: "now"}
	if dir > 0 {
		so.from, so.to = "now", "24h"
	}
	cmd := &cobra.Command{
		Use:   kind,
		Short: short,
		Example: fmt.Sprintf(`  kubectl atlas stats %[1]s --issuer atlas -n web
  kubectl atlas stats %[1]s --issuer atlas -n web --from 2025-01-01 --to 2025-01-31T23:59:59Z
  kubectl atlas stats %[1]s --cluster-issuer atlas --from %[2]s -o yaml`, kind, map[bool]string{true: "now --to 30d", false: "7d"}[dir > 0]),
		Args: exactArgs(),
		RunE: runE(so),
	}
	cmd.Flags().StringVar(&so.from, "from", so.from, "start of the window (inclusive)")
	cmd.Flags().StringVar(&so.to, "to", so.to, "end of the window (inclusive)")
	cmd.Flags().IntVar(&so.pageSize, "page-size", 100, "certificates per request")
	return cmd
}

// Validate checks -o, reads the window and checks the page size.
func (so *statsKindOptions) Validate(cmd *cobra.Command, _ []string) error {
	var err error
	if so.format, err = so.options.format(cmd, false); err != nil {
		return err
	}
	now := so.clock.Now()
	if so.start, err = parseTime(so.from, now, so.dir); err != nil {
		return usageError(cmd, "--from: %v", err)
	}
	if so.end, err = parseTime(so.to, now, so.dir); err != nil {
		return usageError(cmd, "--to: %v", err)
	}
	if so.start.After(so.end) {
		return usageError(cmd, "--from %s is after --to %s", formatTime(so.start), formatTime(so.end))
	}
	if so.pageSize < 1 {
		return usageError(cmd, "--page-size must be at least 1")
	}
	return nil
}

// Run lists every certificate in the window and prints them.
func (so *statsKindOptions) Run(cmd *cobra.Command) error {
	s, err := so.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	l := &statsLister{kind: so.kind, fetch: so.fetch(s.atlas), perPage: so.pageSize, progress: so.streams.ErrOut}
	rows, err := l.list(cmd.Context(), so.start, so.end)
	if err != nil {
		return s.explain("listing "+so.kind+" certificates", err)
	}
	return so.emit(so.format, rows, func(w io.Writer) {
		row(w, "SERIAL", "NOT BEFORE", "NOT AFTER")
		for _, r := range rows {
			row(w, r.SerialNumber, unixTime(r.NotBefore), unixTime(r.NotAfter))
		}
		if len(rows) == 0 {
			fmt.Fprintf(so.streams.ErrOut, "No certificates %s between %s and %s.\n", so.kind, formatTime(so.start), formatTime(so.end))
		}
	})
}

// policyOptions are the settings of policy.
type policyOptions struct{ readOptions }

func newPolicyCommand(o *options) *cobra.Command {
	po := &policyOptions{readOptions{options: o}}
	return &cobra.Command{
		Use:   "policy",
		Short: "Show the account's validation policy",
		Long: `Show the account's validation policy: which keys, lifetimes, subject
attributes, SANs and usages Atlas accepts. The table is a summary; -o json
or -o yaml prints the whole policy as Atlas returns it.`,
		Example: `  kubectl atlas policy --issuer atlas -n web
  kubectl atlas policy --issuer atlas -n web -o yaml`,
		Args: exactArgs(),
		RunE: runE(po),
	}
}

// Run reads the validation policy and prints it.
func (po *policyOptions) Run(cmd *cobra.Command) error {
	s, err := po.connect(cmd.Context(), cmd)
	if err != nil {
		return err
	}
	p, err := s.atlas.ValidationPolicy(cmd.Context())
	if err != nil {
		return s.explain("reading the validation policy", err)
	}
	return po.emit(po.format, p, func(w io.Writer) {
		row(w, "FIELD", "RULE")
		for _, r := range policyRows(p) {
			row(w, r[0], r[1])
		}
	})
}

// durationText prints seconds in the largest whole unit, as policy bounds
// are usually whole days or hours.
func durationText(sec int64) string {
	d := time.Duration(sec) * time.Second
	switch {
	case sec == 0:
		return "0s"
	case sec%86400 == 0:
		return fmt.Sprintf("%dd", sec/86400)
	case sec%3600 == 0:
		return fmt.Sprintf("%dh", sec/3600)
	}
	return d.String()
}
