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
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

type syncedInformer struct {
	cache.Informer
	synced bool
}

func (s syncedInformer) HasSynced() bool { return s.synced }

// informerCache hands out one informer for every kind and counts the
// kinds asked for.
type informerCache struct {
	cache.Cache
	inf   cache.Informer
	asked *int
}

func (c informerCache) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	*c.asked++
	return c.inf, nil
}

func TestAfterListedRunsOnceTheRequestInformersSynced(t *testing.T) {
	asked, ran := 0, 0
	a := afterListed{cache: informerCache{inf: syncedInformer{synced: true}, asked: &asked}, then: func() { ran++ }}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ran != 1 || asked != 2 {
		t.Errorf("ran %d times after asking for %d informers, want once after both request kinds", ran, asked)
	}
	if a.NeedLeaderElection() {
		t.Error("every replica lists the cluster, so it must run without leadership")
	}
}

func TestAfterListedDoesNotRunBeforeTheInformersSync(t *testing.T) {
	asked, ran := 0, 0
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := afterListed{cache: informerCache{inf: syncedInformer{synced: false}, asked: &asked}, then: func() { ran++ }}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if ran != 0 {
		t.Errorf("ran %d times with informers that never synced", ran)
	}
}
