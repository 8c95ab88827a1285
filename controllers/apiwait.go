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
	"math"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// apiWaitBackoff paces the wait for the API server: quick at first, as
// after a restart of the pod beside a healthy control plane, then every
// ten seconds.
var apiWaitBackoff = wait.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Cap: 10 * time.Second, Steps: math.MaxInt32}

// WaitForAPIServer returns once the API server answers discovery, or with
// ctx's error. Building the manager resolves its cache's per-object
// options through discovery and fails at once while the API server is
// down, so a manager that lost its Lease in a control-plane outage and
// restarted would exit again and again (a crash loop whose back-off keeps
// it down after the API server is back). It waits instead, logging why.
func WaitForAPIServer(ctx context.Context, cfg *rest.Config, log logr.Logger) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	since := time.Now()
	return wait.ExponentialBackoffWithContext(ctx, apiWaitBackoff, func(context.Context) (bool, error) {
		if _, err := dc.ServerVersion(); err != nil {
			log.Info("waiting for the API server", "error", err.Error(), "waited", time.Since(since).Round(time.Second).String())
			return false, nil
		}
		return true, nil
	})
}
