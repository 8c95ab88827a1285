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
	"strings"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
// "Issued" event a second time: two more API writes per certificate. Any
// other change, annotation or condition, still reconciles.
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

// reconcilableRequests drops, before the work queue, the events of the
// requests that issuer-lib's request reconcilers would only fetch from the
// cache, copy and leave: those addressed to other issuers, settled
// CertificateRequests (see settled), and CertificateRequests not approved,
// which issuer-lib leaves until their approval (an update) arrives; those
// cert-manager denied are the denied-request controller's. The manager
// cannot ask the API server for its own issuers' requests only, so without
// it every CertificateRequest and Kubernetes CSR of the cluster, however
// issued, costs a reconcile per event, and each of ours one more for its
// creation. It judges request objects only: the issuer watches of the same
// controllers, which map an issuer to its requests, pass.
var reconcilableRequests = predicate.NewPredicateFuncs(func(obj client.Object) bool {
	switch r := obj.(type) {
	case *cmapi.CertificateRequest:
		return ourCertificateRequest(r) && !settled(r) && cmapiutil.CertificateRequestIsApproved(r)
	case *certificatesv1.CertificateSigningRequest:
		return ourSigningRequest(r)
	}
	return true
})

// ourCertificateRequest reports whether issuer-lib matches the request's
// issuerRef to one of our issuer kinds: the group is ours and the kind is
// one of ours or empty (issuer-lib then takes the first kind of the group).
// cert-manager makes the issuerRef immutable.
func ourCertificateRequest(cr *cmapi.CertificateRequest) bool {
	ref := cr.Spec.IssuerRef
	return ref.Group == v1alpha1.GroupVersion.Group &&
		(ref.Kind == "" || ref.Kind == issuerGK.Kind || ref.Kind == clusterIssuerGK.Kind)
}

// ourSigningRequest reports whether a Kubernetes CSR names an
// AtlasClusterIssuer, <type identifier>/<name>, the only signer names
// issuer-lib serves for us: it ignores those of namespaced issuer kinds.
func ourSigningRequest(csr *certificatesv1.CertificateSigningRequest) bool {
	kind, name, ok := strings.Cut(csr.Spec.SignerName, "/")
	return ok && name != "" && !strings.Contains(name, "/") &&
		kind == (&v1alpha1.AtlasClusterIssuer{}).GetIssuerTypeIdentifier()
}
