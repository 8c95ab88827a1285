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

package plugin_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/plugin"
)

// recordCheck writes what the manager's check writes into an issuer's
// status: its version and when it checked.
func recordCheck(ctx context.Context, t *testing.T, iss *v1alpha1.AtlasIssuer, version string, at time.Time) {
	t.Helper()
	if err := kube.Get(ctx, types.NamespacedName{Namespace: iss.Namespace, Name: iss.Name}, iss); err != nil {
		t.Fatal(err)
	}
	iss.Status.ControllerVersion = version
	iss.Status.LastCheckTime = &metav1.Time{Time: at}
	if err := kube.Status().Update(ctx, iss); err != nil {
		t.Fatal(err)
	}
}

func TestVersionReadsTheManagersVersion(t *testing.T) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	recordCheck(ctx, t, &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: wrongSecret}}, "v0.1.0", now.Add(-time.Hour))
	recordCheck(ctx, t, &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: issuer}}, "v0.2.0", now)

	// The most recent check names the running manager: after an upgrade,
	// issuers not yet re-checked still name the old one.
	r := run(t, "", "version")
	if r.err != nil {
		t.Fatalf("version: %v", r.err)
	}
	mustContain(t, "version", r.out, "kubectl-atlas dev (revision unknown)", "atlas-issuer v0.2.0 (from AtlasIssuer "+ns+"/"+issuer)

	r = run(t, "", "version", "--issuer", wrongSecret, "-n", ns, "-o", "json")
	if r.err != nil {
		t.Fatalf("version --issuer: %v", r.err)
	}
	var got struct {
		Client struct{ Version string }
		Server *struct{ Version, Source string }
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, r.out)
	}
	if got.Client.Version != "dev" || got.Server == nil || got.Server.Version != "v0.1.0" {
		t.Errorf("version --issuer %s -o json = %s", wrongSecret, r.out)
	}

	// An issuer no manager has checked says so instead of guessing.
	r = run(t, "", "version", "--issuer", missingSecret, "-n", ns)
	if r.err != nil {
		t.Fatalf("version --issuer %s: %v", missingSecret, r.err)
	}
	mustContain(t, "version of an unchecked issuer", r.out, "Server:", "unknown")

	// Then the manager's Deployment, labelled as both installs label it,
	// names the version by its image tag.
	labels := map[string]string{"app.kubernetes.io/name": "atlas-issuer"}
	deployment := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: plugin.DefaultClusterResourceNamespace, Name: "atlas-issuer", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "kube-rbac-proxy", Image: "example.com/proxy:v9.9.9"},
					{Name: "manager", Image: "ghcr.io/globalsign/atlas-issuer:v0.4.0@sha256:0123"},
				}},
			},
		},
	}
	if err := kube.Create(ctx, deployment); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.Delete(context.Background(), deployment) })
	r = run(t, "", "version", "--issuer", missingSecret, "-n", ns)
	if r.err != nil {
		t.Fatalf("version with the Deployment: %v", r.err)
	}
	mustContain(t, "version from the Deployment", r.out,
		"atlas-issuer v0.4.0 (from Deployment "+plugin.DefaultClusterResourceNamespace+"/atlas-issuer image ghcr.io/globalsign/atlas-issuer:v0.4.0@sha256:0123")
}
