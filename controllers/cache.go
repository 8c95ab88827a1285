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
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
)

// StripUnread is the informer cache transform of every kind but
// CertificateRequests: it drops what the manager never reads and what can
// be large. managedFields are a large share of every object, and
// kubectl's last-applied-configuration annotation is a copy of the whole
// object as applied: on a Secret it holds the Secret's data, which the
// metadata-only Secret cache exists to keep out of memory (and which a
// tenant can make as large as a Secret may be).
func StripUnread(in any) (any, error) {
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

// TrimSettledRequests is the informer cache transform for
// CertificateRequests. The manager caches every CertificateRequest of the
// cluster, most of them settled long ago (cert-manager keeps old revisions),
// and their CSR, certificate chain and CA are most of their size. A request
// whose Ready condition is True, or False with reason Failed or Denied, is
// never signed again (issuer-lib returns before Sign for those), so the
// cache keeps it without spec.request, status.certificate and status.ca.
// A request still to be signed keeps everything: Sign reads spec.request.
// Nothing writes a cached request back whole: status is applied with
// server-side apply and annotations with a merge patch, so the trimmed
// fields are never cleared on the server. What StripUnread drops goes as
// well (a kubectl-applied request's last-applied-configuration holds its
// CSR again).
func TrimSettledRequests(in any) (any, error) {
	cr, ok := in.(*cmapi.CertificateRequest)
	if !ok {
		return in, nil
	}
	if _, err := StripUnread(cr); err != nil {
		return nil, err
	}
	if settled(cr) {
		cr.Spec.Request = nil
		cr.Status.Certificate = nil
		cr.Status.CA = nil
	}
	return cr, nil
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
