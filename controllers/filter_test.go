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
