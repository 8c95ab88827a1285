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

package controllers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlfake "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/internal/signing"
)

// secretWatchEnv is an issuer, its Secret in a fake API server, and a
// signer that checks against the fake Atlas.
type secretWatchEnv struct {
	t      *testing.T
	atlas  *fake.Server
	api    client.Client
	setup  *controllerSetup
	issuer *v1alpha1.AtlasIssuer
	secret *corev1.Secret
}

func newSecretWatchEnv(t *testing.T) *secretWatchEnv {
	t.Helper()
	clk := clocktesting.NewFakePassiveClock(time.Now())
	srv, err := fake.Start(fake.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	creds := srv.Credentials()
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "creds", UID: "secret-uid-1"},
		Data: map[string][]byte{
			credentials.KeyAPIKey: []byte(creds.APIKey), credentials.KeyAPISecret: []byte(creds.APISecret),
			credentials.KeyCertificate: creds.CertPEM, credentials.KeyPrivateKey: creds.KeyPEM,
		},
	}
	issuer := &v1alpha1.AtlasIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "atlas", Generation: 1},
		Spec:       v1alpha1.AtlasIssuerSpec{URL: srv.URL(), AuthSecretName: "creds", CABundle: creds.ServerCAPEM},
	}
	api := ctrlfake.NewClientBuilder().WithScheme(scheme).WithObjects(secret, issuer).Build()
	loader := &credentials.Loader{Cache: credentials.NewCache(atlas.Config{}), Metadata: api, API: api, Clock: clk}
	c := &IssuerController{Options: Options{ClusterResourceNamespace: "atlas-system"}}
	c.signer = signing.New(loader, Annotator{Client: api}, nil, clk)
	e := &secretWatchEnv{t: t, atlas: srv, api: api, setup: &controllerSetup{issuers: c, cache: api}, issuer: issuer, secret: secret}
	e.refresh()
	return e
}

// refresh reads the Secret and issuer as the API server holds them now.
func (e *secretWatchEnv) refresh() {
	e.t.Helper()
	if err := e.api.Get(context.Background(), client.ObjectKeyFromObject(e.secret), e.secret); err != nil {
		e.t.Fatal(err)
	}
	if err := e.api.Get(context.Background(), client.ObjectKeyFromObject(e.issuer), e.issuer); err != nil {
		e.t.Fatal(err)
	}
}

// check runs the issuer's Check, as its reconcile does.
func (e *secretWatchEnv) check() error {
	e.t.Helper()
	iss, err := e.setup.issuers.resolve(e.issuer)
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = e.setup.issuers.signer.Check(context.Background(), iss)
	return err
}

// event delivers a Secret metadata event as the watch sees it, runs a
// Check for each issuer it enqueues, and returns the Atlas calls that
// cost.
func (e *secretWatchEnv) event(secret *corev1.Secret) int {
	e.t.Helper()
	before := e.atlas.TotalCalls()
	for range e.enqueued(secret) {
		_ = e.check()
	}
	return e.atlas.TotalCalls() - before
}

// enqueued is what the Secret watch enqueues for an event of secret.
func (e *secretWatchEnv) enqueued(secret *corev1.Secret) []reconcile.Request {
	meta := &metav1.PartialObjectMetadata{ObjectMeta: *secret.ObjectMeta.DeepCopy()}
	return e.setup.issuersUsingSecret(issuerGK)(context.Background(), meta)
}

// A new issuer's first check reads its Secret before the Secret informer
// has delivered it; the informer's late Add of that same version must not
// check the issuer again. Every change to the Secret still does, as does a
// delete, and so does any event after a failed check.
func TestSecretEventAfterCheckOfSameVersion(t *testing.T) {
	e := newSecretWatchEnv(t)
	// The late Add may come while the first check's Atlas calls run.
	during := -1
	e.atlas.SetCallHook(func(op string) {
		if op == fake.OpValidationPolicy {
			during = len(e.enqueued(e.secret))
		}
	})
	if err := e.check(); err != nil {
		t.Fatal(err)
	}
	e.atlas.SetCallHook(nil)
	if during != 0 {
		t.Errorf("the Add of the Secret version a running check read enqueued %d issuers, want 0", during)
	}
	// Or after it.
	if n := e.event(e.secret); n != 0 {
		t.Errorf("the late Add of the Secret version the check read cost %d Atlas calls, want 0", n)
	}

	// A changed Secret is checked again.
	e.secret.Labels = map[string]string{"rotated": "yes"}
	if err := e.api.Update(context.Background(), e.secret); err != nil {
		t.Fatal(err)
	}
	e.refresh()
	if n := e.event(e.secret); n == 0 {
		t.Error("a changed Secret did not check its issuer")
	}
	// Its check used the new version: a resync of it costs nothing.
	if n := e.event(e.secret); n != 0 {
		t.Errorf("a resync of the version just checked cost %d Atlas calls, want 0", n)
	}

	// After a failed check, the same version checks again.
	e.atlas.SetFaults(fake.Faults{Down: true})
	if err := e.check(); err == nil {
		t.Fatal("the check did not fail")
	}
	e.atlas.SetFaults(fake.Faults{})
	if n := e.event(e.secret); n == 0 {
		t.Error("a Secret event after a failed check did not check the issuer")
	}

	// A delete is gone from the cache when its event comes: never skipped.
	last := e.secret.DeepCopy()
	if err := e.api.Delete(context.Background(), e.secret); err != nil {
		t.Fatal(err)
	}
	if n := len(e.enqueued(last)); n != 1 {
		t.Errorf("a deleted Secret enqueued %d issuers, want 1", n)
	}
}
