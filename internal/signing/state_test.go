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

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
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

// A twin of a request this process saw ISSUED moments ago gets the first
// request's certificate with no Atlas call at all, and never a POST.
func TestTwinWithinFreshnessCostsNoCall(t *testing.T) {
	e := newEnv(t, fake.Options{})
	first := e.request("twin.example.com", false)
	b1, err := e.signer.Sign(context.Background(), first, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.SetTime(e.clock.Now().Add(twinFreshness - time.Millisecond))
	before := e.fake.TotalCalls()
	second := twin(e, first, "twin-2")
	b2, err := e.signer.Sign(context.Background(), second, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if n, posts := e.fake.TotalCalls()-before, e.calls(fake.OpRequestCertificate); n != 0 || posts != 1 {
		t.Errorf("the twin cost %d Atlas calls (POSTs in all %d), want none and still 1 POST", n, posts)
	}
	if b1.Serial != b2.Serial || !bytes.Equal(b1.ChainPEM, b2.ChainPEM) || !bytes.Equal(b1.CAPEM, b2.CAPEM) {
		t.Error("the twin did not get the first request's certificate")
	}
	if got := second.Object.GetAnnotations()[v1alpha1.SerialAnnotation]; got != b1.Serial {
		t.Errorf("serial on the twin = %q, want %s persisted", got, b1.Serial)
	}
}

// A twin that comes when the first certificate's status is older than
// twinFreshness costs one GET, which checks that the certificate is still
// ISSUED, and never a POST.
func TestTwinAfterFreshnessCostsOneGet(t *testing.T) {
	e := newEnv(t, fake.Options{})
	first := e.request("late-twin.example.com", false)
	b1, err := e.signer.Sign(context.Background(), first, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.SetTime(e.clock.Now().Add(twinFreshness))
	before, gets := e.fake.TotalCalls(), e.calls(fake.OpRetrieveCertificate)
	b2, err := e.signer.Sign(context.Background(), twin(e, first, "late-twin-2"), e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if n, posts := e.fake.TotalCalls()-before, e.calls(fake.OpRequestCertificate); n != 1 || posts != 1 || e.calls(fake.OpRetrieveCertificate) != gets+1 {
		t.Errorf("the twin cost %d Atlas calls (POSTs in all %d), want 1 GET and still 1 POST", n, posts)
	}
	if b1.Serial != b2.Serial || !bytes.Equal(b1.ChainPEM, b2.ChainPEM) || !bytes.Equal(b1.CAPEM, b2.CAPEM) {
		t.Error("the twin did not get the first request's certificate")
	}
}

// The window counts from when the GET that saw ISSUED was sent, not from
// its answer: a slow answer leaves the twin less of the window.
func TestTwinFreshnessCountsFromTheGet(t *testing.T) {
	e := newEnv(t, fake.Options{})
	first := e.request("slow-get.example.com", false)
	e.fake.SetCallHook(func(op string) {
		if op == fake.OpRetrieveCertificate {
			e.clock.SetTime(e.clock.Now().Add(twinFreshness))
		}
	})
	if _, err := e.signer.Sign(context.Background(), first, e.iss); err != nil {
		t.Fatal(err)
	}
	e.fake.SetCallHook(nil)
	gets := e.calls(fake.OpRetrieveCertificate)
	if _, err := e.signer.Sign(context.Background(), twin(e, first, "slow-get-2"), e.iss); err != nil {
		t.Fatal(err)
	}
	if n := e.calls(fake.OpRetrieveCertificate) - gets; n != 1 {
		t.Errorf("the twin made %d GETs, want 1: the status it would reuse was read a window ago", n)
	}
}

// TestTwinOfRevokedCertificate: a certificate revoked after it was issued
// (here through the Atlas API, as kubectl atlas certificate revoke does) is
// never handed to a twin once its ISSUED status is older than
// twinFreshness, even while this process still keeps it; the twin gets a
// certificate of its own.
func TestTwinOfRevokedCertificate(t *testing.T) {
	e := newEnv(t, fake.Options{})
	first := e.request("revoked-twin.example.com", false)
	b1, err := e.signer.Sign(context.Background(), first, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	cl, _, err := e.signer.Loader.Load(context.Background(), e.iss.Secret, e.iss.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.RevokeCertificate(context.Background(), b1.Serial, atlas.RevokeRequest{RevocationReason: "keyCompromise"}); err != nil {
		t.Fatal(err)
	}
	e.clock.SetTime(e.clock.Now().Add(twinFreshness))
	second := twin(e, first, "revoked-twin-2")
	b2, err := e.signer.Sign(context.Background(), second, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if b2.Serial == b1.Serial || bytes.Equal(b1.ChainPEM, b2.ChainPEM) {
		t.Fatalf("the twin got the revoked certificate %s", b1.Serial)
	}
	if got := second.Object.GetAnnotations()[v1alpha1.SerialAnnotation]; got == b1.Serial {
		t.Error("the revoked serial was persisted on the twin")
	}
	if n := e.calls(fake.OpRequestCertificate); n != 2 {
		t.Errorf("POSTs = %d, want 2: the twin needs a certificate of its own", n)
	}
	// The new certificate serves the next twin.
	b3, err := e.signer.Sign(context.Background(), twin(e, first, "revoked-twin-3"), e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if b3.Serial != b2.Serial || e.calls(fake.OpRequestCertificate) != 2 {
		t.Errorf("third twin got %s (POSTs %d), want %s without a POST", b3.Serial, e.calls(fake.OpRequestCertificate), b2.Serial)
	}
}
