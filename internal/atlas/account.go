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
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// CountIssued returns how many certificates the account has issued.
func (c *Client) CountIssued(ctx context.Context) (int64, error) {
	return c.counter(ctx, "CountIssued", "/counters/certificates/issued")
}

// CountRevoked returns how many of the account's certificates are revoked.
func (c *Client) CountRevoked(ctx context.Context) (int64, error) {
	return c.counter(ctx, "CountRevoked", "/counters/certificates/revoked")
}

// Quota returns the remaining issuance quota.
func (c *Client) Quota(ctx context.Context) (int64, error) {
	return c.counter(ctx, "Quota", "/quotas/issuance")
}

func (c *Client) counter(ctx context.Context, op, path string) (int64, error) {
	var v Counter
	if err := c.getJSON(ctx, op, path, limitSmall, &v); err != nil {
		return 0, err
	}
	return v.Value, nil
}

// StatsIssued lists certificates issued in the query's time window.
func (c *Client) StatsIssued(ctx context.Context, q StatsQuery) (*StatsPage, error) {
	return c.stats(ctx, "StatsIssued", "/stats/issued", q)
}

// StatsRevoked lists certificates revoked in the query's time window.
func (c *Client) StatsRevoked(ctx context.Context, q StatsQuery) (*StatsPage, error) {
	return c.stats(ctx, "StatsRevoked", "/stats/revoked", q)
}

// StatsExpiring lists certificates whose not_after lies in the query's time
// window.
func (c *Client) StatsExpiring(ctx context.Context, q StatsQuery) (*StatsPage, error) {
	return c.stats(ctx, "StatsExpiring", "/stats/expiring", q)
}

func (c *Client) stats(ctx context.Context, op, path string, q StatsQuery) (*StatsPage, error) {
	query := pageQuery(q.Page, q.PerPage)
	if q.From != 0 {
		query.Set("from", strconv.FormatInt(q.From, 10))
	}
	if q.To != 0 {
		query.Set("to", strconv.FormatInt(q.To, 10))
	}
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: path, query: query, limit: limitPage})
	if err != nil {
		return nil, err
	}
	var page StatsPage
	if err := decode(op, resp, &page.Certificates, true); err != nil {
		return nil, err
	}
	page.TotalCount = totalCount(resp.header, len(page.Certificates))
	page.Next = hasNextLink(resp.header)
	return &page, nil
}

// pageQuery always sends page, as the official client does: without it
// some listings answer with nothing.
func pageQuery(page, perPage int) url.Values {
	if page <= 0 {
		page = 1
	}
	q := url.Values{"page": {strconv.Itoa(page)}}
	if perPage > 0 {
		q.Set("per_page", strconv.Itoa(perPage))
	}
	return q
}

// totalCount reads the Total-Count header. Atlas documents it on every
// listing, but a page without it still has a count: its own length.
func totalCount(h http.Header, pageLen int) int {
	if n, err := strconv.Atoi(strings.TrimSpace(h.Get("Total-Count"))); err == nil && n >= 0 {
		return n
	}
	return pageLen
}

// nextRel finds rel="next" in a Links header, whose separators Atlas's own
// documentation writes inconsistently (";" and ",").
var nextRel = regexp.MustCompile(`(?i)\brel\s*=\s*"?next"?\s*(?:[;,]|$)`)

// hasNextLink reports whether the Links header (or the standard Link)
// names a next page.
func hasNextLink(h http.Header) bool {
	for _, name := range []string{"Links", "Link"} {
		if slices.ContainsFunc(h.Values(name), nextRel.MatchString) {
			return true
		}
	}
	return false
}
