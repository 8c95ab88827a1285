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

// Package gcpace sets GOGC after every garbage collection so that the heap
// may grow by a fixed number of bytes between collections while the live
// heap is small, and by a fixed share of it once it is large.
//
// A fixed GOGC trades memory for CPU in proportion to the live heap: a low
// one keeps a large heap tight but collects a small heap every few
// megabytes allocated, and the manager's live heap is small most of the
// time (watch events and API answers are short-lived). A fixed headroom
// costs a small heap a few megabytes and collects it several times less
// often. A mid-sized heap (a burst of thousands of requests) is where
// memory is scarcest, so a ceiling on the goal takes the headroom back as
// the heap grows, and past the crossover the share takes over: a large
// heap is never given more room than the low GOGC would give it.
package gcpace

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// Policy is how much the heap may grow between collections.
type Policy struct {
	// Headroom is the growth, in bytes, a small live heap is allowed.
	Headroom uint64
	// MinPercent is the GOGC the policy never goes below: a live heap
	// larger than Headroom*100/MinPercent grows by MinPercent of itself.
	MinPercent int
	// Ceiling, when not zero, is the heap goal the Headroom may take a
	// live heap to: a live heap closer to it than Headroom may grow only
	// up to it, and never by less than MinPercent of itself.
	Ceiling uint64
}

// heapMinimum is the runtime's smallest heap goal at GOGC=100. The goal
// never falls below heapMinimum*GOGC/100, so a large GOGC for a small heap
// would let it grow far past Headroom before its first collections.
const heapMinimum = 4 << 20

// Percent returns the GOGC that lets a live heap of live bytes grow by
// max(growth, live*MinPercent/100) before the next collection, where growth
// is Headroom cut so that live+growth stays within Ceiling, and no higher
// than keeps the runtime's minimum goal within live+growth.
func (p Policy) Percent(live uint64) int {
	growth := p.growth(live)
	limit := (live + growth) / (heapMinimum / 100)
	pct := limit
	if live > 0 {
		// Split so that growth*100 cannot overflow.
		pct = min(growth/live*100+growth%live*100/live, limit)
	}
	return max(int(min(pct, math.MaxInt32)), p.MinPercent)
}

// growth is Headroom, or what is left of it below Ceiling.
func (p Policy) growth(live uint64) uint64 {
	switch {
	case p.Ceiling == 0:
		return p.Headroom
	case live >= p.Ceiling:
		return 0
	}
	return min(p.Headroom, p.Ceiling-live)
}

// Runtime is the part of the Go runtime Run reads and sets.
type Runtime interface {
	// LiveHeap is the heap the last collection found live, in bytes.
	LiveHeap() uint64
	// SetGCPercent sets GOGC and returns the previous value.
	SetGCPercent(percent int) int
}

// Run sets GOGC from the live heap each time cycles delivers, until ctx
// ends or cycles is closed. It writes GOGC only when the value changes.
func (p Policy) Run(ctx context.Context, rt Runtime, cycles <-chan struct{}) {
	last := -1
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-cycles:
			if !ok {
				return
			}
		}
		if pct := p.Percent(rt.LiveHeap()); pct != last {
			rt.SetGCPercent(pct)
			last = pct
		}
	}
}

// GoRuntime is the process's own runtime.
type GoRuntime struct{}

// liveHeapMetric is the heap marked live by the last completed collection.
const liveHeapMetric = "/gc/heap/live:bytes"

// LiveHeap reads the live heap from runtime/metrics, which costs no stop
// of the world (runtime.ReadMemStats does).
func (GoRuntime) LiveHeap() uint64 {
	s := []metrics.Sample{{Name: liveHeapMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// SetGCPercent calls debug.SetGCPercent.
func (GoRuntime) SetGCPercent(percent int) int { return debug.SetGCPercent(percent) }

// sentinel is allocated only to be collected: its cleanup tells that a
// collection has run. The pointer keeps it out of the tiny allocator, whose
// blocks can outlive the objects in them.
type sentinel struct{ _ *byte }

// Cycles returns a channel that receives after every garbage collection
// until ctx ends. A collection that runs while the previous one is still
// unread is folded into it: Run needs only the latest live heap.
func Cycles(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	var arm func(struct{})
	arm = func(struct{}) {
		if ctx.Err() != nil {
			return
		}
		select {
		case ch <- struct{}{}:
		default:
		}
		runtime.AddCleanup(new(sentinel), arm, struct{}{})
	}
	runtime.AddCleanup(new(sentinel), arm, struct{}{})
	return ch
}
