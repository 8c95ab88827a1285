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
	"github.com/go-logr/logr"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// apiWaitInterval paces the wait for the API server. A fixed interval,
// not a wait.Backoff: a Backoff whose delay reaches its Cap sets its Steps
// to zero and gives up, which would end the wait in the middle of an
// outage. One discovery call a second costs the API server nothing.
const apiWaitInterval = time.Second

// WaitForAPIServer returns once the API server serves every group version
// the manager's cache and controllers use, however long that takes, or
// with ctx's error. Building the manager resolves its cache's per-object
// options through discovery and fails at once while the API server is
// down, or just restarted and not yet serving the CRDs' groups, so a
// manager that lost its Lease in a control-plane outage and restarted
// would exit again and again (a crash loop whose back-off keeps it down
// after the API server is back). It waits instead, logging why. Only the
// groups it needs are asked for: another API the cluster serves badly
// must not keep it down.
func WaitForAPIServer(ctx context.Context, cfg *rest.Config, log logr.Logger) error {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	return waitForAPIServer(ctx, dc, requiredGroupVersions(), apiWaitInterval, log)
}

// requiredGroupVersions are the group versions of the objects the manager
// watches or writes.
func requiredGroupVersions() []string {
	return []string{
		corev1.SchemeGroupVersion.String(),
		certificatesv1.SchemeGroupVersion.String(),
		cmapi.SchemeGroupVersion.String(),
		v1alpha1.GroupVersion.String(),
	}
}

func waitForAPIServer(ctx context.Context, dc discovery.ServerResourcesInterface, groupVersions []string, interval time.Duration, log logr.Logger) error {
	since := time.Now()
	return wait.PollUntilContextCancel(ctx, interval, true, func(context.Context) (bool, error) {
		for _, gv := range groupVersions {
			if _, err := dc.ServerResourcesForGroupVersion(gv); err != nil {
				log.Info("waiting for the API server", "groupVersion", gv, "error", err.Error(), "waited", time.Since(since).Round(time.Second).String())
				return false, nil
			}
		}
		return true, nil
	})
}
