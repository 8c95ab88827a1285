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
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// siblingsOf makes the signer see sibs as the other requests of a
// request's Certificate revision.
func siblingsOf(e *env, sibs ...Sibling) {
	e.signer.Siblings = func(_ context.Context, obj client.Object) ([]Sibling, error) {
		var out []Sibling
		for _, s := range sibs {
			if s.Object.GetUID() != obj.GetUID() {
				out = append(out, s)
			}
		}
		return out, nil
	}
}

// sib is req as a sibling whose status holds chain.
func sib(req Request, chain []byte) Sibling { return Sibling{Request: req, Certificate: chain} }

// warnings records the signer's warnings by reason.
func warnings(e *env) map[string][]string {
	got := map[string][]string{}
	e.signer.Warn = func(_ client.Object, reason, message string) { got[reason] = append(got[reason], message) }
	return got
}

// A request whose sibling (same revision, key and contents) was answered by
// a process that is gone takes the sibling's certificate: no second POST.
func TestSiblingServesAfterRestart(t *testing.T) {
	e := newEnv(t, fake.Options{})
	first := e.request("sibling.example.com", false)
	issued, err := e.signer.Sign(context.Background(), first, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	e.newSigner() // a new process: no memory of the first submission
	second := e.requestFor("sibling-2", first.Details.CSR)
	siblingsOf(e, sib(first, issued.ChainPEM), sib(second, nil))
	b, err := e.signer.Sign(context.Background(), second, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.calls("RequestCertificate"); n != 1 {
		t.Errorf("POSTs = %d, want 1", n)
	}
	if e.fake.Duplicates() != 0 {
		t.Errorf("duplicates = %d", e.fake.Duplicates())
	}
	if want := issued.Serial; b.Serial != want || second.Object.GetAnnotations()[v1alpha1.SerialAnnotation] != want {
		t.Errorf("served %s, persisted %s; want the sibling's %s", b.Serial, second.Object.GetAnnotations()[v1alpha1.SerialAnnotation], want)
	}
}

// A sibling with another key, or a serial whose certificate is for another
// key, serves nothing: the request is submitted on its own, and a forged
// serial is named in a warning.
func TestSiblingOfAnotherKeyOrForgedSerial(t *testing.T) {
	e := newEnv(t, fake.Options{})
	other := e.request("sibling-other.example.com", false)
	otherIssued, err := e.signer.Sign(context.Background(), other, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	e.newSigner()
	warned := warnings(e)
	req := e.request("sibling-own.example.com", false)
	// A sibling whose CSR is the request's own, with the other request's
	// serial written on it: the requester's forgery.
	forged := e.requestFor("sibling-forged", req.Details.CSR)
	forged.Object.SetAnnotations(map[string]string{v1alpha1.SerialAnnotation: otherIssued.Serial})
	siblingsOf(e, sib(other, otherIssued.ChainPEM), sib(forged, nil), sib(req, nil))
	b, err := e.signer.Sign(context.Background(), req, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.calls("RequestCertificate"); n != 2 {
		t.Errorf("POSTs = %d, want 2 (the other request's and this one's)", n)
	}
	if b.Serial == otherIssued.Serial {
		t.Error("served the certificate of another key")
	}
	if msgs := warned["SiblingSerialIgnored"]; len(msgs) != 1 || !strings.Contains(msgs[0], "sibling-forged") {
		t.Errorf("warnings = %v, want one naming sibling-forged", warned)
	}
}

// Of two siblings under way at once, the later waits for the earlier's
// certificate, saying so, and then takes it; the earlier never waits.
func TestSiblingUnderWayIsWaitedFor(t *testing.T) {
	e := newEnv(t, fake.Options{PendingFor: time.Minute})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	csr := csrPEM(t, key, "sibling-wait.example.com")
	earlier := e.requestFor("sibling-wait-1", csr)
	e.clock.SetTime(e.clock.Now().Add(time.Second))
	later := e.requestFor("sibling-wait-2", csr)
	// The earlier one's intent is written and its POST not yet answered.
	earlier.Object.SetAnnotations(map[string]string{v1alpha1.IntentAnnotation: "written"})
	siblingsOf(e, sib(earlier, nil), sib(later, nil))
	_, err = e.signer.Sign(context.Background(), later, e.iss)
	var pending signer.PendingError
	if !errors.As(err, &pending) || !strings.Contains(err.Error(), "sibling-wait-1") || pending.RequeueAfter != siblingPoll {
		t.Fatalf("err = %v, want a PendingError naming sibling-wait-1", err)
	}
	if n := e.calls("RequestCertificate"); n != 0 {
		t.Fatalf("POSTs = %d while the earlier sibling is under way", n)
	}
	// The earlier one does not wait for the later: it submits.
	earlier.Object.SetAnnotations(nil)
	if _, err := e.signer.Sign(context.Background(), earlier, e.iss); !errors.As(err, &pending) {
		t.Fatalf("earlier: err = %v, want PendingError while Atlas issues", err)
	}
	e.newSigner()
	siblingsOf(e, sib(earlier, nil), sib(later, nil))
	if _, err := e.signer.Sign(context.Background(), later, e.iss); !errors.As(err, &pending) {
		t.Fatalf("later: err = %v, want PendingError while Atlas issues the earlier's certificate", err)
	}
	e.clock.SetTime(e.clock.Now().Add(2 * time.Minute))
	b, err := e.signer.Sign(context.Background(), later, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.calls("RequestCertificate"); n != 1 || b.Serial != earlier.Object.GetAnnotations()[v1alpha1.SerialAnnotation] {
		t.Errorf("POSTs = %d, served %s; want 1 and the earlier's %s", n, b.Serial, earlier.Object.GetAnnotations()[v1alpha1.SerialAnnotation])
	}
}

// A sibling whose submission never ends is waited for only within the
// lookup grace of its creation.
func TestSiblingWaitIsBounded(t *testing.T) {
	e := newEnv(t, fake.Options{})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	csr := csrPEM(t, key, "sibling-stuck.example.com")
	stuck := e.requestFor("sibling-stuck-1", csr)
	stuck.Object.SetAnnotations(maps.Clone(map[string]string{v1alpha1.IntentAnnotation: "written"}))
	e.clock.SetTime(e.clock.Now().Add(e.signer.LookupGrace))
	req := e.requestFor("sibling-stuck-2", csr)
	siblingsOf(e, sib(stuck, nil), sib(req, nil))
	if _, err := e.signer.Sign(context.Background(), req, e.iss); err != nil {
		t.Fatal(err)
	}
	if n := e.calls("RequestCertificate"); n != 1 {
		t.Errorf("POSTs = %d, want 1", n)
	}
}
