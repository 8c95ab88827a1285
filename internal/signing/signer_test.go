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
	"strings"
	"testing"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

func TestSignFastPath(t *testing.T) {
	e := newEnv(t, fake.Options{})
	req := e.request("www.example.com", false)
	b, err := e.signer.Sign(context.Background(), req, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if countPEM(b.ChainPEM) != 2 || countPEM(b.CAPEM) != 1 {
		t.Fatalf("chain has %d certificates and CA %d; want leaf+intermediate and root", countPEM(b.ChainPEM), countPEM(b.CAPEM))
	}
	if !strings.Contains(string(b.CAPEM), strings.TrimSpace(string(e.fake.RootPEM()))[30:80]) {
		t.Error("CA is not the fake's root")
	}
	if got := e.calls("RequestCertificate") + e.calls("RetrieveCertificate"); got != 2 {
		t.Errorf("POST+GET = %d, want 2", got)
	}
	if e.ann.writes != 1 {
		t.Errorf("annotation writes = %d, want 1 (the intent)", e.ann.writes)
	}
	if _, ok := req.Object.GetAnnotations()[v1alpha1.IntentAnnotation]; !ok {
		t.Error("no intent annotation")
	}
	// A second reconcile before the informer sees Ready costs no Atlas call.
	before := e.fake.TotalCalls()
	again, err := e.signer.Sign(context.Background(), req, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if e.fake.TotalCalls() != before {
		t.Error("re-signing a just-completed request called Atlas")
	}
	if !bytes.Equal(again.ChainPEM, b.ChainPEM) || !bytes.Equal(again.CAPEM, b.CAPEM) || again.Serial != b.Serial {
		t.Error("re-signing a just-completed request returned another bundle")
	}
}

func TestSignPendingPersistsSerialAndPolls(t *testing.T) {
	e := newEnv(t, fake.Options{PendingPolls: 3})
	req := e.request("pending.example.com", false)
	var pending signer.PendingError
	for i := range 10 {
		_, err := e.signer.Sign(context.Background(), req, e.iss)
		if err == nil {
			break
		}
		if !errors.As(err, &pending) {
			t.Fatalf("poll %d: err = %v, want PendingError", i, err)
		}
		if req.Object.GetAnnotations()[v1alpha1.SerialAnnotation] == "" {
			t.Fatal("pending without a persisted serial")
		}
		if pending.RequeueAfter < time.Second {
			t.Errorf("RequeueAfter = %s", pending.RequeueAfter)
		}
	}
	if n := e.calls("RequestCertificate"); n != 1 {
		t.Errorf("POSTs = %d, want 1", n)
	}
	if e.fake.Issued() != 1 || e.fake.Duplicates() != 0 {
		t.Errorf("issued %d duplicates %d", e.fake.Issued(), e.fake.Duplicates())
	}
}

func TestSignAfterRestartBetweenPostAndSerial(t *testing.T) {
	e := newEnv(t, fake.Options{PendingFor: 5 * time.Minute})
	req := e.request("restart.example.com", false)
	if _, err := e.signer.Sign(context.Background(), req, e.iss); !errors.As(err, &signer.PendingError{}) {
		t.Fatalf("err = %v, want pending", err)
	}
	// The crash: the serial never reached the API server.
	ann := req.Object.GetAnnotations()
	delete(ann, v1alpha1.SerialAnnotation)
	req.Object.SetAnnotations(ann)
	e.newSigner()

	if _, err := e.signer.Sign(context.Background(), req, e.iss); !errors.As(err, &signer.PendingError{}) {
		t.Fatalf("while the candidate is pending: err = %v, want PendingError", err)
	}
	e.clock.SetTime(e.clock.Now().Add(10 * time.Minute)) // issued now, and past the grace: the lookup must still win over a new POST
	b, err := e.signer.Sign(context.Background(), req, e.iss)
	if err != nil {
		t.Fatal(err)
	}
	if countPEM(b.ChainPEM) != 2 {
		t.Error("no chain")
	}
	if n := e.calls("RequestCertificate"); n != 1 {
		t.Errorf("POSTs = %d, want 1", n)
	}
	if e.fake.Duplicates() != 0 {
		t.Errorf("duplicates = %d", e.fake.Duplicates())
	}
	if req.Object.GetAnnotations()[v1alpha1.SerialAnnotation] == "" {
		t.Error("the found serial was not persisted")
	}
}

func TestSignIntentWithoutPostSubmitsAfterGrace(t *testing.T) {
	e := newEnv(t, fake.Options{})
	// The account's history shows that the issued stats list certificates,
	// so an empty answer for the intent's window is proof.
	if _, err := e.signer.Sign(context.Background(), e.request("history.example.com", false), e.iss); err != nil {
		t.Fatal(err)
	}
	e.clock.SetTime(e.clock.Now().Add(time.Hour))
	req := e.request("lost.example.com", false)
	// A crash after the intent was written and before the POST.
	if err := e.ann.Annotate(context.Background(), req.Object, map[string]string{
		v1alpha1.IntentAnnotation: Intent{NotBefore: e.clock.Now().Truncate(time.Second), Fingerprint: fingerprintOf(t, req)}.String(),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.signer.Sign(context.Background(), req, e.iss); !errors.As(err, &signer.PendingError{}) {
		t.Fatalf("within grace: err = %v, want PendingError", err)
	}
	if n := e.calls("RequestCertificate"); n != 1 {
		t.Fatalf("submitted within the grace period (%d POSTs besides the history's)", n-1)
	}
	e.clock.SetTime(e.clock.Now().Add(3 * time.Minute))
	if _, err := e.signer.Sign(context.Background(), req, e.iss); err != nil {
		t.Fatal(err)
	}
	if n := e.calls("RequestCertificate"); n != 2 {
		t.Errorf("POSTs = %d, want 2 (the history's and the request's)", n)
	}
}

func TestSignFailures(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(e *env)
		isCA      bool
		dns       string
		wantType  any
		wantText  string
		wantPosts int
	}{
		{name: "isCA", isCA: true, dns: "ca.example.com", wantType: &signer.PermanentError{}, wantText: "end-entity"},
		{name: "policy violation", dns: "www.example.org", setup: func(e *env) {
			p := fake.DefaultPolicy()
			p.SAN.DNSNames.List = []string{".example.com"}
			e.fake.SetPolicy(p)
		}, wantType: &signer.PermanentError{}, wantText: "san.dns_names"},
		{name: "quota spent", dns: "q.example.com", setup: func(e *env) { e.fake.SetQuota(0) },
			wantType: &signer.IssuerError{}, wantText: CauseQuotaExhausted, wantPosts: 1},
		{name: "CA rejects", dns: "r.example.com", setup: func(e *env) { e.fake.RejectNext(1) },
			wantType: &signer.PermanentError{}, wantText: "CA validation error", wantPosts: 1},
		{name: "stale read", dns: "s.example.com", setup: func(e *env) { e.ann.conflict = true },
			wantText: "record intent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fake.Options{})
			if tc.setup != nil {
				tc.setup(e)
			}
			req := e.request(tc.dns, tc.isCA)
			_, err := e.signer.Sign(context.Background(), req, e.iss)
			if err == nil {
				t.Fatal("signed")
			}
			switch want := tc.wantType.(type) {
			case *signer.PermanentError:
				if !errors.As(err, want) {
					t.Errorf("err = %v (%T), want PermanentError", err, err)
				}
			case *signer.IssuerError:
				if !errors.As(err, want) {
					t.Errorf("err = %v (%T), want IssuerError", err, err)
				}
			case nil:
				if errors.As(err, &signer.PermanentError{}) || errors.As(err, &signer.IssuerError{}) || errors.As(err, &signer.PendingError{}) {
					t.Errorf("err = %v (%T), want a plain retryable error", err, err)
				}
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("err = %q, want it to mention %q", err, tc.wantText)
			}
			if n := e.calls("RequestCertificate"); n != tc.wantPosts {
				t.Errorf("POSTs = %d, want %d", n, tc.wantPosts)
			}
		})
	}
}

func TestSignQuotaClearsIntent(t *testing.T) {
	e := newEnv(t, fake.Options{})
	e.fake.SetQuota(0)
	req := e.request("quota.example.com", false)
	if _, err := e.signer.Sign(context.Background(), req, e.iss); err == nil {
		t.Fatal("signed without quota")
	}
	if _, ok := req.Object.GetAnnotations()[v1alpha1.IntentAnnotation]; ok {
		t.Fatal("intent kept after Atlas refused the submission; the retry would wait for nothing")
	}
	e.fake.SetQuota(10)
	if _, err := e.signer.Sign(context.Background(), req, e.iss); err != nil {
		t.Fatal(err)
	}
}

func TestIntentRoundTrip(t *testing.T) {
	in := Intent{NotBefore: time.Unix(1700000000, 0), Fingerprint: "ab12"}
	out, err := ParseIntent(in.String())
	if err != nil || !out.NotBefore.Equal(in.NotBefore) || out.Fingerprint != in.Fingerprint {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	for _, bad := range []string{"", "x/y", "123", "123/", "-5/ab"} {
		if _, err := ParseIntent(bad); err == nil {
			t.Errorf("ParseIntent(%q) accepted", bad)
		}
	}
}

func TestPollInterval(t *testing.T) {
	for _, tc := range []struct{ age, want time.Duration }{
		{0, time.Second}, {2 * time.Second, time.Second}, {20 * time.Second, 5 * time.Second}, {time.Hour, 30 * time.Second},
	} {
		if got := pollInterval(tc.age); got != tc.want {
			t.Errorf("pollInterval(%s) = %s, want %s", tc.age, got, tc.want)
		}
	}
}

// TestSignLostPostResponseIssuesOnce is the earlier Atlas issuer's failure:
// Atlas issued, the answer was lost, and the retry POSTed again. Here the
// retry finds the certificate instead.
func TestSignLostPostResponseIssuesOnce(t *testing.T) {
	e := newEnv(t, fake.Options{})
	e.fake.SetFaults(fake.Faults{LostResponseRate: 1, Operations: []string{fake.OpRequestCertificate}})
	req := e.request("lost-answer.example.com", false)
	_, err := e.signer.Sign(context.Background(), req, e.iss)
	if err == nil || errors.As(err, &signer.PermanentError{}) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if _, ok := req.Object.GetAnnotations()[v1alpha1.IntentAnnotation]; !ok {
		t.Fatal("intent cleared after an ambiguous failure")
	}
	e.fake.SetFaults(fake.Faults{})
	if _, err := e.signer.Sign(context.Background(), req, e.iss); err != nil {
		t.Fatal(err)
	}
	if e.fake.Issued() != 1 || e.fake.Duplicates() != 0 {
		t.Errorf("issued %d, duplicates %d; want exactly one certificate", e.fake.Issued(), e.fake.Duplicates())
	}
}

func TestSignNotifiesPolicyAdjustments(t *testing.T) {
	e := newEnv(t, fake.Options{})
	var got []string
	e.signer.Notify = func(_ client.Object, notes []string) { got = append(got, notes...) }
	req := e.request("long.example.com", false)
	req.Details.Duration = 5 * 365 * 24 * time.Hour
	if _, err := e.signer.Sign(context.Background(), req, e.iss); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || !strings.Contains(strings.Join(got, " "), "397") {
		t.Fatalf("notes = %q, want the duration shortened to the policy's 397 days", got)
	}
}
