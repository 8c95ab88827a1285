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
	"context"
	"fmt"
	"io"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// statsFunc is one of the client's StatsIssued, StatsRevoked, StatsExpiring.
type statsFunc func(context.Context, atlas.StatsQuery) (*atlas.StatsPage, error)

// maxStatsWindow is the longest window asked of Atlas at once. Third-party
// tooling reports that Atlas caps /stats windows at 30 days (unconfirmed in
// the official reference), so longer windows are split rather than
// silently truncated.
const maxStatsWindow = 30 * 24 * time.Hour

// statsLister fetches every page of a /stats listing.
type statsLister struct {
	kind     string
	fetch    statsFunc
	perPage  int
	progress io.Writer
}

// list returns every certificate in [from, to], both inclusive, in the
// order Atlas lists them, without duplicates.
func (l *statsLister) list(ctx context.Context, from, to time.Time) ([]atlas.CertificateMeta, error) {
	windows := splitWindow(from.Unix(), to.Unix(), int64(maxStatsWindow/time.Second))
	seen := map[string]bool{}
	out := []atlas.CertificateMeta{}
	requests := 0
	for wi, w := range windows {
		fetched := 0
		for page := 1; ; page++ {
			p, err := l.fetch(ctx, atlas.StatsQuery{Page: page, PerPage: l.perPage, From: w[0], To: w[1]})
			if err != nil {
				return nil, err
			}
			requests++
			fetched += len(p.Certificates)
			for _, c := range p.Certificates {
				// Rows shift between pages when certificates are issued
				// during the listing; one serial is one row.
				if !seen[c.SerialNumber] {
					seen[c.SerialNumber] = true
					out = append(out, c)
				}
			}
			more := len(p.Certificates) > 0 && (p.Next || fetched < p.TotalCount)
			// A server that ignored page would repeat page 1 forever.
			if more && page*l.perPage > p.TotalCount+l.perPage {
				more = false
			}
			if requests > 1 || more || len(windows) > 1 {
				where := ""
				if len(windows) > 1 {
					where = fmt.Sprintf(" (window %d of %d)", wi+1, len(windows))
				}
				fmt.Fprintf(l.progress, "stats %s: fetched %d of %d%s\n", l.kind, fetched, max(p.TotalCount, fetched), where)
			}
			if !more {
				break
			}
		}
	}
	return out, nil
}

// splitWindow cuts [from, to] into inclusive windows of at most size
// seconds that neither overlap nor leave a gap.
func splitWindow(from, to, size int64) [][2]int64 {
	var out [][2]int64
	for start := from; ; {
		end := start + size - 1
		if end >= to {
			return append(out, [2]int64{start, to})
		}
		out = append(out, [2]int64{start, end})
		start = end + 1
	}
}
