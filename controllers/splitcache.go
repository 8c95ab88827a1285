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
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// newSplitCache returns a manager cache that keeps the given kinds (the
// requests: CertificateRequests and Kubernetes CSRs) in an informer cache of
// their own, which the manager does not wait for before it starts the
// controllers.
//
// controller-runtime starts no controller until every informer registered
// at setup has listed the cluster, and issuer-lib registers the request
// informers at setup (for its issuer index). Without the split, a
// restarted manager marks a new issuer Ready only after listing every
// CertificateRequest in the cluster, which takes longer the more requests
// the cluster keeps. The issuer reconcilers read only issuers and Secret
// metadata, so they need not wait. The request reconcilers still do:
// controller-runtime's Kind source waits until its own informer has
// delivered the initial list, and reads from an informer that has not
// synced block until it has.
func newSplitCache(apart ...client.Object) cache.NewCacheFunc {
	return func(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
		kinds := map[schema.GroupKind]bool{}
		for _, obj := range apart {
			gvk, err := apiutil.GVKForObject(obj, opts.Scheme)
			if err != nil {
				return nil, fmt.Errorf("split cache: %w", err)
			}
			kinds[gvk.GroupKind()] = true
		}
		main, err := cache.New(cfg, opts)
		if err != nil {
			return nil, err
		}
		aside, err := cache.New(cfg, opts)
		if err != nil {
			return nil, err
		}
		return &splitCache{Cache: main, apart: aside, kinds: kinds, scheme: opts.Scheme}, nil
	}
}

// splitCache serves the kinds in kinds from apart and everything else from
// the embedded cache; WaitForCacheSync, which the manager waits on before
// starting controllers, asks the embedded cache only.
type splitCache struct {
	cache.Cache
	apart  cache.Cache
	kinds  map[schema.GroupKind]bool
	scheme *runtime.Scheme
}

func (c *splitCache) isApart(gvk schema.GroupVersionKind) bool {
	gk := gvk.GroupKind()
	gk.Kind = strings.TrimSuffix(gk.Kind, "List")
	return c.kinds[gk]
}

// pick returns the cache that holds obj's kind. An object whose kind cannot
// be told goes to the main cache, which then reports the error.
func (c *splitCache) pick(obj runtime.Object) cache.Cache {
	gvk, err := apiutil.GVKForObject(obj, c.scheme)
	if err == nil && c.isApart(gvk) {
		return c.apart
	}
	return c.Cache
}

func (c *splitCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return c.pick(obj).Get(ctx, key, obj, opts...)
}

func (c *splitCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.pick(list).List(ctx, list, opts...)
}

func (c *splitCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	return c.pick(obj).GetInformer(ctx, obj, opts...)
}

func (c *splitCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	if c.isApart(gvk) {
		return c.apart.GetInformerForKind(ctx, gvk, opts...)
	}
	return c.Cache.GetInformerForKind(ctx, gvk, opts...)
}

func (c *splitCache) RemoveInformer(ctx context.Context, obj client.Object) error {
	return c.pick(obj).RemoveInformer(ctx, obj)
}

func (c *splitCache) IndexField(ctx context.Context, obj client.Object, field string, extract client.IndexerFunc) error {
	return c.pick(obj).IndexField(ctx, obj, field, extract)
}

// Start runs both caches until ctx ends or either fails; then it stops the
// other and returns the first error.
func (c *splitCache) Start(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- c.Cache.Start(ctx) }()
	go func() {
		if err := c.apart.Start(ctx); err != nil {
			errc <- fmt.Errorf("request cache: %w", err)
			return
		}
		errc <- nil
	}()
	err := <-errc
	cancel()
	if err2 := <-errc; err == nil {
		err = err2
	}
	return err
}

// requestsApart is newSplitCache for the two request kinds the issuer signs.
func requestsApart() cache.NewCacheFunc {
	return newSplitCache(&cmapi.CertificateRequest{}, &certificatesv1.CertificateSigningRequest{})
}
