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

	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/signing"
)

// forgetter is what the signer forgets on events.
type forgetter interface {
	IssuerChanged(old, updated signing.Issuer)
	IssuerDeleted(signing.IssuerRef)
	SecretChanged(key types.NamespacedName, keep string)
}

// watchForget tells the signer when an issuer's spec changes or the issuer
// is deleted, and when a Secret changes or is deleted, so that what it
// keeps per issuer and per Secret (clients, tokens, decrypted keys,
// policies, trust chains, metric series) goes with them. issuer-lib's
// reconcilers do not report deletes, and the informers see every replica's
// events, not only the leader's, as every replica keeps such state.
func (c *IssuerController) watchForget(ctx context.Context, mgr ctrl.Manager) error {
	issuers := map[string]client.Object{issuerGK.Kind: &v1alpha1.AtlasIssuer{}, clusterIssuerGK.Kind: &v1alpha1.AtlasClusterIssuer{}}
	for kind, obj := range issuers {
		inf, err := mgr.GetCache().GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(issuerEvents{kind: kind, resolve: c.resolve, to: c.signer}); err != nil {
			return err
		}
	}
	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	inf, err := mgr.GetCache().GetInformer(ctx, secretMeta)
	if err != nil {
		return err
	}
	_, err = inf.AddEventHandler(secretEvents{to: c.signer})
	return err
}

// issuerEvents maps an issuer kind's events to the signer: a spec change
// (a new generation), resolved before and after, or a delete.
type issuerEvents struct {
	kind    string
	resolve func(issuerapi.Issuer) (signing.Issuer, error)
	to      forgetter
}

func (h issuerEvents) ref(obj metav1.Object) signing.IssuerRef {
	return signing.IssuerRef{Kind: h.kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

func (issuerEvents) OnAdd(any, bool) {}

func (h issuerEvents) OnUpdate(oldObj, newObj any) {
	o, okOld := oldObj.(issuerapi.Issuer)
	n, okNew := newObj.(issuerapi.Issuer)
	if !okOld || !okNew || o.GetGeneration() == n.GetGeneration() {
		return
	}
	old, errOld := h.resolve(o)
	updated, errNew := h.resolve(n)
	if errOld == nil && errNew == nil {
		h.to.IssuerChanged(old, updated)
	}
}

func (h issuerEvents) OnDelete(obj any) {
	if o := objectOf(obj); o != nil {
		h.to.IssuerDeleted(h.ref(o))
	}
}

// secretEvents maps Secret metadata events to the signer: a new
// resourceVersion (resyncs repeat the old one) or a delete.
type secretEvents struct{ to forgetter }

func (secretEvents) OnAdd(any, bool) {}

func (h secretEvents) OnUpdate(oldObj, newObj any) {
	o, n := objectOf(oldObj), objectOf(newObj)
	if o != nil && n != nil && o.GetResourceVersion() != n.GetResourceVersion() {
		h.to.SecretChanged(types.NamespacedName{Namespace: n.GetNamespace(), Name: n.GetName()}, n.GetResourceVersion())
	}
}

func (h secretEvents) OnDelete(obj any) {
	if o := objectOf(obj); o != nil {
		h.to.SecretChanged(types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}, "")
	}
}

// objectOf returns the object of an informer event, unwrapping the
// tombstone of a delete the informer missed.
func objectOf(obj any) metav1.Object {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	o, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	return o
}
