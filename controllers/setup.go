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
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	issuercontrollers "github.com/cert-manager/issuer-lib/controllers"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// FieldOwner is the field manager of issuer-lib's condition patches.
const FieldOwner = "atlas-issuer.hvca.globalsign.com"

// +kubebuilder:rbac:groups=hvca.globalsign.com,resources=atlasissuers;atlasclusterissuers,verbs=get;list;watch
// +kubebuilder:rbac:groups=hvca.globalsign.com,resources=atlasissuers/status;atlasclusterissuers/status,verbs=patch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificaterequests,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificaterequests/status,verbs=patch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=certificatesigningrequests/status,verbs=patch
// Kubernetes CSRs are served for cluster issuers only: issuer-lib refuses
// namespaced issuers there, rightly, since anyone who may create a
// cluster-scoped CSR could otherwise spend any namespace's Atlas account.
// +kubebuilder:rbac:groups=certificates.k8s.io,resources=signers,verbs=sign,resourceNames=atlasclusterissuers.hvca.globalsign.com/*
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete

// Options are the controller settings main.go takes from flags.
type Options struct {
	// MaxConcurrentRequests is the number of requests signed against Atlas
	// at once (the signing.Limiter holds that bound). The CertificateRequest
	// and CSR reconcilers each get twice as many workers, so that
	// issuer-lib's status patches and requests waiting for a slot never
	// leave a slot idle.
	MaxConcurrentRequests int
	// MaxRetryDuration is how long a request is retried on plain errors
	// before it fails. Zero would fail on the first transient error.
	MaxRetryDuration time.Duration
	// RecheckInterval re-runs Check on every issuer, since issuer-lib runs
	// it only on spec or annotation changes: quota and expiry drift.
	RecheckInterval time.Duration
}

// Setup registers the combined controller with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, a *Atlas, opts Options) error {
	if opts.MaxRetryDuration <= 0 {
		return fmt.Errorf("max retry duration must be positive, got %s", opts.MaxRetryDuration)
	}
	a.Signer.Notify = a.notify
	w := &wiring{atlas: a, opts: opts, cache: mgr.GetCache(), recheck: map[schema.GroupKind]chan event.GenericEvent{}}
	issuers := []issuerapi.Issuer{&v1alpha1.AtlasIssuer{}}
	clusterIssuers := []issuerapi.Issuer{&v1alpha1.AtlasClusterIssuer{}}
	for _, gk := range []schema.GroupKind{issuerGK, clusterIssuerGK} {
		w.recheck[gk] = make(chan event.GenericEvent, 64)
	}
	if opts.RecheckInterval > 0 {
		if err := mgr.Add(manager.RunnableFunc(w.runRecheck)); err != nil {
			return err
		}
	}
	if err := (&deniedRequests{client: mgr.GetClient(), now: time.Now}).setup(mgr); err != nil {
		return err
	}
	if err := watchSettled(ctx, mgr, a); err != nil {
		return err
	}
	return (&issuercontrollers.CombinedController{
		IssuerTypes:        issuers,
		ClusterIssuerTypes: clusterIssuers,
		FieldOwner:         FieldOwner,
		MaxRetryDuration:   opts.MaxRetryDuration,
		Check:              a.Check,
		Sign:               a.Sign,
		EventRecorder:      a.Recorder,
		// ca.crt holds the Atlas root, which users of Atlas's public
		// hierarchy expect there.
		SetCAOnCertificateRequest: true, //nolint:staticcheck // SA1019: deprecated upstream, still the only way to fill ca.crt.
		PreSetupWithManager:       w.preSetup,
	}).SetupWithManager(ctx, mgr)
}

// watchSettled tells the signer when the cache shows a CertificateRequest
// settled, so that it forgets what it kept to answer a reconcile that runs
// before the informer has seen the request's Ready condition.
func watchSettled(ctx context.Context, mgr ctrl.Manager, a *Atlas) error {
	if a.Signer == nil {
		return nil
	}
	inf, err := mgr.GetCache().GetInformer(ctx, &cmapi.CertificateRequest{})
	if err != nil {
		return err
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			if cr, ok := obj.(*cmapi.CertificateRequest); ok && settled(cr) {
				a.Signer.Settled(cr.UID)
			}
		},
	})
	return err
}

var (
	issuerGK        = schema.GroupKind{Group: v1alpha1.GroupVersion.Group, Kind: "AtlasIssuer"}
	clusterIssuerGK = schema.GroupKind{Group: v1alpha1.GroupVersion.Group, Kind: "AtlasClusterIssuer"}
	requestGKs      = map[schema.GroupKind]bool{
		{Group: cmapi.SchemeGroupVersion.Group, Kind: "CertificateRequest"}:                 true,
		{Group: certificatesv1.SchemeGroupVersion.Group, Kind: "CertificateSigningRequest"}: true,
	}
)

type wiring struct {
	atlas   *Atlas
	opts    Options
	cache   client.Reader
	recheck map[schema.GroupKind]chan event.GenericEvent
}

// preSetup adds what issuer-lib v0.11.0 lacks. For the issuer reconcilers:
// a metadata-only Secret watch (rotating a Secret re-checks its issuers at
// once, and no Secret data is cached) and the periodic recheck. For the
// request reconcilers: the worker count, since the combined controller's
// ControllerOptions do not reach them in this version.
func (w *wiring) preSetup(_ context.Context, gvk schema.GroupVersionKind, _ ctrl.Manager, b *builder.Builder) error {
	gk := gvk.GroupKind()
	switch {
	case gk == issuerGK || gk == clusterIssuerGK:
		b.WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(w.issuersUsingSecret(gk)))
		b.WatchesRawSource(source.Channel(w.recheck[gk], &handler.EnqueueRequestForObject{}))
	case requestGKs[gk]:
		b.WithOptions(controller.Options{MaxConcurrentReconciles: 2 * max(w.opts.MaxConcurrentRequests, 1)})
		b.WithEventFilter(skipOwnAnnotationWrites)
	}
	return nil
}

// issuersUsingSecret maps a Secret event to the issuers of one kind that
// read it.
func (w *wiring) issuersUsingSecret(gk schema.GroupKind) handler.MapFunc {
	return func(ctx context.Context, secret client.Object) []reconcile.Request {
		var reqs []reconcile.Request
		switch gk {
		case issuerGK:
			var list v1alpha1.AtlasIssuerList
			if err := w.cache.List(ctx, &list, client.InNamespace(secret.GetNamespace())); err != nil {
				log.FromContext(ctx).Error(err, "list AtlasIssuers for secret", "secret", client.ObjectKeyFromObject(secret))
				return nil
			}
			for _, iss := range list.Items {
				if iss.Spec.AuthSecretName == secret.GetName() {
					reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: iss.Namespace, Name: iss.Name}})
				}
			}
		case clusterIssuerGK:
			if secret.GetNamespace() != w.atlas.ClusterResourceNamespace {
				return nil
			}
			var list v1alpha1.AtlasClusterIssuerList
			if err := w.cache.List(ctx, &list); err != nil {
				log.FromContext(ctx).Error(err, "list AtlasClusterIssuers for secret", "secret", client.ObjectKeyFromObject(secret))
				return nil
			}
			for _, iss := range list.Items {
				if iss.Spec.AuthSecretName == secret.GetName() {
					reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Name: iss.Name}})
				}
			}
		}
		return reqs
	}
}

// runRecheck sends every issuer to its reconciler at the recheck interval.
// It runs only on the leader, like the reconcilers.
func (w *wiring) runRecheck(ctx context.Context) error {
	t := time.NewTicker(w.opts.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var issuers v1alpha1.AtlasIssuerList
		if err := w.cache.List(ctx, &issuers); err == nil {
			for i := range issuers.Items {
				if !w.send(ctx, issuerGK, &issuers.Items[i]) {
					return nil
				}
			}
		}
		var clusterIssuers v1alpha1.AtlasClusterIssuerList
		if err := w.cache.List(ctx, &clusterIssuers); err == nil {
			for i := range clusterIssuers.Items {
				if !w.send(ctx, clusterIssuerGK, &clusterIssuers.Items[i]) {
					return nil
				}
			}
		}
	}
}

func (w *wiring) send(ctx context.Context, gk schema.GroupKind, obj client.Object) bool {
	select {
	case w.recheck[gk] <- event.GenericEvent{Object: obj}:
		return true
	case <-ctx.Done():
		return false
	}
}
