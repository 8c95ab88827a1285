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

// Package ttlcache is a size-bounded cache whose entries expire. It exists
// beside apimachinery's LRUExpireCache because the signer needs two things
// that one lacks: an entry's life can be cut short without being extended
// (a request that settled), and an entry is gone at the very instant it
// expires, not one tick later.
package ttlcache

import (
	"container/list"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Cache maps keys to values that expire after a TTL. When full, it drops
// the least recently used entry. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	clock      clock.PassiveClock
	maxSize    int
	sweepEvery time.Duration

	mu        sync.Mutex
	lastSweep time.Time
	// lru holds *entry[K, V], most recently used at the front.
	lru   *list.List
	index map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key     K
	value   V
	expires time.Time
}

// New returns an empty Cache holding at most maxSize entries (at least one),
// reading the time from clk. Set drops the expired entries at most once per
// sweepEvery, so that they free their memory without a goroutine and
// without a scan on every write.
func New[K comparable, V any](maxSize int, sweepEvery time.Duration, clk clock.PassiveClock) *Cache[K, V] {
	return &Cache[K, V]{clock: clk, maxSize: max(maxSize, 1), sweepEvery: sweepEvery, lru: list.New(), index: map[K]*list.Element{}}
}

// Get returns the value for key if it is present and has not expired.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.index[key]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if !c.clock.Now().Before(e.expires) {
		c.removeLocked(el)
		var zero V
		return zero, false
	}
	c.lru.MoveToFront(el)
	return e.value, true
}

// Set stores value for key for ttl from now, replacing any earlier value.
func (c *Cache[K, V]) Set(key K, value V, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if now.Sub(c.lastSweep) >= c.sweepEvery {
		c.sweepLocked()
	}
	expires := now.Add(ttl)
	if el, ok := c.index[key]; ok {
		e := el.Value.(*entry[K, V])
		e.value, e.expires = value, expires
		c.lru.MoveToFront(el)
		return
	}
	c.index[key] = c.lru.PushFront(&entry[K, V]{key: key, value: value, expires: expires})
	if c.lru.Len() > c.maxSize {
		c.sweepLocked()
	}
	for c.lru.Len() > c.maxSize {
		c.removeLocked(c.lru.Back())
	}
}

// ExpireWithin makes key expire no later than ttl from now; it never
// extends an entry's life. An absent key stays absent.
func (c *Cache[K, V]) ExpireWithin(key K, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.index[key]
	if !ok {
		return
	}
	e := el.Value.(*entry[K, V])
	if limit := c.clock.Now().Add(ttl); e.expires.After(limit) {
		e.expires = limit
	}
}

// Delete drops key's entry, if any.
func (c *Cache[K, V]) Delete(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[key]; ok {
		c.removeLocked(el)
	}
}

// DeleteFunc drops every entry for which drop returns true and returns
// how many it dropped. drop runs with the cache locked, so it must not
// call the cache.
func (c *Cache[K, V]) DeleteFunc(drop func(K, V) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*entry[K, V]); drop(e.key, e.value) {
			c.removeLocked(el)
			n++
		}
		el = next
	}
	return n
}

// Any reports whether match returns true for an entry, expired ones that
// no sweep has dropped yet included. match runs with the cache locked, so
// it must not call the cache.
func (c *Cache[K, V]) Any(match func(K, V) bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if e := el.Value.(*entry[K, V]); match(e.key, e.value) {
			return true
		}
	}
	return false
}

// Len returns how many entries the cache holds, expired ones that no sweep
// has dropped yet included: what it costs in memory.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// sweepLocked drops every expired entry, so that a full cache evicts live
// entries only when it must.
func (c *Cache[K, V]) sweepLocked() {
	now := c.clock.Now()
	c.lastSweep = now
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		if !now.Before(el.Value.(*entry[K, V]).expires) {
			c.removeLocked(el)
		}
		el = next
	}
}

func (c *Cache[K, V]) removeLocked(el *list.Element) {
	delete(c.index, el.Value.(*entry[K, V]).key)
	c.lru.Remove(el)
}
