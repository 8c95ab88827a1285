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
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/globalsign/atlas-issuer/internal/plugin"
)

func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	out, err := run(t, binary(t, "KUBECTL", "kubectl"), "kustomize", dir)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

// TestKustomizeDefault: config/default builds, installs the generated
// ClusterRole unchanged, binds it, and runs the manager the way the chart
// does (leader election, restricted security context).
func TestKustomizeDefault(t *testing.T) {
	t.Parallel()
	objs := kustomize(t, "config/default")
	got := kinds(objs)
	for kind, n := range map[string]int{"Namespace": 1, "CustomResourceDefinition": 2, "ServiceAccount": 1, "ClusterRole": 2,
		"ClusterRoleBinding": 2, "Role": 1, "RoleBinding": 1, "Deployment": 1} {
		if got[kind] != n {
			t.Errorf("%d %s, want %d (all: %v)", got[kind], kind, n, got)
		}
	}
	// kubectl atlas looks for AtlasClusterIssuer Secrets in its default
	// cluster resource namespace, which is the manager's own namespace.
	ns := plugin.DefaultClusterResourceNamespace
	for _, o := range objs {
		if o.GetKind() != "Namespace" && o.GetKind() != "CustomResourceDefinition" && o.GetKind() != "ClusterRole" &&
			o.GetKind() != "ClusterRoleBinding" && o.GetNamespace() != ns {
			t.Errorf("%s %s is in namespace %q, want %s", o.GetKind(), o.GetName(), o.GetNamespace(), ns)
		}
	}

	var managerRole *rbacv1.ClusterRole
	for _, o := range ofKind(objs, "ClusterRole") {
		if o.GetName() == "atlas-issuer-manager-role" {
			managerRole = as[rbacv1.ClusterRole](t, o)
		}
	}
	if managerRole == nil {
		t.Fatal("no atlas-issuer-manager-role ClusterRole")
	}
	if diff := cmp.Diff(generatedRules(t), managerRole.Rules); diff != "" {
		t.Errorf("config/default changes the generated rules (-role.yaml +built):\n%s", diff)
	}
	for _, o := range ofKind(objs, "ClusterRoleBinding") {
		b := as[rbacv1.ClusterRoleBinding](t, o)
		if b.RoleRef.Name == "atlas-issuer-manager-role" &&
			!slices.Equal(b.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "atlas-issuer-controller-manager", Namespace: ns}}) {
			t.Errorf("manager role bound to %+v", b.Subjects)
		}
		if b.RoleRef.Name == "atlas-issuer-approver-role" &&
			!slices.Equal(b.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "cert-manager", Namespace: "cert-manager"}}) {
			t.Errorf("approver role bound to %+v; kustomize must not move cert-manager's ServiceAccount", b.Subjects)
		}
	}

	d := as[appsv1.Deployment](t, only(t, objs, "Deployment"))
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--leader-elect") {
		t.Errorf("manager args %v lack --leader-elect", c.Args)
	}
	if c.Image != "ghcr.io/globalsign/atlas-issuer:0.1.0" {
		t.Errorf("image = %q", c.Image)
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container securityContext is not restricted: %+v", sc)
	}
	if d.Spec.Template.Spec.ServiceAccountName != "atlas-issuer-controller-manager" {
		t.Errorf("serviceAccountName = %q", d.Spec.Template.Spec.ServiceAccountName)
	}
}

// TestDocumentedHelmNamespace: every helm install the READMEs show uses the
// namespace kubectl atlas assumes for AtlasClusterIssuer Secrets, so that a
// user who follows them need not pass --cluster-resource-namespace.
func TestDocumentedHelmNamespace(t *testing.T) {
	t.Parallel()
	installNS := regexp.MustCompile(`helm (?:install|upgrade)[^` + "`" + `]*?--namespace[ =](\S+)`)
	found := 0
	for _, doc := range []string{"README.md", filepath.Join("charts", "atlas-issuer", "README.md")} {
		b, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range installNS.FindAllStringSubmatch(string(b), -1) {
			found++
			if m[1] != plugin.DefaultClusterResourceNamespace {
				t.Errorf("%s installs the chart into namespace %q; kubectl atlas assumes %q", doc, m[1], plugin.DefaultClusterResourceNamespace)
			}
		}
	}
	if found == 0 {
		t.Error("no helm install with --namespace found in the READMEs; the check sees nothing")
	}
}

// TestSamplesAreValid creates config/samples on the API server, so the CRD
// schemas and CEL rules (https URL, Secret name) and cert-manager's
// Certificate schema accept them as written.
func TestSamplesAreValid(t *testing.T) {
	t.Parallel()
	admin := cluster(t)
	c := newClient(t, admin)
	// The chart's CRDs may not be installed yet when this runs first.
	for _, crd := range ofKind(render(t, releaseName, releaseNamespace), "CustomResourceDefinition") {
		if err := c.Create(context.Background(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		waitEstablished(t, admin, crd)
	}
	const ns = "samples"
	ensureNamespaces(t, c, ns)
	samples := kustomize(t, "config/samples")
	want := map[string]bool{"Secret": true, "AtlasIssuer": true, "AtlasClusterIssuer": true, "Certificate": true}
	for _, o := range samples {
		delete(want, o.GetKind())
		if o.GetKind() != "AtlasClusterIssuer" {
			o.SetNamespace(ns)
		}
		if err := c.Create(context.Background(), o); err != nil {
			t.Errorf("create sample %s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	if len(want) > 0 {
		t.Errorf("config/samples lacks %v", want)
	}
}
