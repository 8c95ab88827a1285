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

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	acv1alpha1 "github.com/globalsign/atlas-issuer/api/applyconfiguration/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/internal/signing"
	"github.com/globalsign/atlas-issuer/internal/version"
)

// statusFieldOwner owns the status fields beyond the conditions, which
// issuer-lib owns under its own field manager.
const statusFieldOwner = "atlas-issuer-check"

// resolve turns an issuer object into what signing needs.
func (c *IssuerController) resolve(obj issuerapi.Issuer) (signing.Issuer, error) {
	r, err := v1alpha1.Resolve(obj, c.ClusterResourceNamespace)
	if err != nil {
		return signing.Issuer{}, err
	}
	return signing.Issuer{
		// The namespace is empty for cluster issuers.
		Key:       signing.IssuerRef{Kind: r.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}.Key(),
		Kind:      r.Kind,
		Namespace: obj.GetNamespace(),
		Name:      obj.GetName(),
		Secret:    r.Secret,
		Endpoint:  credentials.Endpoint{URL: r.URL, CABundle: r.Spec.CABundle},
	}, nil
}

// Check is issuer-lib's health check.
func (c *IssuerController) Check(ctx context.Context, obj issuerapi.Issuer) error {
	iss, err := c.resolve(obj)
	if err != nil {
		return err
	}
	h, checkErr := c.signer.Check(ctx, iss)
	if err := c.writeStatus(ctx, obj, h, signing.Cause(checkErr)); err != nil {
		log.FromContext(ctx).Error(err, "could not write issuer status")
	}
	if checkErr == nil {
		c.warnUnwatchedSecret(ctx, obj, iss.Secret)
	}
	if !h.CredentialsNotAfter.IsZero() {
		if left := time.Until(h.CredentialsNotAfter); left < signing.ExpiryWarning {
			c.recorder.Eventf(obj, nil, corev1.EventTypeWarning, "CredentialsExpiring", "Check",
				"The Atlas mTLS client certificate in secret %s expires at %s (in %d days); renew it in the Atlas portal and update the secret",
				iss.Secret, h.CredentialsNotAfter.UTC().Format(time.RFC3339), int(left.Hours()/24))
		}
	}
	return checkErr
}

// warnUnwatchedSecret tells users on the issuer when its Secret carries
// cert-manager's label for the Secrets cert-manager manages, which the
// Secret watch leaves out (notManagedByCertManager). Signing still works,
// but reads the Secret from the API server every time, and a rotation is
// seen at the next use rather than at once. It runs after a successful
// Check only: a Secret missing, forbidden or unusable has its own cause. A
// watched Secret is in the cache, which answers without a call; only a
// Secret missing from it is read, its metadata only.
func (c *IssuerController) warnUnwatchedSecret(ctx context.Context, obj issuerapi.Issuer, key types.NamespacedName) {
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := c.secretCache.Get(ctx, key, meta); !apierrors.IsNotFound(err) {
		return
	}
	if err := c.secretAPI.Get(ctx, key, meta); err != nil || meta.Labels[cmapi.PartOfCertManagerControllerLabelKey] != "true" {
		return
	}
	c.recorder.Eventf(obj, nil, corev1.EventTypeWarning, "SecretNotWatched", "Check",
		"Secret %s carries the label %s=true, which marks the Secrets cert-manager manages: the controller does not watch those, so it reads this Secret from the API server at every signing and sees a rotation only then; remove the label",
		key, cmapi.PartOfCertManagerControllerLabelKey)
}

// writeStatus applies the status fields beyond Ready with their own field
// manager, so issuer-lib's condition patches and ours never fight: the
// conditions are a list keyed by type, and the body names only Degraded,
// so statusFieldOwner never claims Ready.
// cause becomes status.reason, the Reason column of kubectl get.
func (c *IssuerController) writeStatus(ctx context.Context, obj issuerapi.Issuer, h signing.Health, cause string) error {
	status := acv1alpha1.AtlasIssuerStatus().
		WithLastCheckTime(metav1.NewTime(h.CheckedAt)).
		WithReason(cause).
		WithControllerVersion(version.Version)
	if h.PolicySummary != "" {
		status.WithValidationPolicy(h.PolicySummary)
	}
	if h.Quota != nil {
		status.WithRemainingQuota(*h.Quota)
	}
	if !h.CredentialsNotAfter.IsZero() {
		status.WithCredentialsNotAfter(metav1.NewTime(h.CredentialsNotAfter))
	}
	d := signing.DegradedCondition(h, apimeta.FindStatusCondition(obj.GetConditions(), signing.ConditionDegraded), obj.GetGeneration(), h.CheckedAt)
	status.WithConditions(metav1ac.Condition().WithType(d.Type).WithStatus(d.Status).WithReason(d.Reason).
		WithMessage(d.Message).WithObservedGeneration(d.ObservedGeneration).WithLastTransitionTime(d.LastTransitionTime))
	var body runtime.ApplyConfiguration
	switch obj.(type) {
	case *v1alpha1.AtlasClusterIssuer:
		body = acv1alpha1.AtlasClusterIssuer(obj.GetName()).WithStatus(status)
	case *v1alpha1.AtlasIssuer:
		body = acv1alpha1.AtlasIssuer(obj.GetName(), obj.GetNamespace()).WithStatus(status)
	default:
		return fmt.Errorf("write status: unexpected issuer type %T", obj)
	}
	return c.client.Status().Apply(ctx, body, client.FieldOwner(statusFieldOwner), client.ForceOwnership)
}

// notify tells users on the request what the mapping to the account's
// policy changed, such as a duration shortened to the policy's maximum.
func (c *IssuerController) notify(obj client.Object, notes []string) {
	c.recorder.Eventf(obj, nil, corev1.EventTypeNormal, "PolicyAdjusted", "Sign", "%s", strings.Join(notes, "; "))
}

// Sign is issuer-lib's signing function.
func (c *IssuerController) Sign(ctx context.Context, cr signer.CertificateRequestObject, obj issuerapi.Issuer) (signer.PEMBundle, error) {
	iss, err := c.resolve(obj)
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
	if err := c.admit(ctx, reqObj, obj); err != nil {
		return signer.PEMBundle{}, err
	}
	b, err := c.signer.Sign(ctx, signing.Request{Object: reqObj, Details: details}, iss)
	if err != nil {
		return signer.PEMBundle{}, err
	}
	return signer.PEMBundle{ChainPEM: b.ChainPEM, CAPEM: b.CAPEM}, nil
}

// warn tells users on the request about state the signer ignored.
func (c *IssuerController) warn(obj client.Object, reason, message string) {
	c.recorder.Eventf(obj, nil, corev1.EventTypeWarning, reason, "Sign", "%s", message)
}

// admit applies an AtlasClusterIssuer's namespaceSelector to the request's
// namespace, read as metadata only from the manager's cache.
func (c *IssuerController) admit(ctx context.Context, req client.Object, obj issuerapi.Issuer) error {
	ci, ok := obj.(*v1alpha1.AtlasClusterIssuer)
	if !ok || ci.Spec.NamespaceSelector == nil {
		return nil
	}
	var nsLabels map[string]string
	if name := req.GetNamespace(); name != "" {
		ns := &metav1.PartialObjectMetadata{}
		ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
		if err := c.client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
			return fmt.Errorf("read the labels of namespace %s: %w", name, err)
		}
		nsLabels = ns.Labels
	}
	return signing.AdmitNamespace(ci.Name, ci.Spec.NamespaceSelector, req.GetNamespace(), nsLabels)
}

// Annotator writes request annotations with a JSON merge patch of the
// request's metadata, sent through the client as a
// metav1.PartialObjectMetadata: controller-runtime sends it with the
// metadata client, and the API server answers with the request's metadata
// only, not its CSR and certificate chain. Annotate's patch carries the
// resourceVersion it read (the API server's optimistic lock), so a stale
// informer read fails with a conflict instead of leading to a second
// submission.
type Annotator struct {
	Client client.Client
}

// annotationPatch is the body of Annotate's merge patch: the annotations to
// set (a nil value removes one) and the resourceVersion they were read at,
// or for AnnotateOwn the object's UID instead.
type annotationPatch struct {
	Metadata struct {
		UID             types.UID          `json:"uid,omitempty"`
		ResourceVersion string             `json:"resourceVersion,omitempty"`
		Annotations     map[string]*string `json:"annotations"`
	} `json:"metadata"`
}

// Annotate sets and removes annotations on obj and refreshes obj's
// annotations and resourceVersion from the server's answer. When the write
// fails, obj is left as it was. The patch names only the annotations it
// changes: a diff of the whole object would encode the request, CSR
// included, twice.
func (a Annotator) Annotate(ctx context.Context, obj client.Object, set map[string]string, remove ...string) error {
	var p annotationPatch
	p.Metadata.ResourceVersion = obj.GetResourceVersion()
	return a.patch(ctx, obj, p, set, remove)
}

// AnnotateOwn sets annotations only the issuer writes, such as the serial
// of a certificate Atlas accepted, whatever the object's resourceVersion:
// the patch carries the object's UID instead, which the API server checks,
// so it lands on this request and no other of the same name, and a write
// by cert-manager or issuer-lib since the read cannot make it fail.
func (a Annotator) AnnotateOwn(ctx context.Context, obj client.Object, set map[string]string) error {
	var p annotationPatch
	p.Metadata.UID = obj.GetUID()
	if p.Metadata.UID == "" {
		return fmt.Errorf("annotate %s: the object has no UID", client.ObjectKeyFromObject(obj))
	}
	return a.patch(ctx, obj, p, set, nil)
}

func (a Annotator) patch(ctx context.Context, obj client.Object, p annotationPatch, set map[string]string, remove []string) error {
	key := client.ObjectKeyFromObject(obj)
	p.Metadata.Annotations = make(map[string]*string, len(set)+len(remove))
	for _, k := range remove {
		p.Metadata.Annotations[k] = nil
	}
	for k, v := range set {
		p.Metadata.Annotations[k] = &v
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("annotate %s: %w", key, err)
	}
	gvk, err := apiutil.GVKForObject(obj, a.Client.Scheme())
	if err != nil {
		return fmt.Errorf("annotate %s: %w", key, err)
	}
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(gvk)
	meta.SetNamespace(key.Namespace)
	meta.SetName(key.Name)
	if err := a.Client.Patch(ctx, meta, client.RawPatch(types.MergePatchType, body), client.FieldOwner(fieldOwner)); err != nil {
		return fmt.Errorf("annotate %s %s: %w", gvk.Kind, key, err)
	}
	obj.SetAnnotations(meta.GetAnnotations())
	obj.SetResourceVersion(meta.GetResourceVersion())
	return nil
}
