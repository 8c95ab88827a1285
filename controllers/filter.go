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
	"maps"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// skipOwnAnnotationWrites drops the update event of a request whose only
// change is the intent or serial annotation that Sign itself writes. issuer-
// lib reconciles on every annotation change; for these writes the reconcile
// that made them already returns what happens next (done, or a requeue), so
// the extra reconcile found the request not yet Ready in the cache, was
// answered from the signer's memory, and patched the status and emitted the
// "Issued" event a second time: two more API writes per certificate (make
// bench, P1). Any other change, annotation or condition, still reconciles.
var skipOwnAnnotationWrites = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool { return !ownAnnotationWrite(e) },
}

func ownAnnotationWrite(e event.UpdateEvent) bool {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		return false
	}
	before, after := e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations()
	if maps.Equal(before, after) || !maps.Equal(withoutSignerAnnotations(before), withoutSignerAnnotations(after)) {
		return false
	}
	switch old := e.ObjectOld.(type) {
	case *cmapi.CertificateRequest:
		cur, ok := e.ObjectNew.(*cmapi.CertificateRequest)
		return ok && equality.Semantic.DeepEqual(old.Status.Conditions, cur.Status.Conditions)
	case *certificatesv1.CertificateSigningRequest:
		cur, ok := e.ObjectNew.(*certificatesv1.CertificateSigningRequest)
		return ok && equality.Semantic.DeepEqual(old.Status.Conditions, cur.Status.Conditions)
	}
	return false
}

func withoutSignerAnnotations(m map[string]string) map[string]string {
	c := maps.Clone(m)
	delete(c, v1alpha1.IntentAnnotation)
	delete(c, v1alpha1.SerialAnnotation)
	return c
}
