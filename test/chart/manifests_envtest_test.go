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

package chart

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestManifestsAcceptedByAPIServer dry-runs every rendered object on the
// API server, so its validation, not only helm's, accepts them; and
// dry-runs the manager's pod in a namespace that enforces the restricted
// Pod Security Standard, which the admission plugin checks on pods only.
func TestManifestsAcceptedByAPIServer(t *testing.T) {
	t.Parallel()
	admin := cluster(t)
	c := newClient(t, admin)
	const ns = "atlas-restricted"
	ctx := context.Background()
	restricted := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
	}}}
	if err := c.Create(ctx, restricted); err != nil {
		t.Fatal(err)
	}
	// Namespaces the full values name for Secrets and cluster issuers.
	ensureNamespaces(t, c, "team-a", "team-b", "atlas-cluster")

	for name, args := range map[string][]string{"default": nil, "full": {"-f", fullValues}} {
		t.Run(name, func(t *testing.T) {
			// Its own release name: cluster-scoped names must not collide
			// with the other tests' releases on the shared server.
			for _, o := range render(t, "atlas-dry-run", ns, args...) {
				switch o.GetKind() {
				case "CustomResourceDefinition":
					continue // shared by every release; created by the other tests
				case "ServiceMonitor", "PrometheusRule":
					continue // the Prometheus Operator's CRDs are not installed here
				}
				if err := c.Create(ctx, o, client.DryRunAll); err != nil {
					t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
				}
				if o.GetKind() != "Deployment" {
					continue
				}
				d := as[appsv1.Deployment](t, o)
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: d.Name + "-pod", Labels: d.Spec.Template.Labels},
					Spec:       d.Spec.Template.Spec,
				}
				if err := c.Create(ctx, pod, client.DryRunAll); err != nil {
					t.Errorf("the manager pod is refused in a restricted namespace: %v", err)
				}
			}
		})
	}
}
