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
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/failpoint"
)

// crashedAfterSubmit is a request whose certificate Atlas accepted before
// the manager died, and a restarted signer that must find it.
func crashedAfterSubmit(t *testing.T, e *env, name string) Request {
	t.Helper()
	req := e.request(name, false)
	req.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
	signUntilCrash(t, e, req, failpoint.AfterSubmit)
	if req.Object.GetAnnotations()[v1alpha1.SerialAnnotation] != "" {
		t.Fatal("serial persisted before the crash")
	}
	e.newSigner()
	return req
}

// signAgain is the next reconcile of req, with the informer caught up.
func (e *env) signAgain(req Request) error {
	req.Object.SetResourceVersion(strconv.Itoa(e.ann.rv))
	_, err := e.signer.Sign(context.Background(), req, e.iss)
	return err
}

// TestUndecidedLookupWaits: whatever keeps the restart lookup from
// deciding (the issued stats answering 404 or 500, or an empty page from an
// endpoint that lists nothing at all), the request waits, saying why, for
// as long as it lasts, long past the lookup grace: it neither fails (which
// makes cert-manager submit a new request with a new key) nor is submitted
// again. The issuer's check names the lookups that keep failing. Once the
// stats answer, the certificate submitted before the crash is collected.
func TestUndecidedLookupWaits(t *testing.T) {
	for _, mode := range []string{fake.StatsNotFound, fake.StatsServerError, fake.StatsEmpty} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, fake.Options{})
			req := crashedAfterSubmit(t, e, "undecided.example.com")
			e.fake.SetFaults(fake.Faults{StatsIssued: mode})
			for _, after := range []time.Duration{0, time.Minute, e.signer.LookupGrace, time.Hour} {
				e.clock.SetTime(e.clock.Now().Add(after))
				err := e.signAgain(req)
				if !errors.As(err, &signer.PendingError{}) || !strings.Contains(err.Error(), "cannot decide") {
					t.Fatalf("+%s: err = %v, want the request waiting on an undecided lookup", after, err)
				}
			}
			if n := e.calls(fake.OpRequestCertificate); n != 1 {
				t.Fatalf("POSTs = %d while the lookup cannot decide, want 1", n)
			}
			h, err := e.signer.Check(context.Background(), e.iss)
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			if !strings.Contains(h.LookupWarning, "1 request(s) cannot decide") {
				t.Errorf("the issuer's check says %q, want it to name the undecided lookup", h.LookupWarning)
			}

			e.fake.SetFaults(fake.Faults{})
			if err := e.signAgain(req); err != nil {
				t.Fatalf("once the stats answer: %v", err)
			}
			if n, d := e.calls(fake.OpRequestCertificate), e.fake.Duplicates(); n != 1 || d != 0 {
				t.Errorf("POSTs = %d, duplicates = %d; want 1 and 0", n, d)
			}
			if h, _ := e.signer.Check(context.Background(), e.iss); h.LookupWarning != "" {
				t.Errorf("after the lookup decided, the check still says %q", h.LookupWarning)
			}
		})
	}
}

// TestUndecidedLookupWarnsOnlyWhenItLasts: one undecided lookup is retried
// and is no news; the issuer's check speaks only once it has lasted.
func TestUndecidedLookupWarnsOnlyWhenItLasts(t *testing.T) {
	e := newEnv(t, fake.Options{})
	req := crashedAfterSubmit(t, e, "brief.example.com")
	e.fake.SetFaults(fake.Faults{StatsIssued: fake.StatsServerError})
	if err := e.signAgain(req); !errors.As(err, &signer.PendingError{}) {
		t.Fatalf("err = %v, want PendingError", err)
	}
	if w := e.signer.lookups.warning(e.iss.Key); w != "" {
		t.Errorf("warning after one undecided lookup: %q", w)
	}
	if w := e.signer.lookups.warning("AtlasIssuer/other/issuer"); w != "" {
		t.Errorf("another issuer is warned: %q", w)
	}
	e.clock.SetTime(e.clock.Now().Add(lookupWarnAfter))
	if w := e.signer.lookups.warning(e.iss.Key); w == "" {
		t.Error("no warning once the lookup stayed undecided")
	}
	e.signer.Settled(req.Object.GetUID())
	if w := e.signer.lookups.warning(e.iss.Key); w != "" {
		t.Errorf("warning after the request settled: %q", w)
	}
}

// TestUndecidedLookupResubmitsAfterBound: with the operator's bound set, a
// request whose lookup cannot decide is submitted again only once the
// bound has passed since its intent, with a warning that says so.
func TestUndecidedLookupResubmitsAfterBound(t *testing.T) {
	e := newEnv(t, fake.Options{})
	req := crashedAfterSubmit(t, e, "bounded.example.com")
	e.signer.ResubmitUndecidedAfter = 10 * time.Minute
	var warnings []string
	e.signer.Warn = func(_ client.Object, reason, msg string) {
		warnings = append(warnings, reason+": "+msg)
	}
	e.fake.SetFaults(fake.Faults{StatsIssued: fake.StatsEmpty})
	e.clock.SetTime(e.clock.Now().Add(e.signer.ResubmitUndecidedAfter - time.Second))
	if err := e.signAgain(req); !errors.As(err, &signer.PendingError{}) {
		t.Fatalf("before the bound: err = %v, want PendingError", err)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 1 || len(warnings) != 0 {
		t.Fatalf("before the bound: POSTs = %d, warnings %q", n, warnings)
	}
	e.clock.SetTime(e.clock.Now().Add(time.Second))
	if err := e.signAgain(req); err != nil {
		t.Fatalf("after the bound: %v", err)
	}
	if n := e.calls(fake.OpRequestCertificate); n != 2 {
		t.Errorf("POSTs = %d after the bound, want 2", n)
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], ReasonResubmittedUndecided+": ") || !strings.Contains(warnings[0], "candidate serials that could not be ruled out: none") {
		t.Errorf("warnings = %q, want one %s naming the candidates", warnings, ReasonResubmittedUndecided)
	}
}

// TestSerialPersistedThroughConflict: another writer changed the request
// between the intent and the serial; the serial, the issuer's own
// annotation, is written all the same, so the next reconcile polls it
// instead of looking it up.
func TestSerialPersistedThroughConflict(t *testing.T) {
	e := newEnv(t, fake.Options{})
	e.fake.SetPending(3, 0)
	req := e.request("conflict.example.com", false)
	e.signer.Failpoint = func(name string) {
		if name == failpoint.AfterSubmit {
			e.ann.mu.Lock()
			e.ann.rv++ // cert-manager or issuer-lib wrote the request
			e.ann.mu.Unlock()
		}
	}
	err := e.signAgain(req)
	if !errors.As(err, &signer.PendingError{}) {
		t.Fatalf("err = %v, want PendingError while Atlas issues", err)
	}
	if req.Object.GetAnnotations()[v1alpha1.SerialAnnotation] == "" {
		t.Fatal("the serial was not persisted after a conflicting write")
	}
	if e.ann.ownWrites != 1 {
		t.Errorf("own writes = %d, want 1", e.ann.ownWrites)
	}
	e.signer.Failpoint = nil
	e.newSigner()
	for range 3 {
		_ = e.signAgain(req)
	}
	if n := e.calls(fake.OpStatsIssued); n != 0 {
		t.Errorf("stats calls = %d, want 0: the persisted serial needs no lookup", n)
	}
}

// TestLookupMargin: the stats window reaches as far beyond the intent as
// Atlas's clock may differ from the manager's under the policy, bounded.
func TestLookupMargin(t *testing.T) {
	tests := []struct {
		name     string
		policy   *atlas.ValidationPolicy
		neg, pos int64
		want     time.Duration
	}{
		{name: "no policy", want: time.Minute},
		{name: "no validity", policy: &atlas.ValidationPolicy{}, want: time.Minute},
		{name: "negative skew larger", neg: 600, pos: 60, want: 11 * time.Minute},
		{name: "positive skew larger", neg: 60, pos: 300, want: 6 * time.Minute},
		{name: "bounded", neg: 86400, want: 16 * time.Minute},
		{name: "negative values", neg: -5, pos: -5, want: time.Minute},
	}
	for _, tc := range tests {
		p := tc.policy
		if p == nil && (tc.neg != 0 || tc.pos != 0) {
			p = &atlas.ValidationPolicy{Validity: &atlas.ValidityPolicy{NotBeforeNegativeSkew: tc.neg, NotBeforePositiveSkew: tc.pos}}
		}
		if got := lookupMargin(p); got != tc.want {
			t.Errorf("%s: lookupMargin = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestDegradedCondition(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := t0.Add(time.Hour)
	tests := []struct {
		name       string
		health     Health
		prev       *metav1.Condition
		wantStatus metav1.ConditionStatus
		wantReason string
		wantSince  time.Time
	}{
		{name: "healthy, first", wantStatus: metav1.ConditionFalse, wantReason: ReasonAsExpected, wantSince: now},
		{name: "undecided, first", health: Health{LookupWarning: "w"}, wantStatus: metav1.ConditionTrue, wantReason: ReasonLookupUndecided, wantSince: now},
		{name: "undecided, still", health: Health{LookupWarning: "w"}, prev: &metav1.Condition{Status: metav1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
			wantStatus: metav1.ConditionTrue, wantReason: ReasonLookupUndecided, wantSince: t0},
		{name: "recovered", prev: &metav1.Condition{Status: metav1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0)},
			wantStatus: metav1.ConditionFalse, wantReason: ReasonAsExpected, wantSince: now},
	}
	for _, tc := range tests {
		c := DegradedCondition(tc.health, tc.prev, 3, now)
		if c.Type != ConditionDegraded || c.Status != tc.wantStatus || c.Reason != tc.wantReason || !c.LastTransitionTime.Time.Equal(tc.wantSince) || c.ObservedGeneration != 3 {
			t.Errorf("%s: %+v", tc.name, c)
		}
		if tc.health.LookupWarning != "" && c.Message != tc.health.LookupWarning {
			t.Errorf("%s: message %q, want the warning", tc.name, c.Message)
		}
	}
}

// TestSignErrorClockSkew: Atlas refusing the not_before the manager sent,
// its own time, makes the issuer say so and the request wait; another 422
// still fails the request.
func TestSignErrorClockSkew(t *testing.T) {
	skew := &atlas.Error{Operation: "RequestCertificate", StatusCode: 422, Description: "Validation error",
		Errors: map[string]string{"validity.not_before": "outside the allowed skew"}}
	err := signError("request certificate", skew)
	ie, ok := errors.AsType[signer.IssuerError](err)
	if !ok || Cause(ie.Err) != CauseClockSkew {
		t.Errorf("not_before refused: %#v, want an IssuerError with cause %s", err, CauseClockSkew)
	}
	other := &atlas.Error{Operation: "RequestCertificate", StatusCode: 422, Errors: map[string]string{"san.dns_names": "forbidden"}}
	if err := signError("request certificate", other); !errors.As(err, &signer.PermanentError{}) {
		t.Errorf("another 422: %#v, want PermanentError", err)
	}
	lookup := &atlas.Error{Operation: "StatsIssued", StatusCode: 422, Description: "bad not_before"}
	if atlas.IsNotBeforeRejected(lookup) {
		t.Error("a 422 of another operation is read as a refused not_before")
	}
}

func TestCheckClockOffset(t *testing.T) {
	policy := &atlas.ValidationPolicy{Validity: &atlas.ValidityPolicy{NotBeforeNegativeSkew: 600, NotBeforePositiveSkew: 120}}
	tests := []struct {
		off  time.Duration
		want string
	}{
		{off: 0},
		{off: 5 * time.Minute},
		{off: -time.Minute},
		{off: 10 * time.Minute, want: "10m0s ahead of"},
		{off: 9*time.Minute + 56*time.Second, want: "ahead of"},
		{off: -2 * time.Minute, want: "2m0s behind"},
		{off: -5 * time.Minute, want: "behind"},
	}
	for _, tc := range tests {
		err := checkClockOffset(tc.off, policy)
		if tc.want == "" && err != nil {
			t.Errorf("offset %s: %v", tc.off, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("offset %s: err = %v, want one saying %q", tc.off, err, tc.want)
		}
	}
	if err := checkClockOffset(time.Hour, &atlas.ValidationPolicy{}); err != nil {
		t.Errorf("a policy without validity bounds nothing: %v", err)
	}
}

// TestFoundCertificateServesTwin: the certificate a restart's lookup finds
// for a request also serves the twin cert-manager made of it (same key and
// contents) when the twin comes after it, as before the restart, instead of
// a second certificate for the same key.
func TestFoundCertificateServesTwin(t *testing.T) {
	e := newEnv(t, fake.Options{})
	first := crashedAfterSubmit(t, e, "twin-restart.example.com")
	twin := e.requestFor("twin-restart-2", first.Details.CSR)
	if err := e.signAgain(first); err != nil {
		t.Fatalf("first: %v", err)
	}
	if err := e.signAgain(twin); err != nil {
		t.Fatalf("twin: %v", err)
	}
	if n, d := e.calls(fake.OpRequestCertificate), e.fake.Duplicates(); n != 1 || d != 0 {
		t.Errorf("POSTs = %d, duplicates = %d; want 1 and 0", n, d)
	}
}
