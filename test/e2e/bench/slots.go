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

package bench

import (
	"slices"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// SlotUse is how a run's Atlas calls filled the manager's slots over time,
// from the fake's log of its calls: the share of slot time in calls ("slots
// busy") cannot tell a slow start from slots left idle all through.
type SlotUse struct {
	// FirstCallSeconds is the time from the first create to the first
	// Atlas call.
	FirstCallSeconds float64 `json:"first_call_seconds"`
	// FullSeconds is the time from the first create until every slot was
	// in a call for the first time; nil when that never happened.
	FullSeconds *float64 `json:"full_seconds,omitempty"`
	// BusyAfterFull is the share of slot time spent in calls from
	// FullSeconds until the last call started; nil without FullSeconds.
	BusyAfterFull *float64 `json:"busy_after_full,omitempty"`
}

// slotUse measures spans, the calls made from start on, against slots.
// Calls that started before start (the issuer's check) are left out. It
// returns nil when no call started from start on.
func slotUse(spans []fake.CallSpan, start time.Time, slots int) *SlotUse {
	var run []fake.CallSpan
	for _, s := range spans {
		if !s.Start.Before(start) {
			run = append(run, s)
		}
	}
	if len(run) == 0 || slots < 1 {
		return nil
	}
	type edge struct {
		at    time.Time
		delta int
	}
	edges := make([]edge, 0, 2*len(run))
	lastStart := run[0].Start
	for _, s := range run {
		edges = append(edges, edge{s.Start, 1}, edge{s.End, -1})
		if s.Start.After(lastStart) {
			lastStart = s.Start
		}
	}
	// At the same instant a call's end comes before another's start: a
	// slot handed on is not two calls at once.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	u := &SlotUse{FirstCallSeconds: round(edges[0].at.Sub(start).Seconds(), 3)}
	inFlight := 0
	var full time.Time
	for _, e := range edges {
		if inFlight += e.delta; inFlight >= slots {
			full = e.at
			break
		}
	}
	if full.IsZero() {
		return u
	}
	u.FullSeconds = new(round(full.Sub(start).Seconds(), 3))
	window := lastStart.Sub(full)
	if window <= 0 {
		return u
	}
	var busy time.Duration
	for _, s := range run {
		from, to := s.Start, s.End
		if from.Before(full) {
			from = full
		}
		if to.After(lastStart) {
			to = lastStart
		}
		if to.After(from) {
			busy += to.Sub(from)
		}
	}
	u.BusyAfterFull = new(round(busy.Seconds()/(float64(slots)*window.Seconds()), 3))
	return u
}
