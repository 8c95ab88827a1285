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

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func TestMarkInitialized(t *testing.T) {
	cond := func(typ cmapi.CertificateRequestConditionType, s cmmeta.ConditionStatus, reason string) cmapi.CertificateRequestCondition {
		return cmapi.CertificateRequestCondition{Type: typ, Status: s, Reason: reason}
	}
	approved := cond(cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, "Approved")
	denied := cond(cmapi.CertificateRequestConditionDenied, cmmeta.ConditionTrue, "Denied")
	for _, tc := range []struct {
		name  string
		conds []cmapi.CertificateRequestCondition
		want  bool
	}{
		{"approved, no Ready", []cmapi.CertificateRequestCondition{approved}, true},
		{"not approved yet", nil, false},
		{"denied", []cmapi.CertificateRequestCondition{denied}, false},
		{"approved and denied", []cmapi.CertificateRequestCondition{approved, denied}, false},
		{"pending", []cmapi.CertificateRequestCondition{approved, cond(cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending)}, false},
		{"issued", []cmapi.CertificateRequestCondition{approved, cond(cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued)}, false},
		{"initialized on the server", []cmapi.CertificateRequestCondition{approved, cond(cmapi.CertificateRequestConditionReady, cmmeta.ConditionUnknown, issuerapi.CertificateRequestConditionReasonInitializing)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &cmapi.CertificateRequest{Status: cmapi.CertificateRequestStatus{Conditions: tc.conds}}
			before := cr.DeepCopy()
			if got := markInitialized(cr); got != tc.want {
				t.Fatalf("markInitialized = %v, want %v", got, tc.want)
			}
			if !tc.want {
				if len(cr.Status.Conditions) != len(before.Status.Conditions) {
					t.Errorf("conditions changed: %v, was %v", cr.Status.Conditions, before.Status.Conditions)
				}
				return
			}
			ready := cmapiutil.GetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
			if ready == nil || ready.Status != cmmeta.ConditionUnknown || ready.Reason != issuerapi.CertificateRequestConditionReasonInitializing {
				t.Errorf("Ready = %+v, want Unknown with reason %s", ready, issuerapi.CertificateRequestConditionReasonInitializing)
			}
			if !cmapiutil.CertificateRequestIsApproved(cr) {
				t.Error("the Approved condition was lost")
			}
		})
	}
}

// The mark is on the caller's copy only: the stored request, and objects of
// other kinds, come back as they are.
func TestInitializedRequestsGet(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	approved := cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue, Reason: "Approved"}
	raw := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&cmapi.CertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"},
			Status:     cmapi.CertificateRequestStatus{Conditions: []cmapi.CertificateRequestCondition{approved}},
		},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}},
	).Build()
	c := initializedRequests{Client: raw}
	key := client.ObjectKey{Namespace: "ns", Name: "r"}

	var got cmapi.CertificateRequest
	if err := c.Get(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	if cmapiutil.GetCertificateRequestCondition(&got, cmapi.CertificateRequestConditionReady) == nil {
		t.Error("Get did not mark an approved request without a Ready condition")
	}
	var stored cmapi.CertificateRequest
	if err := raw.Get(ctx, key, &stored); err != nil {
		t.Fatal(err)
	}
	if cond := cmapiutil.GetCertificateRequestCondition(&stored, cmapi.CertificateRequestConditionReady); cond != nil {
		t.Errorf("the stored request has a Ready condition: %+v", cond)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "missing"}, &got); err == nil {
		t.Error("Get of a missing request succeeded")
	}
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: "ns", Name: "c"}, &cm); err != nil {
		t.Errorf("Get of another kind: %v", err)
	}
}
