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

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// signOnFirstReconcile is the manager issuer-lib's combined controller is
// set up with: the manager, whose client shows issuer-lib an approved
// CertificateRequest without a Ready condition as already initialized
// (markInitialized), so that the reconcile that first finds the request
// ready to sign signs it.
//
// issuer-lib v0.11.0 otherwise spends that reconcile writing a Ready
// condition of status Unknown and reason Initializing, and signs on the
// update the write causes: one status write, one watch event of the whole
// request and one reconcile more per request, about a tenth of the
// manager's CPU per certificate, and a round trip to the API server between
// approval and the call to Atlas (docs/performance.md, P7 and P2). Nothing
// reads that condition: cert-manager's own issuers write none, and issuer-
// lib writes none on Kubernetes CSRs. The request's first Ready condition
// is then the one the signing reconcile writes: Issued, Pending, or the
// error it met.
type signOnFirstReconcile struct {
	ctrl.Manager
}

// GetClient returns the manager's client with Get going through
// markInitialized.
func (m signOnFirstReconcile) GetClient() client.Client {
	return initializedRequests{Client: m.Manager.GetClient()}
}

// initializedRequests marks the CertificateRequests it gets as initialized.
// Every object Get returns is the caller's own copy: the mark never reaches
// the cache or the API server, and the status patch issuer-lib writes
// carries only the conditions it sets itself.
type initializedRequests struct {
	client.Client
}

// Get gets obj and, when it is a CertificateRequest, marks it.
func (c initializedRequests) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if cr, ok := obj.(*cmapi.CertificateRequest); ok {
		markInitialized(cr)
	}
	return nil
}

// markInitialized gives an approved, not denied CertificateRequest without
// a Ready condition the condition issuer-lib's first reconcile would write,
// Ready Unknown with reason Initializing, and reports whether it did. Any
// other request is left as it is: issuer-lib returns before signing for
// requests not yet approved and for denied ones, and must see those as they
// are.
func markInitialized(cr *cmapi.CertificateRequest) bool {
	if !cmapiutil.CertificateRequestIsApproved(cr) || cmapiutil.CertificateRequestIsDenied(cr) ||
		cmapiutil.GetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady) != nil {
		return false
	}
	cr.Status.Conditions = append(cr.Status.Conditions, cmapi.CertificateRequestCondition{
		Type:    cmapi.CertificateRequestConditionReady,
		Status:  cmmeta.ConditionUnknown,
		Reason:  issuerapi.CertificateRequestConditionReasonInitializing,
		Message: "signing on this reconcile",
	})
	return true
}
