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

package chaos

import (
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestObserveRequest: a good tenant's request is timed from the first time
// the watch sees it to the first time it is Ready; other namespaces and
// later updates change nothing.
func TestObserveRequest(t *testing.T) {
	rt := &readyTimes{created: map[string]time.Time{}, ready: map[string]time.Time{}}
	cr := func(ns string, ready cmmeta.ConditionStatus) *cmapi.CertificateRequest {
		c := &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alone-000-1"}}
		if ready != "" {
			c.Status.Conditions = []cmapi.CertificateRequestCondition{{Type: cmapi.CertificateRequestConditionReady, Status: ready}}
		}
		return c
	}
	rt.observeRequest(cr(nsHostile, cmmeta.ConditionTrue))
	if len(rt.created)+len(rt.ready) != 0 {
		t.Fatalf("another namespace's request was recorded: %v %v", rt.created, rt.ready)
	}
	rt.observeRequest(cr(nsGood, ""))
	rt.observeRequest(cr(nsGood, cmmeta.ConditionFalse))
	if _, ok := rt.created["alone-000-1"]; !ok || len(rt.ready) != 0 {
		t.Fatalf("pending request: created %v, ready %v", rt.created, rt.ready)
	}
	first := rt.created["alone-000-1"]
	rt.observeRequest(cr(nsGood, cmmeta.ConditionTrue))
	ready := rt.ready["alone-000-1"]
	rt.observeRequest(cr(nsGood, cmmeta.ConditionTrue))
	if rt.created["alone-000-1"] != first || rt.ready["alone-000-1"] != ready || ready.Before(first) {
		t.Fatalf("times moved: created %v -> %v, ready %v -> %v", first, rt.created["alone-000-1"], ready, rt.ready["alone-000-1"])
	}
	ds, notReady := rt.durations(firstRequests([]string{"alone-000"}))
	if len(ds) != 1 || notReady != 0 || ds[0] != ready.Sub(first) {
		t.Fatalf("durations %v, not ready %d", ds, notReady)
	}
}
