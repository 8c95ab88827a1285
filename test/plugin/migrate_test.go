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
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/plugin"
)

const (
	legacyNS  = "legacy"
	legacyURL = "https://emea.api.hvca.globalsign.com:8443/v2"
	// fromNS is where the earlier controller read ClusterIssuer Secrets;
	// named on the command line so the test does not depend on the two
	// defaults staying apart.
	fromNS = "earlier-issuer-system"
)

// migrateArgs runs migrate between fromNS and the plugin's default cluster
// resource namespace, which the fixture creates.
func migrateArgs(extra ...string) []string {
	return append([]string{"migrate", "--from-cluster-resource-namespace", fromNS,
		"--cluster-resource-namespace", plugin.DefaultClusterResourceNamespace}, extra...)
}

func unstructuredObj(apiVersion, kind, namespace, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: fields}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

func certificate(name string, issuerRef map[string]any) *unstructured.Unstructured {
	return unstructuredObj("cert-manager.io/v1", "Certificate", legacyNS, name, map[string]any{
		"spec": map[string]any{"secretName": name + "-tls", "dnsNames": []any{name + ".example.com"}, "issuerRef": issuerRef},
	})
}

func ingress(name string, annotations map[string]string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: legacyNS, Name: name, Annotations: annotations},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: name + ".example.com", IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
			}}}},
		}}}},
	}
}

// seedEarlierIssuer creates what a user of the earlier issuer has: an Issuer
// and a ClusterIssuer with their Secrets under the earlier key names, and
// Certificates and Ingresses naming them next to ones naming other issuers.
func seedEarlierIssuer(ctx context.Context, t *testing.T) {
	t.Helper()
	oldData := map[string][]byte{
		"apikey": []byte(creds.APIKey), "apisecret": []byte(creds.APISecret), "cert": creds.CertPEM, "certkey": creds.KeyPEM,
	}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: legacyNS}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fromNS}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: legacyNS, Name: "old-credentials"}, Data: oldData},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: fromNS, Name: "old-cluster-credentials"}, Data: oldData},
		unstructuredObj("hvca.globalsign.com/v1alpha1", "Issuer", legacyNS, "old", map[string]any{
			"spec": map[string]any{"url": legacyURL, "authSecretName": "old-credentials"},
		}),
		unstructuredObj("hvca.globalsign.com/v1alpha1", "ClusterIssuer", "", "old-cluster", map[string]any{
			"spec": map[string]any{"url": legacyURL, "authSecretName": "old-cluster-credentials"},
		}),
		certificate("by-issuer", map[string]any{"group": "hvca.globalsign.com", "kind": "Issuer", "name": "old"}),
		certificate("by-default-kind", map[string]any{"group": "hvca.globalsign.com", "name": "old"}),
		certificate("by-cluster-issuer", map[string]any{"group": "hvca.globalsign.com", "kind": "ClusterIssuer", "name": "old-cluster"}),
		certificate("by-acme", map[string]any{"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt"}),
		ingress("web", map[string]string{
			"cert-manager.io/issuer": "old-cluster", "cert-manager.io/issuer-kind": "ClusterIssuer", "cert-manager.io/issuer-group": "hvca.globalsign.com",
		}),
		ingress("acme", map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"}),
	}
	for _, o := range objs {
		if err := kube.Create(ctx, o); err != nil {
			t.Fatalf("create %s %s: %v", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
	}
}

func issuerRefKind(ctx context.Context, t *testing.T, name string) string {
	t.Helper()
	u := unstructuredObj("cert-manager.io/v1", "Certificate", legacyNS, name, map[string]any{})
	if err := kube.Get(ctx, types.NamespacedName{Namespace: legacyNS, Name: name}, u); err != nil {
		t.Fatal(err)
	}
	kind, _, _ := unstructured.NestedString(u.Object, "spec", "issuerRef", "kind")
	return kind
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	seedEarlierIssuer(ctx, t)

	// The dry run prints the plan and changes nothing.
	r := run(t, "", migrateArgs()...)
	if r.err != nil {
		t.Fatalf("migrate: %v\n%s", r.err, r.errOut)
	}
	mustContain(t, "plan", r.out,
		"+++ AtlasIssuer legacy/old (new, from Issuer legacy/old)", "+kind: AtlasIssuer", "+  authSecretName: old-credentials", "+  url: "+legacyURL,
		"+++ AtlasClusterIssuer old-cluster (new, from ClusterIssuer old-cluster)",
		"+++ Secret "+plugin.DefaultClusterResourceNamespace+"/old-cluster-credentials (new, from Secret "+fromNS+"/old-cluster-credentials)",
		"+  apiSecret: (", "+  tls.key: (",
		"--- Certificate legacy/by-issuer", "-spec.issuerRef.kind: Issuer\n+spec.issuerRef.kind: AtlasIssuer",
		"--- Certificate legacy/by-default-kind\n+++ Certificate legacy/by-default-kind\n+spec.issuerRef.kind: AtlasIssuer",
		"-spec.issuerRef.kind: ClusterIssuer\n+spec.issuerRef.kind: AtlasClusterIssuer",
		"--- Ingress legacy/web", "+metadata.annotations.cert-manager.io/issuer-kind: AtlasClusterIssuer",
		"# 3 to create, 4 to change, 0 already migrated, 0 warnings")
	mustNotContain(t, "plan", r.out, "by-acme", "Ingress legacy/acme")
	mustContain(t, "dry-run note", r.errOut, "--apply")
	if err := kube.Get(ctx, types.NamespacedName{Namespace: legacyNS, Name: "old"}, &v1alpha1.AtlasIssuer{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the dry run created the AtlasIssuer (get: %v)", err)
	}
	if got := issuerRefKind(ctx, t, "by-issuer"); got != "Issuer" {
		t.Fatalf("the dry run changed a Certificate to %q", got)
	}

	r = run(t, "", migrateArgs("--apply")...)
	if r.err != nil {
		t.Fatalf("migrate --apply: %v\n%s", r.err, r.errOut)
	}
	var iss v1alpha1.AtlasIssuer
	if err := kube.Get(ctx, types.NamespacedName{Namespace: legacyNS, Name: "old"}, &iss); err != nil {
		t.Fatal(err)
	}
	if iss.Spec.URL != legacyURL || iss.Spec.AuthSecretName != "old-credentials" {
		t.Errorf("AtlasIssuer spec = %+v", iss.Spec)
	}
	var ciss v1alpha1.AtlasClusterIssuer
	if err := kube.Get(ctx, types.NamespacedName{Name: "old-cluster"}, &ciss); err != nil {
		t.Fatal(err)
	}
	if ciss.Spec.AuthSecretName != "old-cluster-credentials" {
		t.Errorf("AtlasClusterIssuer spec = %+v", ciss.Spec)
	}
	var copied corev1.Secret
	if err := kube.Get(ctx, types.NamespacedName{Namespace: plugin.DefaultClusterResourceNamespace, Name: "old-cluster-credentials"}, &copied); err != nil {
		t.Fatal(err)
	}
	if string(copied.Data["apiKey"]) != creds.APIKey || string(copied.Data["apiSecret"]) != creds.APISecret ||
		string(copied.Data["tls.crt"]) != string(creds.CertPEM) || string(copied.Data["tls.key"]) != string(creds.KeyPEM) || len(copied.Data) != 4 {
		t.Errorf("copied Secret has keys %v, or wrong values", keysOf(copied.Data))
	}
	for name, want := range map[string]string{
		"by-issuer": "AtlasIssuer", "by-default-kind": "AtlasIssuer", "by-cluster-issuer": "AtlasClusterIssuer", "by-acme": "ClusterIssuer",
	} {
		if got := issuerRefKind(ctx, t, name); got != want {
			t.Errorf("Certificate %s: issuerRef.kind = %q, want %q", name, got, want)
		}
	}
	var web, acme networkingv1.Ingress
	if err := kube.Get(ctx, types.NamespacedName{Namespace: legacyNS, Name: "web"}, &web); err != nil {
		t.Fatal(err)
	}
	if got := web.Annotations["cert-manager.io/issuer-kind"]; got != "AtlasClusterIssuer" || web.Annotations["cert-manager.io/issuer"] != "old-cluster" {
		t.Errorf("Ingress web annotations = %v", web.Annotations)
	}
	if err := kube.Get(ctx, types.NamespacedName{Namespace: legacyNS, Name: "acme"}, &acme); err != nil {
		t.Fatal(err)
	}
	if len(acme.Annotations) != 1 {
		t.Errorf("Ingress acme was changed: %v", acme.Annotations)
	}
	// The earlier objects stay.
	for _, u := range []*unstructured.Unstructured{
		unstructuredObj("hvca.globalsign.com/v1alpha1", "Issuer", legacyNS, "old", map[string]any{}),
		unstructuredObj("hvca.globalsign.com/v1alpha1", "ClusterIssuer", "", "old-cluster", map[string]any{}),
	} {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
			t.Errorf("the earlier %s %s is gone: %v", u.GetKind(), u.GetName(), err)
		}
	}

	// A second run finds nothing left to do.
	r = run(t, "", migrateArgs()...)
	if r.err != nil {
		t.Fatalf("migrate again: %v", r.err)
	}
	mustContain(t, "second plan", r.out, "# 0 to create, 0 to change, 3 already migrated, 0 warnings")
	mustNotContain(t, "second plan", r.out, "+++")
}

func keysOf(m map[string][]byte) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
