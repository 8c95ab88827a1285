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

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// TestSlotGrantsWake: a granted request goes to its own kind's channel,
// anything else nowhere, and a full channel drops the wake instead of
// blocking the release that sent it.
func TestSlotGrantsWake(t *testing.T) {
	g := newSlotGrants()
	cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "cr"}}
	csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "csr"}}
	g.wake(cr)
	g.wake(csr)
	g.wake(&corev1.Secret{})
	if e := <-g[certificateRequestGK]; e.Object != cr {
		t.Errorf("CertificateRequest channel got %v", e.Object)
	}
	if e := <-g[signingRequestGK]; e.Object != csr {
		t.Errorf("CSR channel got %v", e.Object)
	}
	for range slotGrantBuffer + 1 {
		g.wake(cr)
	}
	if n := len(g[certificateRequestGK]); n != slotGrantBuffer {
		t.Errorf("channel holds %d wakes, want %d", n, slotGrantBuffer)
	}
	if g.source(issuerGK) != nil || g.source(certificateRequestGK) == nil {
		t.Error("a source for an issuer kind, or none for a request kind")
	}
}

// TestEnqueueGranted: a granted request goes ahead of what the priority
// queue already holds at the default priority, and into a plain queue
// too.
func TestEnqueueGranted(t *testing.T) {
	pq := priorityqueue.New[reconcile.Request]("test")
	defer pq.ShutDown()
	pq.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "ns", Name: "other"}})
	cr := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "granted"}}
	enqueueGranted.Generic(context.Background(), event.GenericEvent{Object: cr}, pq)
	item, priority, _ := pq.GetWithPriority()
	if item.Name != "granted" || priority != slotGrantPriority {
		t.Errorf("first out = %s at priority %d, want granted at %d", item.Name, priority, slotGrantPriority)
	}

	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	enqueueGranted.Generic(context.Background(), event.GenericEvent{Object: cr}, q)
	if item, _ := q.Get(); item.Name != "granted" {
		t.Errorf("plain queue got %s, want granted", item.Name)
	}
}
