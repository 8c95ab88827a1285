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
	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// stripUnread is the informer cache transform of every kind but
// CertificateRequests: it drops what the manager never reads and what can
// be large. managedFields are a large share of every object, and
// kubectl's last-applied-configuration annotation is a copy of the whole
// object as applied: on a Secret it holds the Secret's data, which the
// metadata-only Secret cache exists to keep out of memory (and which a
// tenant can make as large as a Secret may be).
func stripUnread(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil //nolint:nilerr // not an object: nothing to strip.
	}
	// Setting nil only when there is something to drop spares an
	// unstructured object a write.
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	if ann := obj.GetAnnotations(); ann != nil {
		if _, ok := ann[corev1.LastAppliedConfigAnnotation]; ok {
			delete(ann, corev1.LastAppliedConfigAnnotation)
			obj.SetAnnotations(ann)
		}
	}
	return in, nil
}

// trimRequests is the informer cache transform for CertificateRequests.
// The manager caches every CertificateRequest of the cluster, most of them
// settled long ago (cert-manager keeps old revisions) or addressed to other
// issuers, so the cache keeps of those only what is read from them. What
// stripUnread drops goes from every request (a kubectl-applied request's
// last-applied-configuration holds its CSR again).
//
// A request still to be signed by our issuers keeps everything else: Sign
// reads its CSR, usages, duration, annotations and creation time.
//
// A settled request, whose Ready condition is True, or False with reason
// Failed or Denied, is never signed or reconciled again: issuer-lib returns
// before Sign for it, and the request reconcilers' event filter
// (reconcilableRequests) drops its events. It keeps its name, namespace,
// UID, resource version, generation, timestamps, labels and finalizers,
// the type, status and reason of its conditions, which settled,
// watchSettled and the predicates read, and the Certificate and revision
// cert-manager made it for (revisionAnnotations), by which a later request
// for the same revision finds it (siblingIndex). It loses the rest: its
// spec, its other annotations, owner references, the conditions' messages
// and times, the certificate and the CA.
//   - The annotations: the intent and serial annotations matter only
//     before Ready. issuer-lib's and skipOwnAnnotationWrites' predicates
//     compare the annotations of two cached versions; between two settled
//     versions both hold the same two of cert-manager's, and the update
//     that settles a request, whose annotations then differ, is dropped by
//     reconcilableRequests.
//   - spec.issuerRef: without it the request leaves issuer-lib's index of
//     the requests linked to an issuer, so that a change of an issuer
//     reconciles only its requests still to be signed, not every request it
//     ever signed.
//
// A request for another issuer (see ourCertificateRequest) is never
// reconciled either; it keeps the same metadata and spec.issuerRef, which
// tells the filter, issuer-lib's index and the denied-request controller
// that it is not ours.
//
// Nothing writes a cached request back whole: status is applied with
// server-side apply and annotations with a merge patch, so the trimmed
// fields are never cleared on the server. An update that makes a request
// ours or unsettled again arrives whole from the API server and is kept
// whole.
func trimRequests(in any) (any, error) {
	cr, ok := in.(*cmapi.CertificateRequest)
	if !ok {
		return in, nil
	}
	if _, err := stripUnread(cr); err != nil {
		return nil, err
	}
	switch {
	case settled(cr):
		conditions := cr.Status.Conditions
		for i, c := range conditions {
			conditions[i] = cmapi.CertificateRequestCondition{
				Type: canonical(c.Type, cmapi.CertificateRequestConditionReady, cmapi.CertificateRequestConditionApproved,
					cmapi.CertificateRequestConditionDenied, cmapi.CertificateRequestConditionInvalidRequest),
				Status: canonical(c.Status, cmmeta.ConditionTrue, cmmeta.ConditionFalse, cmmeta.ConditionUnknown),
				Reason: canonical(c.Reason, cmapi.CertificateRequestReasonIssued, cmapi.CertificateRequestReasonFailed,
					cmapi.CertificateRequestReasonDenied, cmapi.CertificateRequestReasonPending, approverReason),
			}
		}
		ann := revisionAnnotations(cr.Annotations)
		cr.ObjectMeta = keptMetadata(&cr.ObjectMeta)
		cr.Annotations = ann
		cr.Spec = cmapi.CertificateRequestSpec{}
		cr.Status = cmapi.CertificateRequestStatus{Conditions: conditions}
	case !ourCertificateRequest(cr):
		cr.ObjectMeta = keptMetadata(&cr.ObjectMeta)
		cr.Spec = cmapi.CertificateRequestSpec{IssuerRef: cr.Spec.IssuerRef}
		cr.Status = cmapi.CertificateRequestStatus{}
	}
	return cr, nil
}

// trimSigningRequests is the informer cache transform for Kubernetes
// CSRs. The manager caches every CSR of the cluster, most of them the
// kubelets' and other signers'. Those are never reconciled (see
// reconcilableRequests), and all that is read of them is the signer name,
// which tells the filter and issuer-lib's index that they are not ours; the
// cache keeps that and the metadata keptMetadata keeps. A CSR for our
// issuers keeps everything: issuer-lib tells one already signed by its
// certificate, so a CSR of ours is kept whole even once signed. What
// stripUnread drops goes from every CSR.
func trimSigningRequests(in any) (any, error) {
	csr, ok := in.(*certificatesv1.CertificateSigningRequest)
	if !ok {
		return in, nil
	}
	if _, err := stripUnread(csr); err != nil {
		return nil, err
	}
	if !ourSigningRequest(csr) {
		csr.ObjectMeta = keptMetadata(&csr.ObjectMeta)
		csr.Spec = certificatesv1.CertificateSigningRequestSpec{SignerName: csr.Spec.SignerName}
		csr.Status = certificatesv1.CertificateSigningRequestStatus{}
	}
	return csr, nil
}

// approverReason is the reason of cert-manager's approver on the Approved
// condition of nearly every request.
const approverReason = "cert-manager.io"

// canonical returns the constant among known that equals s, or s: a cached
// settled request then shares the strings of its conditions with every
// other instead of holding a decoded copy of each.
func canonical[S ~string](s S, known ...S) S {
	for _, k := range known {
		if s == k {
			return k
		}
	}
	return s
}

// revisionAnnotations returns cert-manager's annotations naming the
// Certificate and revision a request was made for, or nil.
func revisionAnnotations(ann map[string]string) map[string]string {
	var out map[string]string
	for _, k := range []string{cmapi.CertificateNameKey, cmapi.CertificateRequestRevisionAnnotationKey} {
		if v, ok := ann[k]; ok {
			if out == nil {
				out = make(map[string]string, 2)
			}
			out[k] = v
		}
	}
	return out
}

// keptMetadata is what the cache keeps of the metadata of a request that is
// not reconciled again: what identifies it and its version, its timestamps,
// labels and finalizers.
func keptMetadata(m *metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID,
		ResourceVersion: m.ResourceVersion, Generation: m.Generation,
		CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp,
		DeletionGracePeriodSeconds: m.DeletionGracePeriodSeconds,
		Labels:                     m.Labels, Finalizers: m.Finalizers,
	}
}

// settled reports whether the request's Ready condition is True, or False
// with reason Failed or Denied: the states issuer-lib never signs again.
func settled(cr *cmapi.CertificateRequest) bool {
	return cmapiutil.CertificateRequestHasCondition(cr, cmapi.CertificateRequestCondition{
		Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue,
	}) || cmapiutil.CertificateRequestHasCondition(cr, cmapi.CertificateRequestCondition{
		Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse, Reason: cmapi.CertificateRequestReasonFailed,
	}) || cmapiutil.CertificateRequestHasCondition(cr, cmapi.CertificateRequestCondition{
		Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionFalse, Reason: cmapi.CertificateRequestReasonDenied,
	})
}
