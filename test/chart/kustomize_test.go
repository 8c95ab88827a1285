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
	corev1 "k8s.io/api/core/v1"
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
	for kind, n := range map[string]int{"Namespace": 1, "CustomResourceDefinition": 2, "ServiceAccount": 1, "ClusterRole": 3,
		"ClusterRoleBinding": 2, "Role": 1, "RoleBinding": 1, "Deployment": 1, "Service": 1} {
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
	clusterWide, namespaced := generatedRules(t)
	if diff := cmp.Diff(clusterWide, managerRole.Rules); diff != "" {
		t.Errorf("config/default changes the generated rules (-role.yaml +built):\n%s", diff)
	}
	// Leases: the generated Role, in the manager's namespace, bound there.
	role := as[rbacv1.Role](t, only(t, objs, "Role"))
	if diff := cmp.Diff(namespaced, role.Rules); diff != "" {
		t.Errorf("config/default changes the generated Role (-role.yaml +built):\n%s", diff)
	}
	rb := as[rbacv1.RoleBinding](t, only(t, objs, "RoleBinding"))
	if rb.RoleRef.Kind != "Role" || rb.RoleRef.Name != role.Name ||
		!slices.Equal(rb.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "atlas-issuer-controller-manager", Namespace: ns}}) {
		t.Errorf("the Lease Role is bound as %+v to %+v", rb.RoleRef, rb.Subjects)
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
	checkKustomizeMetrics(t, objs, c)
}

// checkKustomizeMetrics: the manager serves metrics over HTTPS with
// authorization (the default of --metrics-secure), its Service reaches that
// port, and config/prometheus's ServiceMonitor scrapes it with a token.
func checkKustomizeMetrics(t *testing.T, objs []*unstructured.Unstructured, c corev1.Container) {
	t.Helper()
	if !slices.Contains(c.Args, "--metrics-bind-address=:8443") || slices.Contains(c.Args, "--metrics-secure=false") {
		t.Errorf("manager args %v: want the secure metrics endpoint on :8443", c.Args)
	}
	if len(c.Ports) == 0 || c.Ports[0].Name != "https-metrics" || c.Ports[0].ContainerPort != 8443 {
		t.Errorf("container ports %+v: want https-metrics 8443", c.Ports)
	}
	svc := as[corev1.Service](t, only(t, objs, "Service"))
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "https-metrics" || svc.Spec.Ports[0].TargetPort.String() != "https-metrics" {
		t.Errorf("metrics Service ports %+v", svc.Spec.Ports)
	}
	for k, v := range svc.Spec.Selector {
		if d := as[appsv1.Deployment](t, only(t, objs, "Deployment")); d.Spec.Template.Labels[k] != v {
			t.Errorf("the metrics Service selects %s=%s, which the manager pod lacks", k, v)
		}
	}
	reader := false
	for _, o := range ofKind(objs, "ClusterRole") {
		r := as[rbacv1.ClusterRole](t, o)
		reader = reader || (o.GetName() == "atlas-issuer-metrics-reader" && len(r.Rules) == 1 &&
			slices.Equal(r.Rules[0].NonResourceURLs, []string{"/metrics"}) && slices.Equal(r.Rules[0].Verbs, []string{"get"}))
	}
	if !reader {
		t.Error("no atlas-issuer-metrics-reader ClusterRole granting GET /metrics")
	}

	sm := only(t, kustomize(t, "config/prometheus"), "ServiceMonitor")
	labels, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	for k, v := range labels {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, which the metrics Service lacks (%v)", k, v, svc.Labels)
		}
	}
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(eps) != 1 {
		t.Fatalf("ServiceMonitor endpoints %v", eps)
	}
	ep, _ := eps[0].(map[string]any)
	if ep["port"] != "https-metrics" || ep["scheme"] != "https" || ep["bearerTokenFile"] == nil {
		t.Errorf("the ServiceMonitor endpoint %v does not scrape https-metrics over HTTPS with a token", ep)
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
