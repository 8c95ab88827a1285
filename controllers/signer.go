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

// Package controllers wires the Atlas signer into issuer-lib's combined
// controller. It stays thin: it resolves issuer objects and persists status
// and annotations; the Atlas logic lives in internal/signing.
package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/internal/signing"
)

// StatusFieldOwner owns the status fields beyond the conditions, which
// issuer-lib owns under its own field manager.
const StatusFieldOwner = "atlas-issuer-check"

// Atlas adapts internal/signing to issuer-lib's Check and Sign.
type Atlas struct {
	Signer *signing.Signer
	// Client writes issuer status.
	Client client.Client
	// Recorder emits the credential-expiry warning.
	Recorder events.EventRecorder
	// ClusterResourceNamespace holds AtlasClusterIssuer Secrets.
	ClusterResourceNamespace string
	Now                      func() time.Time
}

func (a *Atlas) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// resolve turns an issuer object into what signing needs. An AtlasIssuer
// reads its Secret from its own namespace only, so one namespace's issuer
// can never use another namespace's credentials.
func (a *Atlas) resolve(obj issuerapi.Issuer) (signing.Issuer, error) {
	var spec *v1alpha1.AtlasIssuerSpec
	var iss signing.Issuer
	switch t := obj.(type) {
	case *v1alpha1.AtlasIssuer:
		spec = &t.Spec
		iss = signing.Issuer{Kind: "AtlasIssuer", Name: t.Name, Secret: types.NamespacedName{Namespace: t.Namespace, Name: spec.AuthSecretName}}
		iss.Key = "AtlasIssuer/" + t.Namespace + "/" + t.Name
	case *v1alpha1.AtlasClusterIssuer:
		spec = &t.Spec
		iss = signing.Issuer{Kind: "AtlasClusterIssuer", Name: t.Name, Secret: types.NamespacedName{Namespace: a.ClusterResourceNamespace, Name: spec.AuthSecretName}}
		iss.Key = "AtlasClusterIssuer//" + t.Name
	default:
		return signing.Issuer{}, fmt.Errorf("unexpected issuer type %T", obj)
	}
	url := spec.URL
	if url == "" {
		url = v1alpha1.DefaultURL
	}
	iss.Endpoint = credentials.Endpoint{URL: url, CABundle: spec.CABundle}
	return iss, nil
}

// Check is issuer-lib's health check.
func (a *Atlas) Check(ctx context.Context, obj issuerapi.Issuer) error {
	iss, err := a.resolve(obj)
	if err != nil {
		return err
	}
	h, checkErr := a.Signer.Check(ctx, iss)
	if err := a.writeStatus(ctx, obj, h); err != nil {
		log.FromContext(ctx).Error(err, "could not write issuer status")
	}
	if !h.CredentialsNotAfter.IsZero() {
		if left := h.CredentialsNotAfter.Sub(a.now()); left < signing.ExpiryWarning {
			a.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, "CredentialsExpiring", "Check",
				"The Atlas mTLS client certificate in secret %s expires at %s (in %d days); renew it in the Atlas portal and update the secret",
				iss.Secret, h.CredentialsNotAfter.UTC().Format(time.RFC3339), int(left.Hours()/24))
		}
	}
	return checkErr
}

// writeStatus applies the status fields beyond the conditions with their own
// field manager, so issuer-lib's condition patches and ours never fight.
func (a *Atlas) writeStatus(ctx context.Context, obj issuerapi.Issuer, h signing.Health) error {
	status := map[string]any{"lastCheckTime": metav1.NewTime(h.CheckedAt)}
	if !h.CredentialsNotAfter.IsZero() {
		status["credentialsNotAfter"] = metav1.NewTime(h.CredentialsNotAfter)
	}
	if h.Quota != nil {
		status["remainingQuota"] = *h.Quota
	}
	if h.PolicySummary != "" {
		status["validationPolicy"] = h.PolicySummary
	}
	gvk, err := a.Client.GroupVersionKindFor(obj)
	if err != nil {
		return err
	}
	meta := map[string]any{"name": obj.GetName()}
	if obj.GetNamespace() != "" {
		meta["namespace"] = obj.GetNamespace()
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": gvk.GroupVersion().String(),
		"kind":       gvk.Kind,
		"metadata":   meta,
		"status":     status,
	})
	if err != nil {
		return err
	}
	target := obj.DeepCopyObject().(client.Object)
	return a.Client.Status().Patch(ctx, target, client.RawPatch(types.ApplyPatchType, body),
		client.FieldOwner(StatusFieldOwner), client.ForceOwnership)
}

// notify tells users on the request what the mapping to the account's
// policy changed, such as a duration shortened to the policy's maximum.
func (a *Atlas) notify(obj client.Object, notes []string) {
	a.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, "PolicyAdjusted", "Sign", "%s", strings.Join(notes, "; "))
}

// Sign is issuer-lib's signing function.
func (a *Atlas) Sign(ctx context.Context, cr signer.CertificateRequestObject, obj issuerapi.Issuer) (signer.PEMBundle, error) {
	iss, err := a.resolve(obj)
	if err != nil {
		return signer.PEMBundle{}, err
	}
	details, err := cr.GetCertificateDetails()
	if err != nil {
		return signer.PEMBundle{}, signer.PermanentError{Err: fmt.Errorf("read request: %w", err)}
	}
	ro, ok := cr.(runtime.Object)
	if !ok {
		return signer.PEMBundle{}, fmt.Errorf("request %T is not a Kubernetes object", cr)
	}
	reqObj, ok := ro.DeepCopyObject().(client.Object)
	if !ok {
		return signer.PEMBundle{}, fmt.Errorf("request %T is not a Kubernetes object", cr)
	}
	b, err := a.Signer.Sign(ctx, signing.Request{Object: reqObj, Details: details}, iss)
	if err != nil {
		return signer.PEMBundle{}, err
	}
	return signer.PEMBundle{ChainPEM: b.ChainPEM, CAPEM: b.CAPEM}, nil
}

// Annotator writes request annotations with a JSON merge patch that carries
// the resourceVersion it read, so a stale informer read fails with a
// conflict instead of leading to a second submission.
type Annotator struct {
	Client client.Client
}

// Annotate sets and removes annotations on obj and refreshes obj from the
// server's answer.
func (a Annotator) Annotate(ctx context.Context, obj client.Object, set map[string]string, remove ...string) error {
	ann := map[string]any{}
	for k, v := range set {
		ann[k] = v
	}
	for _, k := range remove {
		ann[k] = nil
	}
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": ann, "resourceVersion": obj.GetResourceVersion()},
	})
	if err != nil {
		return err
	}
	return a.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, body))
}
