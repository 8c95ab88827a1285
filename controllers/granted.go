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

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// slotGrantBuffer is how many granted requests may wait for their
// reconciler's source to pick them up: far more than slots free at once.
const slotGrantBuffer = 1024

// slotGrantPriority is the work queue priority of a request granted an
// Atlas slot, above the default of 0 that every other event gets.
const slotGrantPriority = 100

var (
	certificateRequestGK = schema.GroupKind{Group: cmapi.SchemeGroupVersion.Group, Kind: "CertificateRequest"}
	signingRequestGK     = schema.GroupKind{Group: certificatesv1.SchemeGroupVersion.Group, Kind: "CertificateSigningRequest"}
)

// slotGrants brings a request whose place in line was granted an Atlas slot
// back to its reconciler (signing.Signer.Wake), through a channel source of
// each request controller. The slot is held idle for the request until its
// Sign takes it, so the request goes ahead of the rest of the work queue.
type slotGrants map[schema.GroupKind]chan event.GenericEvent

func newSlotGrants() slotGrants {
	return slotGrants{
		certificateRequestGK: make(chan event.GenericEvent, slotGrantBuffer),
		signingRequestGK:     make(chan event.GenericEvent, slotGrantBuffer),
	}
}

// wake sends obj to its reconciler. It never blocks, since it runs where a
// slot is released, inside another request's Sign: a wake that finds the
// channel full is dropped, and the request comes back at the requeue of
// its pending Sign instead, within the time the grant is held for it.
func (g slotGrants) wake(obj client.Object) {
	var gk schema.GroupKind
	switch obj.(type) {
	case *cmapi.CertificateRequest:
		gk = certificateRequestGK
	case *certificatesv1.CertificateSigningRequest:
		gk = signingRequestGK
	default:
		return
	}
	select {
	case g[gk] <- event.GenericEvent{Object: obj}:
	default:
	}
}

// source is the channel source of gk's grants for gk's request controller,
// nil for any other kind.
func (g slotGrants) source(gk schema.GroupKind) source.Source {
	ch, ok := g[gk]
	if !ok {
		return nil
	}
	return source.Channel(ch, enqueueGranted)
}

// enqueueGranted enqueues a granted request with slotGrantPriority when the
// controller's queue is controller-runtime's priority queue (its default),
// and plainly otherwise.
var enqueueGranted = handler.Funcs{
	GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.Object)}
		if pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request]); ok {
			pq.AddWithOpts(priorityqueue.AddOpts{Priority: new(slotGrantPriority)}, req)
			return
		}
		q.Add(req)
	},
}
