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
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlfake "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/credentials"
)

// memAnnotator keeps annotations in memory and enforces the resourceVersion
// precondition the real Annotator sends.
type memAnnotator struct {
	mu        sync.Mutex
	rv        int
	writes    int
	ownWrites int
	conflict  bool
}

func (m *memAnnotator) Annotate(_ context.Context, obj client.Object, set map[string]string, remove ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conflict || obj.GetResourceVersion() != strconv.Itoa(m.rv) {
		return apierrors.NewConflict(schema.GroupResource{Resource: "certificaterequests"}, obj.GetName(), errors.New("stale"))
	}
	applyAnnotations(obj, set, remove)
	m.rv++
	m.writes++
	obj.SetResourceVersion(strconv.Itoa(m.rv))
	return nil
}

// AnnotateOwn writes whatever the object's resourceVersion, as the real
// Annotator's version-less patch does; ownWrites counts these writes.
func (m *memAnnotator) AnnotateOwn(_ context.Context, obj client.Object, set map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	applyAnnotations(obj, set, nil)
	m.rv++
	m.writes++
	m.ownWrites++
	obj.SetResourceVersion(strconv.Itoa(m.rv))
	return nil
}

// applyAnnotations sets and removes annotations on obj, as the merge patch
// of the real Annotator does on the server.
func applyAnnotations(obj client.Object, set map[string]string, remove []string) {
	ann := maps.Clone(obj.GetAnnotations())
	if ann == nil {
		ann = map[string]string{}
	}
	maps.Copy(ann, set)
	for _, k := range remove {
		delete(ann, k)
	}
	obj.SetAnnotations(ann)
}

type env struct {
	t      *testing.T
	fake   *fake.Server
	signer *Signer
	ann    *memAnnotator
	iss    Issuer
	clock  *clocktesting.FakePassiveClock
	secret *corev1.Secret
}

func newEnv(t *testing.T, opts fake.Options) *env {
	t.Helper()
	e := &env{t: t, ann: &memAnnotator{}, clock: clocktesting.NewFakePassiveClock(time.Now())}
	// The fake and the signer share one clock, so tests can move time.
	opts.Clock = e.clock
	srv, err := fake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	creds := srv.Credentials()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "atlas", UID: "secret-uid", ResourceVersion: "1"},
		Data: map[string][]byte{
			credentials.KeyAPIKey: []byte(creds.APIKey), credentials.KeyAPISecret: []byte(creds.APISecret),
			credentials.KeyCertificate: creds.CertPEM, credentials.KeyPrivateKey: creds.KeyPEM,
		},
	}
	e.fake, e.secret = srv, secret
	e.newSigner()
	e.iss = Issuer{
		Key: "AtlasIssuer/ns/atlas", Kind: "AtlasIssuer", Namespace: "ns", Name: "atlas",
		Endpoint: credentials.Endpoint{URL: srv.URL(), CABundle: creds.ServerCAPEM},
		Secret:   types.NamespacedName{Namespace: "ns", Name: "atlas"},
	}
	return e
}

// newSigner builds a Signer with empty caches, as a restarted manager has.
func (e *env) newSigner() {
	sec := e.secret.DeepCopy()
	sec.ResourceVersion = ""
	api := ctrlfake.NewClientBuilder().WithObjects(sec).Build()
	loader := &credentials.Loader{Cache: credentials.NewCache(atlas.Config{Clock: e.clock}), API: api, Clock: e.clock}
	e.signer = New(loader, e.ann, nil, e.clock)
}

func (e *env) request(dnsName string, isCA bool) Request {
	e.t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		e.t.Fatal(err)
	}
	req := e.requestFor(dnsName, csrPEM(e.t, key, dnsName))
	req.Details.IsCA = isCA
	return req
}

// csrPEM is a CSR for dnsName (common name and DNS name) signed by key.
func csrPEM(t *testing.T, key crypto.Signer, dnsName string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: dnsName}, DNSNames: []string{dnsName},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// requestFor is an approved CertificateRequest named name with the given CSR.
func (e *env) requestFor(name string, csr []byte) Request {
	cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{
		Namespace: "ns", Name: name, UID: types.UID("uid-" + name),
		ResourceVersion: strconv.Itoa(e.ann.rv), CreationTimestamp: metav1.NewTime(e.clock.Now()),
	}, Status: cmapi.CertificateRequestStatus{Conditions: []cmapi.CertificateRequestCondition{
		{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "test"},
	}}}
	return Request{Object: cr, Details: signer.CertificateDetails{
		CSR:         csr,
		Duration:    24 * time.Hour,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}}
}

func (e *env) calls(op string) int { return e.fake.CallCount(op) }

func countPEM(b []byte) int { return strings.Count(string(b), "BEGIN CERTIFICATE") }
