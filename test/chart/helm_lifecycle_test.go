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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestHelmLifecycle runs helm install, upgrade and uninstall on an API
// server of its own: Helm must own the CRDs for this, which the shared
// server's tests create directly. It proves the chart installs its CRDs,
// upgrades them (a changed annotation reaches the server), switches to
// least-privilege mode in place, and keeps the CRDs on uninstall.
func TestHelmLifecycle(t *testing.T) {
	t.Parallel()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(root, "bin", "k8s")
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	kubeconfig := adminKubeconfig(t, env)
	c := newClient(t, cfg)
	ctx := context.Background()
	const ns = "atlas-helm"
	h := func(args ...string) string {
		t.Helper()
		out, err := helm(t, append(args, "--kubeconfig", kubeconfig, "--namespace", ns)...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	crdKeep := func() map[string]bool {
		t.Helper()
		keep := map[string]bool{}
		for _, name := range []string{"atlasissuers.hvca.globalsign.com", "atlasclusterissuers.hvca.globalsign.com"} {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
				t.Fatalf("CRD %s: %v", name, err)
			}
			if crd.Labels["app.kubernetes.io/managed-by"] != "Helm" {
				t.Errorf("CRD %s is not managed by Helm: %v", name, crd.Labels)
			}
			keep[name] = crd.Annotations["helm.sh/resource-policy"] == "keep"
		}
		return keep
	}
	secretRules := func() bool {
		t.Helper()
		var cr rbacv1.ClusterRole
		if err := c.Get(ctx, client.ObjectKey{Name: releaseName}, &cr); err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(cr.Rules, func(r rbacv1.PolicyRule) bool { return slices.Contains(r.Resources, "secrets") })
	}

	out := h("install", releaseName, chartDir, "--create-namespace")
	if !strings.Contains(out, "NOTES:") || !strings.Contains(out, "kubectl get atlasclusterissuers,atlasissuers -A -o wide") {
		t.Errorf("install printed no NOTES:\n%s", out)
	}
	if keep := crdKeep(); !keep["atlasissuers.hvca.globalsign.com"] || !keep["atlasclusterissuers.hvca.globalsign.com"] {
		t.Errorf("after install, keep policy = %v, want both", keep)
	}
	if !secretRules() {
		t.Error("after install, the ClusterRole grants no Secrets")
	}

	out = h("upgrade", releaseName, chartDir, "--set", "crds.keep=false,secrets.namespaces={"+ns+"}")
	if !strings.Contains(out, "Least-privilege mode is on") {
		t.Errorf("upgrade NOTES do not mention least-privilege mode:\n%s", out)
	}
	if keep := crdKeep(); keep["atlasissuers.hvca.globalsign.com"] || keep["atlasclusterissuers.hvca.globalsign.com"] {
		t.Errorf("upgrade did not update the CRDs: keep policy = %v", keep)
	}
	if secretRules() {
		t.Error("after the upgrade to least-privilege mode, the ClusterRole still grants Secrets")
	}
	var role rbacv1.Role
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: releaseName + "-secrets"}, &role); err != nil {
		t.Errorf("Secret Role after the upgrade: %v", err)
	}

	// Without values on the command line helm would reuse the last ones.
	h("upgrade", releaseName, chartDir, "--reset-values")
	if keep := crdKeep(); !keep["atlasissuers.hvca.globalsign.com"] || !keep["atlasclusterissuers.hvca.globalsign.com"] {
		t.Errorf("after the second upgrade, keep policy = %v, want both", keep)
	}
	h("uninstall", releaseName)
	crdKeep() // fails the test if a CRD is gone
	var cr rbacv1.ClusterRole
	if err := c.Get(ctx, client.ObjectKey{Name: releaseName}, &cr); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole after uninstall: %v, want NotFound", err)
	}
}

// adminKubeconfig writes a kubeconfig for a system:masters user, the form
// helm and kubectl take.
func adminKubeconfig(t *testing.T, env *envtest.Environment) string {
	t.Helper()
	user, err := env.AddUser(envtest.User{Name: "helm-admin", Groups: []string{"system:masters"}}, &rest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
