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
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

func TestSkipOwnAnnotationWrites(t *testing.T) {
	cr := func(ann map[string]string, conds ...cmapi.CertificateRequestCondition) *cmapi.CertificateRequest {
		return &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Name: "r", Annotations: ann}, Status: cmapi.CertificateRequestStatus{Conditions: conds}}
	}
	approved := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue}
	ready := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue}
	base := map[string]string{"cert-manager.io/certificate-name": "c"}
	with := func(k, v string) map[string]string {
		m := map[string]string{"cert-manager.io/certificate-name": "c"}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name     string
		old, new client.Object
		want     bool // reconcile
	}{
		{"intent written", cr(base, approved), cr(with(v1alpha1.IntentAnnotation, "x"), approved), false},
		{"serial written", cr(with(v1alpha1.IntentAnnotation, "x"), approved), cr(map[string]string{"cert-manager.io/certificate-name": "c", v1alpha1.IntentAnnotation: "x", v1alpha1.SerialAnnotation: "1"}, approved), false},
		{"intent cleared", cr(with(v1alpha1.IntentAnnotation, "x"), approved), cr(base, approved), false},
		{"first annotation on a bare object", cr(nil, approved), cr(map[string]string{v1alpha1.IntentAnnotation: "x"}, approved), false},
		{"another annotation", cr(base, approved), cr(with("example.com/other", "y"), approved), true},
		{"ours and another", cr(base, approved), cr(map[string]string{"cert-manager.io/certificate-name": "c", v1alpha1.IntentAnnotation: "x", "example.com/other": "y"}, approved), true},
		{"conditions changed too", cr(base, approved), cr(with(v1alpha1.IntentAnnotation, "x"), approved, ready), true},
		{"no annotation change", cr(base), cr(base, approved), true},
		{"csr intent written", &certificatesv1.CertificateSigningRequest{}, &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{v1alpha1.IntentAnnotation: "x"}}}, false},
		{"another kind", &corev1.Secret{}, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{v1alpha1.IntentAnnotation: "x"}}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := skipOwnAnnotationWrites.Update(event.UpdateEvent{ObjectOld: tc.old, ObjectNew: tc.new}); got != tc.want {
				t.Errorf("reconcile = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReconcilableRequests(t *testing.T) {
	cr := func(group, kind string, conds ...cmapi.CertificateRequestCondition) *cmapi.CertificateRequest {
		return &cmapi.CertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"},
			Spec:       cmapi.CertificateRequestSpec{IssuerRef: cmmeta.IssuerReference{Group: group, Kind: kind, Name: "i"}},
			Status:     cmapi.CertificateRequestStatus{Conditions: conds},
		}
	}
	csr := func(signer string) *certificatesv1.CertificateSigningRequest {
		return &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: signer}}
	}
	ready := func(s cmmeta.ConditionStatus, reason string) cmapi.CertificateRequestCondition {
		return cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: s, Reason: reason}
	}
	approved := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue}
	group := v1alpha1.GroupVersion.Group
	for _, tc := range []struct {
		name string
		obj  client.Object
		want bool // reconcile
	}{
		{"AtlasIssuer", cr(group, "AtlasIssuer", approved), true},
		{"AtlasClusterIssuer", cr(group, "AtlasClusterIssuer", approved), true},
		{"our group, no kind", cr(group, "", approved), true},
		{"not yet approved", cr(group, "AtlasIssuer"), false},
		{"denied, not yet failed", cr(group, "AtlasIssuer", cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionDenied, Status: cmmeta.ConditionTrue}), false},
		{"pending", cr(group, "AtlasIssuer", approved, ready(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending)), true},
		{"initializing", cr(group, "AtlasIssuer", approved, ready(cmmeta.ConditionUnknown, "Initializing")), true},
		{"issued", cr(group, "AtlasIssuer", approved, ready(cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued)), false},
		{"failed", cr(group, "AtlasIssuer", approved, ready(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed)), false},
		{"denied", cr(group, "AtlasIssuer", ready(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonDenied)), false},
		{"our group, other kind", cr(group, "Issuer", approved), false},
		{"cert-manager CA issuer", cr("cert-manager.io", "Issuer", approved), false},
		{"no group", cr("", "ClusterIssuer", approved), false},
		{"group with our suffix", cr("x."+group, "AtlasIssuer", approved), false},
		{"csr for a cluster issuer", csr("atlasclusterissuers.hvca.globalsign.com/atlas"), true},
		{"csr for a namespaced issuer", csr("atlasissuers.hvca.globalsign.com/ns.atlas"), false},
		{"csr for kubelet", csr("kubernetes.io/kubelet-serving"), false},
		{"csr with a longer path", csr("atlasclusterissuers.hvca.globalsign.com/a/b"), false},
		{"csr without a name", csr("atlasclusterissuers.hvca.globalsign.com"), false},
		{"csr with a look-alike prefix", csr("atlasclusterissuers.hvca.globalsign.com.evil/atlas"), false},
		// The issuer watches of the request controllers share the filter.
		{"AtlasIssuer object", &v1alpha1.AtlasIssuer{}, true},
		{"AtlasClusterIssuer object", &v1alpha1.AtlasClusterIssuer{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := reconcilableRequests
			got := map[string]bool{
				"create":  p.Create(event.CreateEvent{Object: tc.obj}),
				"update":  p.Update(event.UpdateEvent{ObjectOld: tc.obj, ObjectNew: tc.obj}),
				"delete":  p.Delete(event.DeleteEvent{Object: tc.obj}),
				"generic": p.Generic(event.GenericEvent{Object: tc.obj}),
			}
			for ev, g := range got {
				if g != tc.want {
					t.Errorf("%s: reconcile = %v, want %v", ev, g, tc.want)
				}
			}
		})
	}
}

func TestReconcilableRequestsJudgeTheNewVersion(t *testing.T) {
	approved := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue}
	pending := &cmapi.CertificateRequest{
		Spec:   cmapi.CertificateRequestSpec{IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "AtlasIssuer"}},
		Status: cmapi.CertificateRequestStatus{Conditions: []cmapi.CertificateRequestCondition{approved}},
	}
	issued := pending.DeepCopy()
	issued.Status.Conditions = append(issued.Status.Conditions, cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue})
	unapproved := pending.DeepCopy()
	unapproved.Status.Conditions = nil
	if !reconcilableRequests.Update(event.UpdateEvent{ObjectOld: unapproved, ObjectNew: pending}) {
		t.Error("the update that approves a request does not reconcile it")
	}
	if reconcilableRequests.Update(event.UpdateEvent{ObjectOld: pending, ObjectNew: issued}) {
		t.Error("the update that settles a request reconciles it")
	}
	if !reconcilableRequests.Update(event.UpdateEvent{ObjectOld: issued, ObjectNew: pending}) {
		t.Error("a request that is no longer settled is not reconciled")
	}
}
