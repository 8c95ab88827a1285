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
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/failpoint"
)

type crashed struct{}

// signUntilCrash runs Sign with a failpoint that "crashes" (panics) at
// point, as the chaos runs' SIGKILL does.
func signUntilCrash(t *testing.T, e *env, req Request, point string) {
	t.Helper()
	e.signer.Failpoint = func(name string) {
		if name == point {
			panic(crashed{})
		}
	}
	defer func() {
		e.signer.Failpoint = nil
		if r := recover(); r == nil {
			t.Fatalf("Sign did not reach %s", point)
		} else if _, ok := r.(crashed); !ok {
			panic(r)
		}
	}()
	_, _ = e.signer.Sign(context.Background(), req, e.iss)
}

// TestLookupFetchesEachCandidateOnce: after a crash between the POST and
// the persisted serial, every request submitted in the same second looks
// through the same candidates. Each candidate's key is fetched once per
// process, not once per request: before, n such requests cost about n²/2
// GETs, and under Atlas faults, where any failed GET fails the whole
// lookup, lookups of a busy second hardly ever completed.
func TestLookupFetchesEachCandidateOnce(t *testing.T) {
	const n = 8
	e := newEnv(t, fake.Options{})
	var reqs []Request
	for i := range n {
		req := e.request(fmt.Sprintf("r%d.example.com", i), false)
		req.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
		signUntilCrash(t, e, req, failpoint.AfterSubmit)
		if req.Object.GetAnnotations()[v1alpha1.SerialAnnotation] != "" {
			t.Fatal("serial persisted before the crash")
		}
		reqs = append(reqs, req)
	}
	e.newSigner() // the restart
	before := e.calls(fake.OpRetrieveCertificate)
	for _, req := range reqs {
		// The informer has caught up: this is the request's latest version.
		req.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
		if _, err := e.signer.Sign(context.Background(), req, e.iss); err != nil {
			t.Fatalf("%s: %v", req.Object.GetName(), err)
		}
	}
	// n candidate fetches at most, and one GET per request to collect it.
	if got := e.calls(fake.OpRetrieveCertificate) - before; got > 2*n {
		t.Errorf("GETs after the restart = %d, want at most %d", got, 2*n)
	}
	if e.calls(fake.OpRequestCertificate) != n || e.fake.Duplicates() != 0 {
		t.Errorf("POSTs = %d, duplicates = %d", e.calls(fake.OpRequestCertificate), e.fake.Duplicates())
	}
}

// TestLookupRejectedCandidate: the certificate submitted before a crash was
// rejected by the CA, so its GET answers 422. That candidate is decided (it
// was never issued, so there is nothing to collect and nothing a new
// submission would duplicate): the request does not fail, it waits out the
// lookup grace and is then submitted anew.
func TestLookupRejectedCandidate(t *testing.T) {
	e := newEnv(t, fake.Options{})
	e.fake.RejectNext(1)
	req := e.request("rejected.example.com", false)
	req.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
	signUntilCrash(t, e, req, failpoint.AfterSubmit)
	e.newSigner()

	req.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
	_, err := e.signer.Sign(context.Background(), req, e.iss)
	if !errors.As(err, &signer.PendingError{}) {
		t.Fatalf("within the grace: err = %v, want PendingError", err)
	}
	e.clock.SetTime(e.clock.Now().Add(e.signer.LookupGrace))
	req.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
	if _, err := e.signer.Sign(context.Background(), req, e.iss); err != nil {
		t.Fatalf("after the grace: %v", err)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 2 {
		t.Errorf("POSTs = %d, want 2: the rejected one and its replacement", n)
	}
}

// TestLookupUnreadableCandidate: a candidate whose GET fails leaves the
// lookup undecided, however long it lasts: the request waits (PendingError,
// which has no retry budget) instead of failing, since a failed request is
// followed by a new one and a second POST while the candidate may be the
// certificate already submitted. Once the candidate can be read, it is
// collected.
func TestLookupUnreadableCandidate(t *testing.T) {
	e := newEnv(t, fake.Options{})
	req := e.request("unreadable.example.com", false)
	req.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
	signUntilCrash(t, e, req, failpoint.AfterSubmit)
	e.newSigner()

	e.fake.SetFaults(fake.Faults{ErrorRate: 1, Operations: []string{fake.OpRetrieveCertificate}})
	e.clock.SetTime(e.clock.Now().Add(2 * e.signer.LookupGrace))
	req.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
	_, err := e.signer.Sign(context.Background(), req, e.iss)
	if !errors.As(err, &signer.PendingError{}) || !strings.Contains(err.Error(), "cannot be checked yet") {
		t.Fatalf("err = %v, want a PendingError for the unreadable candidate", err)
	}
	e.fake.SetFaults(fake.Faults{})
	req.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
	if _, err := e.signer.Sign(context.Background(), req, e.iss); err != nil {
		t.Fatal(err)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 1 || e.fake.Duplicates() != 0 {
		t.Errorf("POSTs = %d, duplicates = %d; want 1 and 0", n, e.fake.Duplicates())
	}
}

func TestClassifyCandidate(t *testing.T) {
	status := func(code int) error {
		return fmt.Errorf("retrieve certificate 01AB: %w", &atlas.Error{Operation: "RetrieveCertificate", StatusCode: code})
	}
	cases := []struct {
		name        string
		err         error
		withinGrace bool
		want        candidateOutcome
	}{
		{"422 rejected", status(http.StatusUnprocessableEntity), true, candidateNoMatch},
		{"404 within the grace", status(http.StatusNotFound), true, candidateUndecided},
		{"404 after the grace", status(http.StatusNotFound), false, candidateNoMatch},
		{"400", status(http.StatusBadRequest), false, candidateUndecided},
		{"409", status(http.StatusConflict), false, candidateUndecided},
		{"503", status(http.StatusServiceUnavailable), false, candidateUndecided},
		{"transport", errors.New("connection reset by peer"), false, candidateUndecided},
		{"401", status(http.StatusUnauthorized), false, candidateFatal},
		{"402", status(http.StatusPaymentRequired), false, candidateFatal},
	}
	for _, tc := range cases {
		if got := classifyCandidate(tc.err, tc.withinGrace); got != tc.want {
			t.Errorf("%s: classifyCandidate = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// twin is another CertificateRequest object with the same CSR.
func twin(e *env, req Request, name string) Request {
	cr := req.Object.DeepCopyObject().(client.Object)
	cr.SetName(name)
	cr.SetUID(types.UID("uid-" + name))
	cr.SetAnnotations(nil)
	cr.SetResourceVersion(strconv.Itoa(e.ann.rv))
	return Request{Object: cr, Details: req.Details}
}

// TestSameKeyAndContentsIssuedOnce: cert-manager at times creates a second
// CertificateRequest with the same private key and contents moments after
// the first was issued (its trigger and request controllers race; the chaos
// run met it). Atlas must not issue, and bill, a second certificate for
// it: the second request gets the first one's certificate.
func TestSameKeyAndContentsIssuedOnce(t *testing.T) {
	e := newEnv(t, fake.Options{})
	first := e.request("twin.example.com", false)
	b1, err := e.signer.Sign(context.Background(), first, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	second := twin(e, first, "twin-2")
	b2, err := e.signer.Sign(context.Background(), second, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 1 || e.fake.Duplicates() != 0 {
		t.Fatalf("POSTs = %d, duplicates = %d; want 1 and 0", n, e.fake.Duplicates())
	}
	if b1.Serial != b2.Serial || !bytes.Equal(b1.ChainPEM, b2.ChainPEM) {
		t.Error("the second request did not get the first one's certificate")
	}
	if second.Object.GetAnnotations()[v1alpha1.SerialAnnotation] != b1.Serial {
		t.Error("the reused serial was not persisted on the second request")
	}

	// Other contents for the same key are another certificate.
	other := e.request("other.example.com", false)
	other.Details.CSR = first.Details.CSR
	other.Details.Duration = 48 * time.Hour
	other.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
	if _, err := e.signer.Sign(context.Background(), other, e.iss); err != nil {
		t.Fatal(err)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 2 {
		t.Errorf("POSTs = %d after a request with another duration, want 2", n)
	}

	// And after the window, the same contents are issued anew.
	e.clock.SetTime(e.clock.Now().Add(2 * time.Minute))
	late := twin(e, first, "twin-3")
	if _, err := e.signer.Sign(context.Background(), late, e.iss); err != nil {
		t.Fatal(err)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 3 {
		t.Errorf("POSTs = %d after the window, want 3", n)
	}
}
