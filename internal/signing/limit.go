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
	"context"
	"fmt"
)

// Limiter bounds how many requests are signed against Atlas at once, across
// every issuer and both request kinds: it is what --max-concurrent-requests
// sets. It is separate from the reconcile workers on purpose. A worker also
// spends time on Kubernetes writes (issuer-lib's Initializing and Ready
// status patches) that need no Atlas slot, so N workers as the bound keep
// fewer than N requests with Atlas and leave throughput unused
// (docs/performance.md).
type Limiter struct {
	slots chan struct{}
}

// NewLimiter returns a Limiter of n slots (at least one).
func NewLimiter(n int) *Limiter {
	return &Limiter{slots: make(chan struct{}, max(n, 1))}
}

// acquire waits for a slot; release gives it back. A nil Limiter does not
// limit. Waiting ends with ctx: the manager is stopping, and the request is
// retried by the next leader. m, which may be nil, counts the requests
// waiting and in flight.
func (l *Limiter) acquire(ctx context.Context, m *Metrics) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	select {
	case l.slots <- struct{}{}:
	default:
		m.waiting(1)
		select {
		case l.slots <- struct{}{}:
			m.waiting(-1)
		case <-ctx.Done():
			m.waiting(-1)
			return nil, fmt.Errorf("wait for one of %d Atlas slots: %w", cap(l.slots), ctx.Err())
		}
	}
	m.inFlight(1)
	return func() {
		m.inFlight(-1)
		<-l.slots
	}, nil
}
