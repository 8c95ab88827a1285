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
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// handleTrustChain is GET /trustchain: the issuing CA first, the root last,
// and as many further copies of the root as Faults.TrustChainExtra asks.
func (s *Server) handleTrustChain(w http.ResponseWriter, r *http.Request) {
	chain := []string{string(s.pki.interPEM), string(s.pki.rootPEM)}
	if f, ok := s.faultsFor(OpTrustChain); ok && f.TrustChainExtra > 0 {
		s.countFault(FaultHugeChain)
		for range f.TrustChainExtra {
			chain = append(chain, string(s.pki.rootPEM))
		}
	}
	writeJSON(w, http.StatusOK, chain)
}

// handleValidationPolicy is GET /validationpolicy.
func (s *Server) handleValidationPolicy(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.currentPolicy())
}

// handleCountIssued is GET /counters/certificates/issued: certificates that
// reached ISSUED, revoked ones included; pending and rejected ones are not
// issued.
func (s *Server) handleCountIssued(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	var n int64
	s.mu.Lock()
	for _, c := range s.certOrder {
		if st := c.state(now); st == stateIssued || st == stateRevoked {
			n++
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, atlas.Counter{Value: n})
}

// handleCountRevoked is GET /counters/certificates/revoked.
func (s *Server) handleCountRevoked(w http.ResponseWriter, r *http.Request) {
	var n int64
	s.mu.Lock()
	for _, c := range s.certOrder {
		if !c.revokedAt.IsZero() {
			n++
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, atlas.Counter{Value: n})
}

// handleQuota is GET /quotas/issuance.
func (s *Server) handleQuota(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, atlas.Counter{Value: s.Quota()})
}

// SetPolicy replaces the validation policy; later requests are checked
// against a copy of p. A nil p restores DefaultPolicy.
func (s *Server) SetPolicy(p *atlas.ValidationPolicy) {
	cp := DefaultPolicy()
	if p != nil {
		var err error
		if cp, err = clonePolicy(p); err != nil {
			// A policy built from the atlas types always marshals; keep the
			// old one rather than serve half of a new one.
			s.logf("SetPolicy: %v", err)
			return
		}
	}
	s.mu.Lock()
	s.policy = cp
	s.mu.Unlock()
}

// currentPolicy is the policy in force. It is never mutated once installed,
// so callers may read it without the lock.
func (s *Server) currentPolicy() *atlas.ValidationPolicy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policy
}

// SetQuota sets the remaining issuance quota; at 0 POST /certificates
// answers 402 "Quota Reached".
func (s *Server) SetQuota(n int64) {
	s.mu.Lock()
	s.quota = n
	s.mu.Unlock()
}

// Quota is the remaining issuance quota.
func (s *Server) Quota() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quota
}

type statsKind int

const (
	statsIssued statsKind = iota
	statsRevoked
	statsExpiring
)

const (
	statsDefaultWindow = 30 * 24 * time.Hour
	defaultPerPage     = 100
	maxPerPage         = 1000
)

// handleStats serves the three /stats listings. The window [from, to] is
// inclusive, in UNIX seconds, and applies to:
//   - issued: the time POST /certificates accepted the request. The fake
//     lists a certificate from that moment on, while it is still pending and
//     even if the CA later rejects it. Atlas does not document when a
//     certificate appears here; the issuer relies on finding one it
//     submitted just before crashing, so the fake makes that assumption
//     explicit rather than hide the certificate until issuance.
//   - revoked: the revocation time.
//   - expiring: not_after, for certificates ISSUED and not revoked.
//
// Without from/to, issued and revoked cover the last 30 days up to now and
// expiring the next 30 days from now; a missing bound is 30 days from the
// given one. page defaults to 1, per_page to 100 (at most 1000). Rows come
// in order of the windowed time, then serial.
func (s *Server) handleStats(kind statsKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		pg, ok := parsePaging(w, q)
		if !ok {
			return
		}
		now := s.now()
		from, fromSet, err1 := queryInt(q, "from")
		to, toSet, err2 := queryInt(q, "to")
		if err1 != nil || err2 != nil {
			field := "from"
			if err1 == nil {
				field = "to"
			}
			writeProblem(w, http.StatusUnprocessableEntity, "Validation error message", map[string]string{field: "must be an integer"})
			return
		}
		win := int64(statsDefaultWindow / time.Second)
		switch {
		case fromSet && !toSet:
			to = from + win
		case toSet && !fromSet:
			from = to - win
		case !fromSet && !toSet && kind == statsExpiring:
			from, to = now.Unix(), now.Unix()+win
		case !fromSet && !toSet:
			from, to = now.Unix()-win, now.Unix()
		}
		if from > to {
			writeProblem(w, http.StatusUnprocessableEntity, "Validation error message", map[string]string{"from": "must not be after to"})
			return
		}

		if kind == statsIssued && s.statsIssuedFault(w) {
			return
		}
		rows := s.statsRows(kind, now, from, to)
		lo, hi := pg.bounds(len(rows))
		out := make([]atlas.CertificateMeta, 0, hi-lo)
		for _, r := range rows[lo:hi] {
			out = append(out, r.meta)
		}
		link := url.Values{"per_page": {strconv.Itoa(pg.perPage)}, "from": {fmt.Sprint(from)}, "to": {fmt.Sprint(to)}}
		path := "/stats/" + [...]string{"issued", "revoked", "expiring"}[kind]
		setPagingHeaders(w, path, link, pg, len(rows))
		writeJSON(w, http.StatusOK, out)
	}
}

// statsIssuedFault answers GET /stats/issued as the StatsIssued fault
// says and reports whether it did.
func (s *Server) statsIssuedFault(w http.ResponseWriter) bool {
	mode := s.Faults().StatsIssued
	switch mode {
	case StatsNotFound:
		writeProblem(w, http.StatusNotFound, "Not found", nil)
	case StatsServerError:
		writeProblemBody(w, http.StatusInternalServerError, atlas.ErrorBody{Description: "Internal Server Error", ID: incidentID()})
	case StatsEmpty:
		w.Header().Set("Total-Count", "0")
		writeJSON(w, http.StatusOK, []atlas.CertificateMeta{})
	default:
		return false
	}
	s.countFault(FaultStatsIssued)
	return true
}

// statsRow is one certificate of a stats answer with the time the window
// applies to.
type statsRow struct {
	at   int64
	meta atlas.CertificateMeta
}

// statsRows are the certificates whose time of kind lies in [from, to], in
// order of that time, then serial.
func (s *Server) statsRows(kind statsKind, now time.Time, from, to int64) []statsRow {
	var rows []statsRow
	s.mu.Lock()
	for _, c := range s.certOrder {
		var at int64
		switch kind {
		case statsIssued:
			at = c.acceptedAt.Unix()
		case statsRevoked:
			if c.revokedAt.IsZero() {
				continue
			}
			at = c.revokedAt.Unix()
		case statsExpiring:
			if c.state(now) != stateIssued {
				continue
			}
			at = c.plan.notAfter.Unix()
		}
		if at < from || at > to {
			continue
		}
		rows = append(rows, statsRow{at, atlas.CertificateMeta{
			SerialNumber: c.serial,
			NotBefore:    c.plan.notBefore.Unix(),
			NotAfter:     c.plan.notAfter.Unix(),
		}})
	}
	s.mu.Unlock()
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].at != rows[j].at {
			return rows[i].at < rows[j].at
		}
		return rows[i].meta.SerialNumber < rows[j].meta.SerialNumber
	})
	return rows
}

type paging struct{ page, perPage int }

// parsePaging reads page and per_page, answering 422 for bad values.
func parsePaging(w http.ResponseWriter, q url.Values) (paging, bool) {
	pg := paging{page: 1, perPage: defaultPerPage}
	page, set, err := queryInt(q, "page")
	if err != nil || (set && page < 1) {
		writeProblem(w, http.StatusUnprocessableEntity, "Validation error message", map[string]string{"page": "must be a positive integer"})
		return pg, false
	}
	if set {
		pg.page = int(page)
	}
	per, set, err := queryInt(q, "per_page")
	if err != nil || (set && (per < 1 || per > maxPerPage)) {
		writeProblem(w, http.StatusUnprocessableEntity, "Validation error message", map[string]string{"per_page": fmt.Sprintf("must be between 1 and %d", maxPerPage)})
		return pg, false
	}
	if set {
		pg.perPage = int(per)
	}
	return pg, true
}

// bounds is the slice of n rows that falls on the page.
func (p paging) bounds(n int) (lo, hi int) {
	lo = min((p.page-1)*p.perPage, n)
	hi = min(lo+p.perPage, n)
	return lo, hi
}

// setPagingHeaders writes Total-Count and Links in the shape of DOC21's
// example: `<path?page=N...>; rel="previous"`, then "next" only when there is
// a next page, then "last", comma separated. Paths are relative to the base
// URL, as in the example.
func setPagingHeaders(w http.ResponseWriter, path string, q url.Values, pg paging, total int) {
	last := max((total+pg.perPage-1)/pg.perPage, 1)
	link := func(page int, rel string) string {
		v := url.Values{}
		maps.Copy(v, q)
		v.Set("page", strconv.Itoa(page))
		return fmt.Sprintf("<%s?%s>; rel=%q", path, v.Encode(), rel)
	}
	var links []string
	if pg.page > 1 {
		prev := min(pg.page-1, last)
		links = append(links, link(prev, "previous"))
	}
	if pg.page < last {
		links = append(links, link(pg.page+1, "next"))
	}
	links = append(links, link(last, "last"))
	w.Header().Set("Total-Count", strconv.Itoa(total))
	w.Header().Set("Links", strings.Join(links, ", "))
}

// queryInt reads an integer query parameter; set is false when it is absent
// or empty.
func queryInt(q url.Values, name string) (v int64, set bool, err error) {
	s := q.Get(name)
	if s == "" {
		return 0, false, nil
	}
	v, err = strconv.ParseInt(s, 10, 64)
	return v, err == nil, err
}
