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
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// seenPatch is what the fake API server recorded of one PATCH.
type seenPatch struct {
	path, accept, contentType, fieldManager, force, body string
}

// fakeAPIServer answers every PATCH with the object's metadata at
// resourceVersion 7, as JSON: a PartialObjectMetadata when the client asked
// for one, the full kind otherwise, so a test can tell which path a client
// took.
func fakeAPIServer(t *testing.T) (*rest.Config, func() []seenPatch) {
	t.Helper()
	var mu sync.Mutex
	var seen []seenPatch
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenPatch{
			path: r.URL.Path, accept: r.Header.Get("Accept"), contentType: r.Header.Get("Content-Type"),
			fieldManager: r.URL.Query().Get("fieldManager"), force: r.URL.Query().Get("force"), body: string(body),
		})
		mu.Unlock()
		if r.Method != http.MethodPatch {
			http.Error(w, "only PATCH here", http.StatusMethodNotAllowed)
			return
		}
		parts := strings.Split(r.URL.Path, "/")
		name := parts[len(parts)-1]
		if name == "status" {
			name = parts[len(parts)-2]
		}
		kind, apiVersion := "ConfigMap", "v1"
		if strings.Contains(r.URL.Path, "certificaterequests") {
			kind, apiVersion = "CertificateRequest", "cert-manager.io/v1"
		}
		if strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadata") {
			kind, apiVersion = "PartialObjectMetadata", "meta.k8s.io/v1"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"kind": kind, "apiVersion": apiVersion,
			"metadata": map[string]any{"name": name, "namespace": "ns", "resourceVersion": "7", "annotations": map[string]string{"from": "server"}},
		})
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}, func() []seenPatch {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenPatch(nil), seen...)
	}
}

func newLeanTestClient(t *testing.T, cfg *rest.Config) client.Client {
	t.Helper()
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(cmapi.SchemeGroupVersion.WithKind("CertificateRequest"), meta.RESTScopeNamespace)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("ConfigMap"), meta.RESTScopeNamespace)
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewLeanClient(cfg, client.Options{Scheme: scheme, Mapper: mapper, HTTPClient: httpClient})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLeanClientAsksForMetadataOnlyForRequests(t *testing.T) {
	cfg, seen := fakeAPIServer(t)
	c := newLeanTestClient(t, cfg)
	ctx := context.Background()

	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r", ResourceVersion: "3"},
		Spec:       cmapi.CertificateRequestSpec{Request: []byte("csr")},
		Status:     cmapi.CertificateRequestStatus{Certificate: []byte("kept")},
	}
	apply := client.RawPatch(types.ApplyPatchType, []byte(`{"status":{}}`))
	if err := c.Status().Patch(ctx, cr, apply, client.FieldOwner("owner"), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}
	if cr.ResourceVersion != "7" || cr.Annotations["from"] != "server" {
		t.Errorf("metadata not refreshed from the answer: %+v", cr.ObjectMeta)
	}
	if string(cr.Spec.Request) != "csr" || string(cr.Status.Certificate) != "kept" {
		t.Errorf("spec or status changed: %+v %+v", cr.Spec, cr.Status)
	}
	merge := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"a":"b"}}}`))
	if err := c.Patch(ctx, cr, merge); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cm"}}
	if err := c.Patch(ctx, cm, merge); err != nil {
		t.Fatal(err)
	}
	if cm.ResourceVersion != "7" {
		t.Errorf("ConfigMap not decoded from the answer: %+v", cm.ObjectMeta)
	}

	got := seen()
	if len(got) != 3 {
		t.Fatalf("%d PATCHes, want 3: %+v", len(got), got)
	}
	status, annotate, other := got[0], got[1], got[2]
	if status.path != "/apis/cert-manager.io/v1/namespaces/ns/certificaterequests/r/status" ||
		status.contentType != string(types.ApplyPatchType) || status.fieldManager != "owner" || status.force != "true" ||
		status.body != `{"status":{}}` {
		t.Errorf("status patch sent as %+v", status)
	}
	if annotate.path != "/apis/cert-manager.io/v1/namespaces/ns/certificaterequests/r" || annotate.contentType != string(types.MergePatchType) {
		t.Errorf("merge patch sent as %+v", annotate)
	}
	for _, p := range []seenPatch{status, annotate} {
		if !strings.Contains(p.accept, "as=PartialObjectMetadata") {
			t.Errorf("%s asked for %q, want metadata only", p.path, p.accept)
		}
	}
	if strings.Contains(other.accept, "as=PartialObjectMetadata") {
		t.Errorf("a ConfigMap patch asked for metadata only: %q", other.accept)
	}
}
