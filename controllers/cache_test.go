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
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/google/go-cmp/cmp"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// trimCase is a CertificateRequest as the API server sends it, with every
// field set that the cache transform may drop.
func trimCase(ref cmmeta.IssuerReference, conds ...cmapi.CertificateRequestCondition) *cmapi.CertificateRequest {
	now := metav1.NewTime(time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC))
	for i := range conds {
		conds[i].Message, conds[i].LastTransitionTime = "why "+string(conds[i].Type), &now
	}
	return &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{
			Name: "r-1", GenerateName: "r-", Namespace: "ns", UID: "uid-1", ResourceVersion: "7", Generation: 1,
			CreationTimestamp: now, DeletionTimestamp: &now, Labels: map[string]string{"app": "web"}, Finalizers: []string{"f"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}},
			Annotations: map[string]string{
				"a": "b", v1alpha1.IntentAnnotation: "1/abc", corev1.LastAppliedConfigAnnotation: `{"spec":{"request":"csr"}}`,
				cmapi.CertificateNameKey: "r", cmapi.CertificateRequestRevisionAnnotationKey: "1",
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "cert-manager.io/v1", Kind: "Certificate", Name: "r", UID: "c"}},
		},
		Spec: cmapi.CertificateRequestSpec{
			Request: []byte("csr"), Duration: &metav1.Duration{Duration: time.Hour}, IssuerRef: ref, IsCA: true,
			Usages: []cmapi.KeyUsage{cmapi.UsageDigitalSignature}, Username: "u", UID: "id", Groups: []string{"g"},
			Extra: map[string][]string{"k": {"v"}},
		},
		Status: cmapi.CertificateRequestStatus{Conditions: conds, Certificate: []byte("crt"), CA: []byte("ca"), FailureTime: &now},
	}
}

func TestTrimRequests(t *testing.T) {
	ours := cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "AtlasIssuer", Name: "atlas"}
	oursNoKind := cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Name: "atlas"}
	otherKind := cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "Issuer", Name: "atlas"}
	foreign := cmmeta.IssuerReference{Group: "cert-manager.io", Kind: "Issuer", Name: "ca"}
	cond := func(typ cmapi.CertificateRequestConditionType, s cmmeta.ConditionStatus, reason string) cmapi.CertificateRequestCondition {
		return cmapi.CertificateRequestCondition{Type: typ, Status: s, Reason: reason}
	}
	ready := func(s cmmeta.ConditionStatus, reason string) cmapi.CertificateRequestCondition {
		return cond(cmapi.CertificateRequestConditionReady, s, reason)
	}
	approved := cond(cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, "cert-manager.io")
	denied := cond(cmapi.CertificateRequestConditionDenied, cmmeta.ConditionTrue, "policy")
	// What the cache keeps of a request that is not reconciled again.
	kept := func(cr *cmapi.CertificateRequest) metav1.ObjectMeta {
		m := cr.ObjectMeta
		return metav1.ObjectMeta{
			Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion, Generation: m.Generation,
			CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp, Labels: m.Labels, Finalizers: m.Finalizers,
		}
	}
	whole := func(cr *cmapi.CertificateRequest) *cmapi.CertificateRequest {
		out, _ := stripUnread(cr.DeepCopy())
		return out.(*cmapi.CertificateRequest)
	}
	settledForm := func(cr *cmapi.CertificateRequest) *cmapi.CertificateRequest {
		var conds []cmapi.CertificateRequestCondition
		for _, c := range cr.Status.Conditions {
			conds = append(conds, cmapi.CertificateRequestCondition{Type: c.Type, Status: c.Status, Reason: c.Reason})
		}
		m := kept(cr)
		m.Annotations = map[string]string{cmapi.CertificateNameKey: "r", cmapi.CertificateRequestRevisionAnnotationKey: "1"}
		return &cmapi.CertificateRequest{ObjectMeta: m, Status: cmapi.CertificateRequestStatus{Conditions: conds}}
	}
	foreignForm := func(cr *cmapi.CertificateRequest) *cmapi.CertificateRequest {
		return &cmapi.CertificateRequest{ObjectMeta: kept(cr), Spec: cmapi.CertificateRequestSpec{IssuerRef: cr.Spec.IssuerRef}}
	}
	for _, tc := range []struct {
		name string
		cr   *cmapi.CertificateRequest
		want func(*cmapi.CertificateRequest) *cmapi.CertificateRequest
	}{
		{"new", trimCase(ours), whole},
		{"approved", trimCase(ours, approved), whole},
		{"pending", trimCase(ours, approved, ready(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending)), whole},
		{"initializing", trimCase(ours, approved, ready(cmmeta.ConditionUnknown, "Initializing")), whole},
		{"no kind pending", trimCase(oursNoKind, approved), whole},
		{"denied not yet failed", trimCase(ours, denied), whole},
		{"issued", trimCase(ours, approved, ready(cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued)), settledForm},
		{"failed", trimCase(ours, approved, ready(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed)), settledForm},
		{"denied", trimCase(ours, denied, ready(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonDenied)), settledForm},
		{"foreign new", trimCase(foreign), foreignForm},
		{"foreign pending", trimCase(foreign, approved, ready(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending)), foreignForm},
		{"our group, other kind", trimCase(otherKind, approved), foreignForm},
		{"foreign issued", trimCase(foreign, approved, ready(cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued)), settledForm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want(tc.cr)
			orig := tc.cr.DeepCopy()
			out, err := trimRequests(tc.cr)
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*cmapi.CertificateRequest)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cached request (-want +got):\n%s", diff)
			}
			// Whatever is dropped, every reader of the cache judges the
			// request as it would the whole one.
			if settled(got) != settled(orig) || ourDeniedRequest(got) != ourDeniedRequest(orig) ||
				(settled(orig) && siblingKey(got) != siblingKey(orig)) ||
				reconcilableRequests.Generic(event.GenericEvent{Object: got}) != reconcilableRequests.Generic(event.GenericEvent{Object: orig}) {
				t.Error("a reader of the cache judges the trimmed request differently")
			}
		})
	}
	sec := &corev1.Secret{}
	if out, err := trimRequests(sec); err != nil || out != sec {
		t.Error("other kinds must pass through unchanged")
	}
}

func TestTrimSigningRequests(t *testing.T) {
	csr := func(signer string) *certificatesv1.CertificateSigningRequest {
		now := metav1.NewTime(time.Date(2026, 11, 27, 17, 0, 0, 0, time.UTC))
		return &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{
				Name: "csr-1", GenerateName: "csr-", UID: "uid-1", ResourceVersion: "7", CreationTimestamp: now,
				Labels: map[string]string{"app": "web"}, Annotations: map[string]string{v1alpha1.IntentAnnotation: "1/abc"},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}},
			},
			Spec: certificatesv1.CertificateSigningRequestSpec{
				Request: []byte("csr"), SignerName: signer, ExpirationSeconds: new(int32(3600)),
				Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature}, Username: "u", Groups: []string{"g"},
			},
			Status: certificatesv1.CertificateSigningRequestStatus{
				Conditions:  []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Message: "ok"}},
				Certificate: []byte("crt"),
			},
		}
	}
	for _, tc := range []struct {
		name   string
		signer string
		whole  bool
	}{
		{"ours", "atlasclusterissuers.hvca.globalsign.com/atlas", true},
		{"kubelet", "kubernetes.io/kubelet-serving", false},
		{"namespaced issuer kind", "atlasissuers.hvca.globalsign.com/ns.atlas", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := csr(tc.signer)
			want := in.DeepCopy()
			want.ManagedFields = nil
			if !tc.whole {
				want = &certificatesv1.CertificateSigningRequest{
					ObjectMeta: metav1.ObjectMeta{Name: in.Name, UID: in.UID, ResourceVersion: in.ResourceVersion, CreationTimestamp: in.CreationTimestamp, Labels: in.Labels},
					Spec:       certificatesv1.CertificateSigningRequestSpec{SignerName: tc.signer},
				}
			}
			orig := in.DeepCopy()
			out, err := trimSigningRequests(in)
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*certificatesv1.CertificateSigningRequest)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cached CSR (-want +got):\n%s", diff)
			}
			if reconcilableRequests.Generic(event.GenericEvent{Object: got}) != reconcilableRequests.Generic(event.GenericEvent{Object: orig}) {
				t.Error("the filter judges the trimmed CSR differently")
			}
		})
	}
	cr := &cmapi.CertificateRequest{}
	if out, err := trimSigningRequests(cr); err != nil || out != cr {
		t.Error("other kinds must pass through unchanged")
	}
}

// The Secret metadata watch leaves out the Secrets cert-manager manages,
// in either Secret mode, and keeps every other Secret.
func TestSecretWatchLeavesOutCertManagersSecrets(t *testing.T) {
	for _, o := range []Options{
		{ClusterResourceNamespace: "atlas"},
		{ClusterResourceNamespace: "atlas", SecretNamespaces: []string{"team-a"}},
	} {
		t.Run(fmt.Sprintf("secret namespaces %v", o.SecretNamespaces), func(t *testing.T) {
			opts, err := o.cacheOptions()
			if err != nil {
				t.Fatal(err)
			}
			var secrets *crcache.ByObject
			for obj, by := range opts.ByObject {
				if _, ok := obj.(*corev1.Secret); ok {
					secrets = &by
				}
			}
			if secrets == nil || secrets.Label == nil {
				t.Fatal("no label selector on the Secret watch")
			}
			for _, tc := range []struct {
				labels map[string]string
				want   bool
			}{
				{nil, true},
				{map[string]string{"app": "atlas"}, true},
				{map[string]string{cmapi.PartOfCertManagerControllerLabelKey: "false"}, true},
				{map[string]string{cmapi.PartOfCertManagerControllerLabelKey: "true"}, false},
			} {
				if got := secrets.Label.Matches(labels.Set(tc.labels)); got != tc.want {
					t.Errorf("labels %v: watched = %v, want %v", tc.labels, got, tc.want)
				}
			}
			if got, want := len(secrets.Namespaces), len(o.SecretNamespaces); (want == 0) != (got == 0) {
				t.Errorf("namespaces %v with secret namespaces %v", secrets.Namespaces, o.SecretNamespaces)
			}
		})
	}
}

// TestCacheTransformsStripLastApplied runs every transform the manager's
// cache uses on each kind it caches, a Secret's metadata first: none may
// keep kubectl's copy of the applied object, which on a Secret is its data.
func TestCacheTransformsStripLastApplied(t *testing.T) {
	opts, err := Options{ClusterResourceNamespace: "atlas", SecretNamespaces: []string{"team-a"}}.cacheOptions()
	if err != nil {
		t.Fatal(err)
	}
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
	// Requests still to be signed by our issuers, which keep the rest.
	request := &cmapi.CertificateRequest{Spec: cmapi.CertificateRequestSpec{IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group}}}
	csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: "atlasclusterissuers.hvca.globalsign.com/atlas"}}
	for _, obj := range []metav1.Object{secretMeta, &v1alpha1.AtlasIssuer{}, &v1alpha1.AtlasClusterIssuer{}, request, csr} {
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
	if out, err := stripUnread("not an object"); err != nil || out != "not an object" {
		t.Errorf("a non-object must pass through, got %v, %v", out, err)
	}
}
