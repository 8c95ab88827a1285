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
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

func TestCompletedLifecycle(t *testing.T) {
	c := newCompleted(5 * time.Minute)
	t0 := time.Unix(1_700_000_000, 0)
	c.put("a", completedEntry{serial: "1", leaf: "leaf-a"}, t0)
	c.put("b", completedEntry{serial: "2", leaf: "leaf-b"}, t0)

	if e, ok := c.get("a", t0.Add(time.Second)); !ok || e.serial != "1" || e.leaf != "leaf-a" {
		t.Fatalf("get a = %+v, %v", e, ok)
	}
	// Settled: kept for the grace period, for a reconcile that read the
	// object just before the informer caught up, then gone.
	c.settled("a", t0.Add(time.Second))
	if _, ok := c.get("a", t0.Add(time.Second+c.grace-time.Millisecond)); !ok {
		t.Error("a settled entry went before its grace period ended")
	}
	if _, ok := c.get("a", t0.Add(time.Second+c.grace)); ok {
		t.Error("a settled entry outlived its grace period")
	}
	// Not settled: the TTL.
	if _, ok := c.get("b", t0.Add(5*time.Minute-time.Millisecond)); !ok {
		t.Error("b went before its TTL")
	}
	if _, ok := c.get("b", t0.Add(5*time.Minute)); ok {
		t.Error("b outlived its TTL")
	}
	// Settling an unknown request is a no-op; a later settle never extends.
	c.settled("unknown", t0)
	c.put("d", completedEntry{serial: "4"}, t0)
	c.settled("d", t0)
	c.settled("d", t0.Add(5*time.Second))
	if _, ok := c.get("d", t0.Add(c.grace)); ok {
		t.Error("a second settle extended the entry")
	}
	// Sweeps bound the map.
	c.put("e", completedEntry{serial: "5"}, t0.Add(6*time.Minute))
	if n := c.len(); n != 1 {
		t.Errorf("after a sweep %d entries remain, want 1", n)
	}
}

// A twin of a request signed moments ago is answered from the certificate
// the signer still keeps: no Atlas call at all. Once the first request has
// settled and its grace has passed, the twin costs one GET, never a POST.
func TestTwinFromMemory(t *testing.T) {
	e := newEnv(t, fake.Options{})
	first := e.request("twin.example.com", false)
	b1, err := e.signer.Sign(context.Background(), first, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	before := e.fake.TotalCalls()
	b2, err := e.signer.Sign(context.Background(), twin(e, first, "twin-2"), e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.TotalCalls() - before; n != 0 {
		t.Errorf("the twin cost %d Atlas calls, want 0", n)
	}
	if b1.Serial != b2.Serial || !bytes.Equal(b1.ChainPEM, b2.ChainPEM) || !bytes.Equal(b1.CAPEM, b2.CAPEM) {
		t.Error("the twin did not get the first request's certificate")
	}

	e.signer.Settled(first.Object.GetUID())
	e.clock.SetTime(e.clock.Now().Add(e.signer.completed.grace))
	before = e.fake.TotalCalls()
	if _, err := e.signer.Sign(context.Background(), twin(e, first, "twin-3"), e.iss); err != nil {
		t.Fatal(err)
	}
	if n, posts := e.fake.TotalCalls()-before, e.calls(fake.OpRequestCertificate); n != 1 || posts != 1 {
		t.Errorf("a twin after the grace cost %d calls (POSTs in all %d), want 1 GET and still 1 POST", n, posts)
	}
}
