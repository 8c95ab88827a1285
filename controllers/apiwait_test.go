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
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// apiServer answers discovery of the core group at once, as a restarted
// API server does, and of the CRD group only after crdAfter requests for
// it; another group is never served.
func apiServer(t *testing.T, crdAfter int32, crdCalls *atomic.Int32) discovery.ServerResourcesInterface {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"kind":"APIResourceList","groupVersion":"v1","resources":[]}`))
		case "/apis/example.com/v1":
			if crdCalls.Add(1) <= crdAfter {
				http.Error(w, "not yet", http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"kind":"APIResourceList","groupVersion":"example.com/v1","resources":[]}`))
		default:
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

// TestWaitForAPIServer: the wait lasts until every group version the
// manager needs is served, after as many failures as it takes, ignores the
// groups it does not need, and ends with the context otherwise.
func TestWaitForAPIServer(t *testing.T) {
	var calls atomic.Int32
	dc := apiServer(t, 20, &calls)
	if err := waitForAPIServer(t.Context(), dc, []string{"v1", "example.com/v1"}, time.Millisecond, logr.Discard()); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 21 {
		t.Errorf("CRD group discovery calls = %d, want 21 (twenty refused, one answered)", n)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := waitForAPIServer(ctx, dc, []string{"v1", "unserved.example.com/v1"}, time.Millisecond, logr.Discard()); !errors.Is(err, context.Canceled) {
		t.Errorf("a group never served, context cancelled: err = %v, want context.Canceled", err)
	}
	if len(requiredGroupVersions()) != 4 {
		t.Errorf("required group versions = %v", requiredGroupVersions())
	}
}
