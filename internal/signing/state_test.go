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

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

func TestCompletedLifecycle(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	clk := clocktesting.NewFakePassiveClock(t0)
	at := func(d time.Duration) { clk.SetTime(t0.Add(d)) }
	c := newIssuedCertificates(5*time.Minute, clk)
	c.put("a", issuedCertificate{serial: "1", leaf: "leaf-a"})
	c.put("b", issuedCertificate{serial: "2", leaf: "leaf-b"})

	at(time.Second)
	if e, ok := c.get("a"); !ok || e.serial != "1" || e.leaf != "leaf-a" {
		t.Fatalf("get a = %+v, %v", e, ok)
	}
	// Settled: kept for the grace period, for a reconcile that read the
	// object just before the informer caught up, then gone.
	c.settled("a")
	at(time.Second + c.grace - time.Millisecond)
	if _, ok := c.get("a"); !ok {
		t.Error("a settled entry went before its grace period ended")
	}
	at(time.Second + c.grace)
	if _, ok := c.get("a"); ok {
		t.Error("a settled entry outlived its grace period")
	}
	// Not settled: the TTL.
	at(5*time.Minute - time.Millisecond)
	if _, ok := c.get("b"); !ok {
		t.Error("b went before its TTL")
	}
	at(5 * time.Minute)
	if _, ok := c.get("b"); ok {
		t.Error("b outlived its TTL")
	}
	// Settling an unknown request is a no-op; a later settle never extends.
	at(0)
	c.settled("unknown")
	c.put("d", issuedCertificate{serial: "4"})
	c.settled("d")
	at(5 * time.Second)
	c.settled("d")
	at(c.grace)
	if _, ok := c.get("d"); ok {
		t.Error("a second settle extended the entry")
	}
	// Sweeps bound the map.
	at(6 * time.Minute)
	c.put("e", issuedCertificate{serial: "5"})
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
	e.clock.SetTime(e.clock.Now().Add(e.signer.issued.grace))
	before = e.fake.TotalCalls()
	if _, err := e.signer.Sign(context.Background(), twin(e, first, "twin-3"), e.iss); err != nil {
		t.Fatal(err)
	}
	if n, posts := e.fake.TotalCalls()-before, e.calls(fake.OpRequestCertificate); n != 1 || posts != 1 {
		t.Errorf("a twin after the grace cost %d calls (POSTs in all %d), want 1 GET and still 1 POST", n, posts)
	}
}
