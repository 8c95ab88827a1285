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

package ttlcache

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// op is one step of a scenario: advance the clock by wait, then act.
type op struct {
	wait time.Duration
	do   string // "set", "get", "expire", "delete", "deleteval", "any" or "len"
	key  string
	val  int
	ttl  time.Duration
	// want is the value a get must return (0: a miss) or the count len must
	// return.
	want int
}

func TestCache(t *testing.T) {
	tests := []struct {
		name    string
		maxSize int
		ops     []op
	}{
		{"hit before the TTL, miss at it", 10, []op{
			{do: "set", key: "a", val: 1, ttl: time.Minute},
			{wait: time.Minute - time.Nanosecond, do: "get", key: "a", want: 1},
			{wait: time.Nanosecond, do: "get", key: "a", want: 0},
		}},
		{"absent key misses", 10, []op{
			{do: "get", key: "a", want: 0},
		}},
		{"set replaces the value and the TTL", 10, []op{
			{do: "set", key: "a", val: 1, ttl: time.Second},
			{do: "set", key: "a", val: 2, ttl: time.Minute},
			{wait: 2 * time.Second, do: "get", key: "a", want: 2},
		}},
		{"expire within shortens", 10, []op{
			{do: "set", key: "a", val: 1, ttl: time.Minute},
			{do: "expire", key: "a", ttl: 10 * time.Second},
			{wait: 10*time.Second - time.Nanosecond, do: "get", key: "a", want: 1},
			{wait: time.Nanosecond, do: "get", key: "a", want: 0},
		}},
		{"expire within never extends", 10, []op{
			{do: "set", key: "a", val: 1, ttl: 10 * time.Second},
			{wait: 5 * time.Second, do: "expire", key: "a", ttl: time.Hour},
			{wait: 5 * time.Second, do: "get", key: "a", want: 0},
		}},
		{"expire within on an absent key adds nothing", 10, []op{
			{do: "expire", key: "a", ttl: time.Hour},
			{do: "len", want: 0},
		}},
		{"full cache drops the least recently used", 2, []op{
			{do: "set", key: "a", val: 1, ttl: time.Hour},
			{do: "set", key: "b", val: 2, ttl: time.Hour},
			{do: "get", key: "a", want: 1},
			{do: "set", key: "c", val: 3, ttl: time.Hour},
			{do: "get", key: "b", want: 0},
			{do: "get", key: "a", want: 1},
			{do: "get", key: "c", want: 3},
		}},
		{"full cache drops expired entries before live ones", 2, []op{
			{do: "set", key: "a", val: 1, ttl: time.Hour},
			{do: "set", key: "b", val: 2, ttl: time.Second},
			{do: "get", key: "b", want: 2},
			{wait: time.Second, do: "set", key: "c", val: 3, ttl: time.Hour},
			{do: "get", key: "a", want: 1},
			{do: "get", key: "c", want: 3},
		}},
		{"delete drops one key", 10, []op{
			{do: "set", key: "a", val: 1, ttl: time.Hour},
			{do: "set", key: "b", val: 2, ttl: time.Hour},
			{do: "delete", key: "a"},
			{do: "delete", key: "absent"},
			{do: "get", key: "a", want: 0},
			{do: "get", key: "b", want: 2},
		}},
		{"delete func drops the matching entries and counts them", 10, []op{
			{do: "set", key: "a", val: 1, ttl: time.Hour},
			{do: "set", key: "b", val: 2, ttl: time.Hour},
			{do: "set", key: "c", val: 1, ttl: time.Hour},
			{do: "deleteval", val: 1, want: 2},
			{do: "len", want: 1},
			{do: "get", key: "b", want: 2},
			{do: "deleteval", val: 1, want: 0},
		}},
		{"any finds a matching entry", 10, []op{
			{do: "any", val: 1, want: 0},
			{do: "set", key: "a", val: 1, ttl: time.Hour},
			{do: "any", val: 1, want: 1},
			{do: "any", val: 2, want: 0},
		}},
		{"len counts expired entries until they are dropped", 10, []op{
			{do: "set", key: "a", val: 1, ttl: time.Second},
			{do: "set", key: "b", val: 2, ttl: time.Minute},
			{wait: time.Second, do: "len", want: 2},
			{do: "get", key: "a", want: 0},
			{do: "len", want: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(time.Unix(1_700_000_000, 0))
			c := New[string, int](tt.maxSize, time.Hour, clk)
			for i, o := range tt.ops {
				clk.SetTime(clk.Now().Add(o.wait))
				switch o.do {
				case "set":
					c.Set(o.key, o.val, o.ttl)
				case "expire":
					c.ExpireWithin(o.key, o.ttl)
				case "any":
					if got := c.Any(func(_ string, v int) bool { return v == o.val }); got != (o.want == 1) {
						t.Errorf("op %d: Any(value %d) = %v", i, o.val, got)
					}
				case "delete":
					c.Delete(o.key)
				case "deleteval":
					if n := c.DeleteFunc(func(_ string, v int) bool { return v == o.val }); n != o.want {
						t.Errorf("op %d: DeleteFunc(value %d) dropped %d, want %d", i, o.val, n, o.want)
					}
				case "get":
					got, ok := c.Get(o.key)
					if ok != (o.want != 0) || got != o.want {
						t.Errorf("op %d: Get(%q) = %d, %v; want %d", i, o.key, got, ok, o.want)
					}
				case "len":
					if got := c.Len(); got != o.want {
						t.Errorf("op %d: Len() = %d, want %d", i, got, o.want)
					}
				default:
					t.Fatalf("op %d: unknown %q", i, o.do)
				}
			}
		})
	}
}

// Set sweeps expired entries once per sweepEvery, so they do not hold
// memory until the cache fills.
func TestSetSweepsExpiredEntries(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1_700_000_000, 0))
	c := New[string, int](10, 10*time.Second, clk)
	c.Set("a", 1, time.Second)
	clk.SetTime(clk.Now().Add(5 * time.Second))
	c.Set("b", 2, time.Hour)
	if n := c.Len(); n != 2 {
		t.Fatalf("swept before sweepEvery: %d entries, want 2", n)
	}
	clk.SetTime(clk.Now().Add(5 * time.Second))
	c.Set("c", 3, time.Hour)
	if n := c.Len(); n != 2 {
		t.Errorf("after sweepEvery the expired entry is still held (%d entries, want 2)", n)
	}
}
