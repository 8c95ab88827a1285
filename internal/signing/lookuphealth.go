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

package signing

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

const (
	// lookupWarnAfter is how long a request's restart lookup must have
	// stayed undecided before its issuer's condition says so: one failed
	// call is retried, and is no news for the operator.
	lookupWarnAfter = time.Minute
	// lookupStale is how long an undecided request is remembered without
	// another lookup: longer than the longest requeue of a waiting request.
	lookupStale = 10 * time.Minute
	// lookupRequestsMax bounds the requests remembered; past it, new ones
	// are left out, which only makes a count in a warning smaller.
	lookupRequestsMax = 1 << 14
)

// lookupHealth remembers, per request, a restart lookup that cannot
// decide, so that the issuer's check can tell the operator when lookups
// keep failing: the requests themselves only wait.
type lookupHealth struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	byUID map[types.UID]undecidedRequest
}

type undecidedRequest struct {
	issuer    string
	since     time.Time
	lastSeen  time.Time
	lastCause string
}

func newLookupHealth(clk clock.PassiveClock) *lookupHealth {
	return &lookupHealth{clock: clk, byUID: map[types.UID]undecidedRequest{}}
}

// undecided records that the request's lookup could not decide.
func (h *lookupHealth) undecided(issuer string, uid types.UID, und *undecidedLookup) {
	now := h.clock.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.byUID[uid]
	if !ok {
		if len(h.byUID) >= lookupRequestsMax {
			return
		}
		e = undecidedRequest{issuer: issuer, since: now}
	}
	e.lastSeen, e.lastCause = now, und.cause.Error()
	h.byUID[uid] = e
}

// decided forgets the request: its lookup decided, or it settled.
func (h *lookupHealth) decided(uid types.UID) {
	h.mu.Lock()
	delete(h.byUID, uid)
	h.mu.Unlock()
}

// warning describes the issuer's requests whose lookups have stayed
// undecided for lookupWarnAfter or longer, empty when there are none.
func (h *lookupHealth) warning(issuer string) string {
	now := h.clock.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	var n int
	var oldest undecidedRequest
	for uid, e := range h.byUID {
		if now.Sub(e.lastSeen) > lookupStale {
			delete(h.byUID, uid)
			continue
		}
		if e.issuer != issuer || now.Sub(e.since) < lookupWarnAfter {
			continue
		}
		if n == 0 || e.since.Before(oldest.since) {
			oldest = e
		}
		n++
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("the restart lookup of %d request(s) cannot decide whether their earlier submissions reached Atlas, the oldest since %s (%s); they wait rather than risk a second certificate",
		n, oldest.since.UTC().Format(time.RFC3339), oldest.lastCause)
}
