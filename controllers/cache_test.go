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
	"fmt"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

func TestTrimSettledRequests(t *testing.T) {
	request := func(conds ...cmapi.CertificateRequestCondition) *cmapi.CertificateRequest {
		return &cmapi.CertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "r", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}, Annotations: map[string]string{
				"a": "b", corev1.LastAppliedConfigAnnotation: `{"spec":{"request":"csr"}}`,
			}},
			Spec:   cmapi.CertificateRequestSpec{Request: []byte("csr")},
			Status: cmapi.CertificateRequestStatus{Conditions: conds, Certificate: []byte("crt"), CA: []byte("ca")},
		}
	}
	ready := func(s cmmeta.ConditionStatus, reason string) cmapi.CertificateRequestCondition {
		return cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: s, Reason: reason}
	}
	approved := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue}
	for _, tc := range []struct {
		name    string
		cr      *cmapi.CertificateRequest
		trimmed bool
	}{
		{"new", request(), false},
		{"approved", request(approved), false},
		{"pending", request(approved, ready(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending)), false},
		{"initializing", request(approved, ready(cmmeta.ConditionUnknown, "Initializing")), false},
		{"issued", request(approved, ready(cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued)), true},
		{"failed", request(approved, ready(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed)), true},
		{"denied", request(ready(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonDenied)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := TrimSettledRequests(tc.cr)
			if err != nil {
				t.Fatal(err)
			}
			cr := out.(*cmapi.CertificateRequest)
			if cr.ManagedFields != nil {
				t.Error("managedFields kept")
			}
			if _, ok := cr.Annotations[corev1.LastAppliedConfigAnnotation]; ok {
				t.Error("last-applied-configuration kept")
			}
			if cr.Annotations["a"] != "b" || len(cr.Status.Conditions) != len(tc.cr.Status.Conditions) {
				t.Error("annotations or conditions changed")
			}
			if got := cr.Spec.Request == nil && cr.Status.Certificate == nil && cr.Status.CA == nil; got != tc.trimmed {
				t.Errorf("trimmed = %v, want %v", got, tc.trimmed)
			}
			if !tc.trimmed && (string(cr.Spec.Request) != "csr" || string(cr.Status.Certificate) != "crt") {
				t.Error("a request still to be signed lost data")
			}
		})
	}
	sec := &corev1.Secret{}
	if out, err := TrimSettledRequests(sec); err != nil || out != sec {
		t.Error("other kinds must pass through unchanged")
	}
}

// TestCacheTransformsStripLastApplied runs every transform the manager's
// cache uses on each kind it caches, a Secret's metadata first: none may
// keep kubectl's copy of the applied object, which on a Secret is its data.
func TestCacheTransformsStripLastApplied(t *testing.T) {
	opts := Options{ClusterResourceNamespace: "atlas", SecretNamespaces: []string{"team-a"}}.cacheOptions()
	transformFor := func(obj any) cache.TransformFunc {
		for o, by := range opts.ByObject {
			if fmt.Sprintf("%T", o) == fmt.Sprintf("%T", obj) && by.Transform != nil {
				return by.Transform
			}
		}
		return opts.DefaultTransform
	}
	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	for _, obj := range []metav1.Object{secretMeta, &v1alpha1.AtlasIssuer{}, &v1alpha1.AtlasClusterIssuer{}, &cmapi.CertificateRequest{}} {
		t.Run(fmt.Sprintf("%T", obj), func(t *testing.T) {
			obj.SetAnnotations(map[string]string{"keep": "me", corev1.LastAppliedConfigAnnotation: `{"data":{"apiSecret":"c2VjcmV0"}}`})
			obj.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl"}})
			out, err := transformFor(obj)(obj)
			if err != nil {
				t.Fatal(err)
			}
			got := out.(metav1.Object)
			if _, ok := got.GetAnnotations()[corev1.LastAppliedConfigAnnotation]; ok {
				t.Error("last-applied-configuration kept in the cache")
			}
			if got.GetAnnotations()["keep"] != "me" {
				t.Error("other annotations lost")
			}
			if got.GetManagedFields() != nil {
				t.Error("managedFields kept in the cache")
			}
		})
	}
	if opts.DefaultTransform == nil {
		t.Fatal("no default transform")
	}
	if out, err := StripUnread("not an object"); err != nil || out != "not an object" {
		t.Errorf("a non-object must pass through, got %v, %v", out, err)
	}
}
