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
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// kept counts what the signer holds: clients, parsed Secret versions,
// account states and twin memory.
type kept struct{ clients, versions, accounts, submissions int }

func (e *env) kept() kept {
	cl, pv := e.signer.Loader.Cache.Len()
	return kept{clients: cl, versions: pv, accounts: e.signer.accounts.cache.Len(), submissions: e.signer.submissions.cache.Len()}
}

// Deleting an issuer drops its metric series, account state and client;
// another issuer on the same Secret and endpoint keeps the shared client.
func TestIssuerDeletedForgetsIssuer(t *testing.T) {
	e := newEnv(t, fake.Options{})
	e.signer.Metrics = NewMetrics(prometheus.NewRegistry())
	other := e.iss
	other.Key, other.Name = "AtlasIssuer/ns/other", "other"
	ctx := context.Background()
	for _, iss := range []Issuer{e.iss, other} {
		if _, err := e.signer.Check(ctx, iss); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.signer.Sign(ctx, e.request("a.example.com", false), e.iss); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(e.signer.Metrics.ready); n != 2 {
		t.Fatalf("%d ready series, want 2", n)
	}
	if got := e.kept(); got != (kept{1, 1, 2, 1}) {
		t.Fatalf("kept %+v before any delete", got)
	}

	e.signer.IssuerDeleted(IssuerRef{Kind: "AtlasIssuer", Namespace: "ns", Name: "atlas"})
	for name, v := range map[string]*prometheus.GaugeVec{"ready": e.signer.Metrics.ready, "quota": e.signer.Metrics.quota, "expiry": e.signer.Metrics.credsExpiry} {
		if n := testutil.CollectAndCount(v); n != 1 {
			t.Errorf("%s: %d series after the delete, want only the other issuer's", name, n)
		}
	}
	if got := e.kept(); got != (kept{1, 1, 1, 1}) {
		t.Errorf("kept %+v after deleting one of two issuers on one Secret, want the shared client kept", got)
	}

	e.signer.IssuerDeleted(IssuerRef{Kind: "AtlasIssuer", Namespace: "ns", Name: "other"})
	if n := testutil.CollectAndCount(e.signer.Metrics.ready); n != 0 {
		t.Errorf("%d ready series after both deletes", n)
	}
	if got := e.kept(); got != (kept{0, 1, 0, 0}) {
		t.Errorf("kept %+v after deleting both issuers, want only the parsed Secret", got)
	}
	// Nothing kept is needed: the issuer works again from scratch.
	if _, err := e.signer.Check(ctx, e.iss); err != nil {
		t.Fatal(err)
	}
}

// A changed or deleted Secret drops its clients, its parsed versions and
// what is kept per client.
func TestSecretChangedForgetsSecret(t *testing.T) {
	e := newEnv(t, fake.Options{})
	ctx := context.Background()
	if _, err := e.signer.Sign(ctx, e.request("a.example.com", false), e.iss); err != nil {
		t.Fatal(err)
	}
	if got := e.kept(); got != (kept{1, 1, 1, 1}) {
		t.Fatalf("kept %+v after one request", got)
	}
	var cur corev1.Secret
	if err := e.signer.Loader.API.Get(ctx, e.iss.Secret, &cur); err != nil {
		t.Fatal(err)
	}
	e.signer.SecretChanged(e.iss.Secret, cur.ResourceVersion)
	if got := e.kept(); got != (kept{1, 1, 1, 1}) {
		t.Errorf("kept %+v after a change to the version in use, want it all kept", got)
	}
	e.signer.SecretChanged(e.iss.Secret, "")
	if got := e.kept(); got != (kept{}) {
		t.Errorf("kept %+v after the Secret changed, want nothing", got)
	}
	logins := e.calls(fake.OpLogin)
	if _, err := e.signer.Sign(ctx, e.request("b.example.com", false), e.iss); err != nil {
		t.Fatal(err)
	}
	if e.calls(fake.OpLogin) != logins+1 {
		t.Error("the forgotten client's token was used again")
	}
}

// An issuer whose spec moves to another endpoint loses what it kept for
// the old one; a spec change that keeps Secret and endpoint loses nothing.
func TestIssuerChangedForgetsTheOldSpec(t *testing.T) {
	e := newEnv(t, fake.Options{})
	ctx := context.Background()
	if _, err := e.signer.Check(ctx, e.iss); err != nil {
		t.Fatal(err)
	}
	e.signer.IssuerChanged(e.iss, e.iss)
	if got := e.kept(); got != (kept{1, 1, 1, 0}) {
		t.Fatalf("kept %+v after a change that kept Secret and endpoint", got)
	}
	moved := e.iss
	moved.Endpoint.URL += "/"
	e.signer.IssuerChanged(e.iss, moved)
	if got := e.kept(); got != (kept{0, 1, 0, 0}) {
		t.Errorf("kept %+v after the issuer moved, want only the parsed Secret", got)
	}
	// A check for the new spec that ran before the event keeps its state.
	if _, err := e.signer.Check(ctx, moved); err != nil {
		t.Fatal(err)
	}
	e.signer.IssuerChanged(e.iss, moved)
	if got := e.kept(); got != (kept{1, 1, 1, 0}) {
		t.Errorf("kept %+v, want the new spec's client and state", got)
	}
}
