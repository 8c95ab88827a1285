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

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	issuercontrollers "github.com/cert-manager/issuer-lib/controllers"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
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
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/internal/signing"
)

// fieldOwner is the field manager of issuer-lib's condition patches.
const fieldOwner = "atlas-issuer.hvca.globalsign.com"

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
// The labels of namespaces, for an AtlasClusterIssuer's namespaceSelector.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// Leader election needs Leases in the manager's own namespace only
// ("system" is the namespace kustomize rewrites to the install's):
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete,namespace=system

// IssuerController runs the AtlasIssuer and AtlasClusterIssuer
// reconcilers and the CertificateRequest and Kubernetes CSR signers of
// issuer-lib's combined controller, with Check and Sign backed by
// internal/signing.
type IssuerController struct {
	Options
	// Registry receives the Atlas and signing metrics.
	Registry prometheus.Registerer
	// Failpoint, when set, is called at the named points of the signing
	// state machine (package failpoint); chaos tests crash the process there.
	Failpoint func(name string)
	// Clock tells the time to every part (the signer, the Atlas clients,
	// the Secret loader, issuer-lib's condition timestamps) and drives the
	// periodic recheck. Nil means clock.RealClock.
	Clock clock.WithTicker

	signer   *signing.Signer
	client   client.Client
	recorder events.EventRecorder
	// secretCache holds the metadata of the watched Secrets; secretAPI
	// reads any other from the API server.
	secretCache, secretAPI client.Reader
}

// SetupWithManager builds the signer and registers the controllers with
// the manager, which must have been built with Options.ManagerOptions.
func (c *IssuerController) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	c.client = mgr.GetClient()
	c.recorder = mgr.GetEventRecorder("atlas-issuer")
	c.secretCache, c.secretAPI = mgr.GetCache(), mgr.GetAPIReader()
	var err error
	if c.signer, err = c.newSigner(ctx, mgr); err != nil {
		return err
	}
	setup := &controllerSetup{issuers: c, cache: mgr.GetCache(), recheck: map[schema.GroupKind]chan event.GenericEvent{}, grants: newSlotGrants()}
	for _, gk := range issuerKinds {
		setup.recheck[gk] = make(chan event.GenericEvent, 64)
	}
	c.signer.Wake = setup.grants.wake
	if c.RecheckInterval > 0 {
		if err := mgr.Add(manager.RunnableFunc(setup.runRecheck)); err != nil {
			return err
		}
	}
	if err := (&deniedRequests{client: mgr.GetClient(), clock: c.Clock}).setup(mgr); err != nil {
		return err
	}
	if err := c.watchSettled(ctx, mgr); err != nil {
		return err
	}
	if err := c.watchForget(ctx, mgr); err != nil {
		return err
	}
	return (&issuercontrollers.CombinedController{
		IssuerTypes:        []issuerapi.Issuer{&v1alpha1.AtlasIssuer{}},
		ClusterIssuerTypes: []issuerapi.Issuer{&v1alpha1.AtlasClusterIssuer{}},
		FieldOwner:         fieldOwner,
		Clock:              c.Clock,
		MaxRetryDuration:   c.MaxRetryDuration,
		// Reaches the issuer reconcilers only: issuers are checked several
		// at once, each within CheckTimeout.
		ControllerOptions: controller.Options{MaxConcurrentReconciles: c.IssuerWorkers},
		Check:             c.Check,
		Sign:              c.Sign,
		EventRecorder:     c.recorder,
		// ca.crt holds the Atlas root, which users of Atlas's public
		// hierarchy expect there.
		SetCAOnCertificateRequest: true, //nolint:staticcheck // SA1019: deprecated upstream, still the only way to fill ca.crt.
		PreSetupWithManager:       setup.preSetup,
	}).SetupWithManager(ctx, mgr)
}

// newSigner builds the signing core: the Atlas client cache, the Secret
// loader and the limiter. Options.Validate has parsed the URL allowlist.
func (c *IssuerController) newSigner(ctx context.Context, mgr ctrl.Manager) (*signing.Signer, error) {
	allowed, err := c.allowedURLs()
	if err != nil {
		return nil, err
	}
	clients := credentials.NewCache(atlas.Config{
		Timeout:     c.AtlasTimeout,
		Metrics:     atlas.NewMetrics(c.Registry),
		Logger:      ctrl.Log.WithName("atlas"),
		Clock:       c.Clock,
		AllowedURLs: allowed,
	})
	loader := &credentials.Loader{Cache: clients, Metadata: mgr.GetCache(), API: mgr.GetAPIReader(), Namespaces: c.secretNamespaces(), Clock: c.Clock}
	s := signing.New(loader, Annotator{Client: mgr.GetClient()}, signing.NewMetrics(c.Registry), c.Clock)
	s.LookupGrace = c.LookupGrace
	s.ResubmitUndecidedAfter = c.ResubmitUndecidedAfter
	s.Limiter = signing.NewLimiter(c.MaxConcurrentRequests, c.IssuerShare, c.Clock)
	s.SignTimeout = c.SignTimeout
	s.CheckTimeout = c.CheckTimeout
	s.Notify = c.notify
	s.Warn = c.warn
	s.Failpoint = c.Failpoint
	if err := indexSiblings(ctx, mgr.GetFieldIndexer()); err != nil {
		return nil, fmt.Errorf("index CertificateRequests by Certificate revision: %w", err)
	}
	s.Siblings = siblingLister(mgr.GetClient(), mgr.GetAPIReader())
	return s, nil
}

// watchSettled tells the signer when the cache shows a CertificateRequest
// settled or deleted, so that it forgets what it kept to answer a reconcile
// that runs before the informer has seen the request's Ready condition,
// and gives up the request's place in line for an Atlas slot.
func (c *IssuerController) watchSettled(ctx context.Context, mgr ctrl.Manager) error {
	inf, err := mgr.GetCache().GetInformer(ctx, &cmapi.CertificateRequest{})
	if err != nil {
		return err
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) {
			if cr, ok := obj.(*cmapi.CertificateRequest); ok && settled(cr) {
				c.signer.Settled(cr.UID)
			}
		},
		DeleteFunc: func(obj any) {
			if o := objectOf(obj); o != nil {
				c.signer.Settled(o.GetUID())
			}
		},
	})
	return err
}

var (
	issuerGK        = schema.GroupKind{Group: v1alpha1.GroupVersion.Group, Kind: "AtlasIssuer"}
	clusterIssuerGK = schema.GroupKind{Group: v1alpha1.GroupVersion.Group, Kind: "AtlasClusterIssuer"}
	issuerKinds     = []schema.GroupKind{issuerGK, clusterIssuerGK}
)

// controllerSetup holds what the issuer-lib hooks and the periodic
// recheck share.
type controllerSetup struct {
	issuers *IssuerController
	cache   client.Reader
	recheck map[schema.GroupKind]chan event.GenericEvent
	grants  slotGrants
}

// preSetup adds what issuer-lib v0.11.0 lacks. For the issuer reconcilers:
// a metadata-only Secret watch (rotating a Secret re-checks its issuers at
// once, and no Secret data is cached) and the periodic recheck. For the
// request reconcilers: the worker count, since the combined controller's
// ControllerOptions do not reach them in this version, the filters that
// keep requests with nothing to do out of the work queue, and the source
// that brings back a request granted an Atlas slot (slotGrants).
func (cs *controllerSetup) preSetup(_ context.Context, gvk schema.GroupVersionKind, _ ctrl.Manager, b *builder.Builder) error {
	gk := gvk.GroupKind()
	switch gk {
	case issuerGK, clusterIssuerGK:
		b.WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(cs.issuersUsingSecret(gk)))
		b.WatchesRawSource(source.Channel(cs.recheck[gk], &handler.EnqueueRequestForObject{}))
	case certificateRequestGK, signingRequestGK:
		b.WithOptions(controller.Options{MaxConcurrentReconciles: 2 * cs.issuers.MaxConcurrentRequests})
		b.WithEventFilter(skipOwnAnnotationWrites)
		b.WithEventFilter(reconcilableRequests)
		b.WatchesRawSource(cs.grants.source(gk))
	}
	return nil
}

// issuersUsingSecret maps a Secret event to the issuers of one kind that
// read it, leaving out those whose running or last successful check read
// the version the event shows (checkedWith). It runs for every Secret event
// of the watched namespaces, most of them for Secrets no issuer reads, so
// it lists the issuers that could read the Secret (an AtlasIssuer of its
// namespace, an AtlasClusterIssuer when it is in the cluster resource
// namespace) from the cache without copying them: it only reads their
// Secret reference.
func (cs *controllerSetup) issuersUsingSecret(gk schema.GroupKind) handler.MapFunc {
	return func(ctx context.Context, secret client.Object) []reconcile.Request {
		key := client.ObjectKeyFromObject(secret)
		opts := []client.ListOption{client.UnsafeDisableDeepCopy}
		if gk == issuerGK {
			opts = append(opts, client.InNamespace(secret.GetNamespace()))
		} else if secret.GetNamespace() != cs.issuers.ClusterResourceNamespace {
			return nil
		}
		issuers, err := listIssuers(ctx, cs.cache, gk, opts...)
		if err != nil {
			log.FromContext(ctx).Error(err, "map a Secret event to its issuers", "secret", key)
			return nil
		}
		var reqs []reconcile.Request
		var checked func(issuerKey string) bool
		for _, iss := range issuers {
			r, err := v1alpha1.Resolve(iss, cs.issuers.ClusterResourceNamespace)
			if err != nil || r.Secret != key {
				continue
			}
			// Read the Secret's cached version only for an event some
			// issuer reads: most Secret events are for no issuer's Secret.
			if checked == nil {
				checked = cs.checkedWith(ctx, secret)
			}
			if checked(signing.IssuerRef{Kind: r.Kind, Namespace: iss.GetNamespace(), Name: iss.GetName()}.Key()) {
				continue
			}
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(iss)})
		}
		return reqs
	}
}

// issuerLists makes an empty list of each issuer kind.
var issuerLists = map[schema.GroupKind]func() client.ObjectList{
	issuerGK:        func() client.ObjectList { return &v1alpha1.AtlasIssuerList{} },
	clusterIssuerGK: func() client.ObjectList { return &v1alpha1.AtlasClusterIssuerList{} },
}

// listIssuers lists the issuers of kind gk, AtlasIssuer or
// AtlasClusterIssuer, from c. The issuers point into the list; with
// client.UnsafeDisableDeepCopy they are the cache's own and must not be
// changed.
func listIssuers(ctx context.Context, c client.Reader, gk schema.GroupKind, opts ...client.ListOption) ([]issuerapi.Issuer, error) {
	newList, ok := issuerLists[gk]
	if !ok {
		return nil, fmt.Errorf("list issuers: %s is not an issuer kind", gk)
	}
	list := newList()
	if err := c.List(ctx, list, opts...); err != nil {
		return nil, fmt.Errorf("list %ss: %w", gk.Kind, err)
	}
	var issuers []issuerapi.Issuer
	err := apimeta.EachListItem(list, func(obj runtime.Object) error {
		iss, ok := obj.(issuerapi.Issuer)
		if !ok {
			return fmt.Errorf("list %ss: item %T is not an issuer", gk.Kind, obj)
		}
		issuers = append(issuers, iss)
		return nil
	})
	return issuers, err
}

// checkedWith returns whether an issuer's running or last successful check
// read the Secret version of the event, which then needs no check: a new
// issuer's first check can read its Secret from the API before the Secret
// informer has delivered it, and the informer's late Add would check the
// issuer a second time within a second, for three more Atlas calls. Only a
// version the cache still holds counts, so that a delete (gone from the
// cache before its event is handled) and the old side of an update are
// never skipped; a changed or recreated Secret has another version.
func (cs *controllerSetup) checkedWith(ctx context.Context, secret client.Object) func(issuerKey string) bool {
	cur := &metav1.PartialObjectMetadata{}
	cur.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := cs.cache.Get(ctx, client.ObjectKeyFromObject(secret), cur); err != nil ||
		cur.UID != secret.GetUID() || cur.ResourceVersion != secret.GetResourceVersion() || cs.issuers.signer == nil {
		return func(string) bool { return false }
	}
	return func(issuerKey string) bool {
		return cs.issuers.signer.CheckedWith(issuerKey, cur.UID, cur.ResourceVersion)
	}
}

// runRecheck sends every issuer to its reconciler at the recheck interval.
// It runs only on the leader, like the reconcilers.
func (cs *controllerSetup) runRecheck(ctx context.Context) error {
	t := cs.issuers.Clock.NewTicker(cs.issuers.RecheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		}
		for _, gk := range issuerKinds {
			issuers, err := listIssuers(ctx, cs.cache, gk)
			if err != nil {
				log.FromContext(ctx).Error(err, "periodic recheck")
				continue
			}
			for _, iss := range issuers {
				if !cs.send(ctx, gk, iss) {
					return nil
				}
			}
		}
	}
}

func (cs *controllerSetup) send(ctx context.Context, gk schema.GroupKind, obj client.Object) bool {
	select {
	case cs.recheck[gk] <- event.GenericEvent{Object: obj}:
		return true
	case <-ctx.Done():
		return false
	}
}
