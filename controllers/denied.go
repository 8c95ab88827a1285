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
	"encoding/json"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmapplyv1 "github.com/cert-manager/cert-manager/pkg/client/applyconfigurations/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// deniedRequests gives a CertificateRequest that the approver denied, and
// never approved, its terminal Ready=False/Denied condition and failure
// time. issuer-lib v0.11.0 has that code, but its first gate tests its own
// Ready=False/Denied marker instead of the Denied condition, so it never
// reaches it for such a request (cert-manager/issuer-lib#507). Drop this
// once issuer-lib carries the fix.
type deniedRequests struct {
	client client.Client
	clock  clock.PassiveClock
}

func ourDeniedRequest(cr *cmapi.CertificateRequest) bool {
	return ourCertificateRequest(cr) &&
		cmapiutil.CertificateRequestIsDenied(cr) &&
		!cmapiutil.CertificateRequestIsApproved(cr) &&
		cmapiutil.GetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady) == nil
}

func (r *deniedRequests) setup(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("certificaterequest-denied").
		For(&cmapi.CertificateRequest{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			cr, ok := o.(*cmapi.CertificateRequest)
			return ok && ourDeniedRequest(cr)
		}))).
		Complete(r)
}

func (r *deniedRequests) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var cr cmapi.CertificateRequest
	if err := r.client.Get(ctx, req.NamespacedName, &cr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ourDeniedRequest(&cr) {
		return ctrl.Result{}, nil
	}
	now := metav1.NewTime(r.clock.Now())
	// Applied with issuer-lib's field owner: the condition is the one
	// issuer-lib would have written, and it owns the Ready condition.
	apply := cmapplyv1.CertificateRequest(cr.Name, cr.Namespace).WithStatus(cmapplyv1.CertificateRequestStatus().
		WithConditions(cmapplyv1.CertificateRequestCondition().
			WithType(cmapi.CertificateRequestConditionReady).
			WithStatus(cmmeta.ConditionFalse).
			WithReason(cmapi.CertificateRequestReasonDenied).
			WithMessage("Detected that the CertificateRequest is denied, so it will never be Ready.").
			WithLastTransitionTime(now)).
		WithFailureTime(now))
	body, err := json.Marshal(apply)
	if err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, r.client.Status().Patch(ctx, &cr, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner(fieldOwner), client.ForceOwnership)
}
