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

package gcpace

import (
	"context"
	"runtime"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	plain := Policy{Headroom: 8 * mib, MinPercent: 25}
	capped := Policy{Headroom: 16 * mib, MinPercent: 25, Ceiling: 32 * mib}
	for _, tc := range []struct {
		name string
		p    Policy
		live uint64
		want int
	}{
		{"nothing live yet: the minimum goal is the headroom", plain, 0, 200},
		{"tiny heap: bounded by the minimum goal", plain, 1 * mib, 225},
		{"headroom is twice the heap", plain, 4 * mib, 200},
		{"headroom equals the heap", plain, 8 * mib, 100},
		{"small heap: the headroom", plain, 20 * mib, 40},
		{"crossover", plain, 32 * mib, 25},
		{"large heap: the share", plain, 200 * mib, 25},
		{"huge heap: no overflow", plain, 1 << 50, 25},
		{"ceiling, small heap: the whole headroom", capped, 8 * mib, 200},
		{"ceiling, the headroom just reaches it", capped, 16 * mib, 100},
		{"ceiling, mid-sized heap: grows to it", capped, 20 * mib, 60},
		{"ceiling, the share overtakes what is left", capped, 26 * mib, 25},
		{"ceiling, at it: the share", capped, 32 * mib, 25},
		{"ceiling, past it: the share", capped, 200 * mib, 25},
		{"ceiling, huge heap: no overflow", capped, 1 << 50, 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Percent(tc.live); got != tc.want {
				t.Errorf("Percent(%d MiB) = %d, want %d", tc.live/mib, got, tc.want)
			}
		})
	}
}

// TestPercentKeepsTheGoal checks the promise the package makes for every
// heap: the runtime's goal, max(live*(1+GOGC/100), heapMinimum*GOGC/100),
// lies between live plus the smaller and live plus the larger of the
// growth (Headroom, cut at Ceiling) and the MinPercent share.
func TestPercentKeepsTheGoal(t *testing.T) {
	for _, p := range []Policy{
		{Headroom: 8 * mib, MinPercent: 25},
		{Headroom: 16 * mib, MinPercent: 25},
		{Headroom: 16 * mib, MinPercent: 25, Ceiling: 32 * mib},
	} {
		for live := uint64(mib / 4); live < 1<<34; live = live*5/4 + 1 {
			pct := uint64(p.Percent(live))
			goal := max(live+live*pct/100, heapMinimum*pct/100)
			share := live * uint64(p.MinPercent) / 100
			growth := p.Headroom
			if p.Ceiling > 0 {
				growth = min(growth, max(p.Ceiling, live)-live)
			}
			lo, hi := live+min(growth, share), live+max(growth, share)
			// One percent of slack for the integer percentage.
			if goal+live/100+1 < lo || goal > hi+hi/100+1 {
				t.Fatalf("headroom %d MiB, live %d: GOGC %d gives a goal of %d, want it in [%d, %d]", p.Headroom/mib, live, pct, goal, lo, hi)
			}
		}
	}
}

// fakeRuntime answers LiveHeap with lives in turn and records each
// SetGCPercent. Only Run's goroutine touches it until Run returns.
type fakeRuntime struct {
	lives []uint64
	sets  []int
}

func (f *fakeRuntime) LiveHeap() uint64 {
	live := f.lives[0]
	f.lives = f.lives[1:]
	return live
}

func (f *fakeRuntime) SetGCPercent(p int) int {
	prev := 100
	if n := len(f.sets); n > 0 {
		prev = f.sets[n-1]
	}
	f.sets = append(f.sets, p)
	return prev
}

func TestRunSetsOnChangeOnly(t *testing.T) {
	lives := []uint64{4 * mib, 4 * mib, 8 * mib, 200 * mib, 300 * mib, 8 * mib}
	rt := &fakeRuntime{lives: lives}
	cycles := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		Policy{Headroom: 8 * mib, MinPercent: 25}.Run(t.Context(), rt, cycles)
	}()
	for range lives {
		cycles <- struct{}{}
	}
	close(cycles)
	<-done
	want := []int{200, 100, 25, 100}
	if len(rt.sets) != len(want) {
		t.Fatalf("GOGC set to %v, want %v", rt.sets, want)
	}
	for i := range want {
		if rt.sets[i] != want[i] {
			t.Fatalf("GOGC set to %v, want %v", rt.sets, want)
		}
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Policy{Headroom: mib, MinPercent: 25}.Run(ctx, &fakeRuntime{}, make(chan struct{}))
	}()
	cancel()
	<-done
}

func TestCyclesDeliversAfterCollections(t *testing.T) {
	cycles := Cycles(t.Context())
	for range 3 {
		// A cleanup runs on its own goroutine after the collection that
		// found its object dead, so collect until it has reported.
		deadline := time.Now().Add(time.Minute)
		for got := false; !got; {
			runtime.GC()
			select {
			case <-cycles:
				got = true
			case <-time.After(10 * time.Millisecond):
				if time.Now().After(deadline) {
					t.Fatal("no collection reported within a minute of forced collections")
				}
			}
		}
	}
}

func TestGoRuntimeReadsTheLiveHeap(t *testing.T) {
	keep := make([][]byte, 64)
	for i := range keep {
		keep[i] = make([]byte, 64<<10)
	}
	runtime.GC()
	if live := (GoRuntime{}).LiveHeap(); live < 4*mib {
		t.Errorf("LiveHeap() = %d after keeping 4 MiB live", live)
	}
	runtime.KeepAlive(keep)
	prev := (GoRuntime{}).SetGCPercent(77)
	if got := (GoRuntime{}).SetGCPercent(prev); got != 77 {
		t.Errorf("SetGCPercent returned %d, want the 77 just set", got)
	}
}
