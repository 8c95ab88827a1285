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

package migrate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

func TestNewKind(t *testing.T) {
	for _, tc := range []struct {
		group, kind, want string
		ok                bool
	}{
		{"hvca.globalsign.com", "Issuer", "AtlasIssuer", true},
		{"hvca.globalsign.com", "", "AtlasIssuer", true},
		{"hvca.globalsign.com", "ClusterIssuer", "AtlasClusterIssuer", true},
		{"hvca.globalsign.com", "AtlasIssuer", "", false},
		{"cert-manager.io", "ClusterIssuer", "", false},
		{"", "Issuer", "", false},
	} {
		got, ok := NewKind(tc.group, tc.kind)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NewKind(%q, %q) = %q, %v; want %q, %v", tc.group, tc.kind, got, ok, tc.want, tc.ok)
		}
	}
}

func TestConvertSecretData(t *testing.T) {
	got := convertSecretData(map[string][]byte{
		"apikey": []byte("old key"), "apiKey": []byte("new key"), "apisecret": []byte("s"), "cert": []byte("c"), "certkey": []byte("k"), "extra": []byte("x"),
	})
	want := map[string][]byte{"apiKey": []byte("new key"), "apiSecret": []byte("s"), "tls.crt": []byte("c"), "tls.key": []byte("k"), "extra": []byte("x")}
	if !sameData(got, want) {
		t.Errorf("convertSecretData = %q, want %q", got, want)
	}
}

func secret(ns, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

func TestBuild(t *testing.T) {
	oldData := map[string][]byte{"apikey": []byte("k"), "apisecret": []byte("s"), "cert": []byte("c"), "certkey": []byte("p")}
	opts := Options{FromNamespace: "old-system", ToNamespace: "atlas-issuer"}
	cluster := OldIssuer{Kind: OldClusterIssuerKind, Name: "c", URL: "https://a.example/v2", AuthSecretName: "creds"}
	for _, tc := range []struct {
		name      string
		inv       Inventory
		opts      Options
		steps     []string
		unchanged int
		warnings  []string
	}{{
		name:  "an Issuer keeps its Secret",
		inv:   Inventory{Old: []OldIssuer{{Kind: OldIssuerKind, Namespace: "ns", Name: "i", URL: "https://a.example/v2", AuthSecretName: "creds"}}},
		opts:  opts,
		steps: []string{"create AtlasIssuer ns/i"},
	}, {
		name:  "a ClusterIssuer's Secret moves to our namespace, before the issuer",
		inv:   Inventory{Old: []OldIssuer{cluster}, Secrets: map[types.NamespacedName]*corev1.Secret{{Namespace: "old-system", Name: "creds"}: secret("old-system", "creds", oldData)}},
		opts:  opts,
		steps: []string{"create Secret atlas-issuer/creds", "create AtlasClusterIssuer /c"},
	}, {
		name:  "no copy when both controllers read one namespace",
		inv:   Inventory{Old: []OldIssuer{cluster}},
		opts:  Options{FromNamespace: "same", ToNamespace: "same"},
		steps: []string{"create AtlasClusterIssuer /c"},
	}, {
		name:     "a missing Secret is a warning naming the flag",
		inv:      Inventory{Old: []OldIssuer{cluster}},
		opts:     opts,
		steps:    []string{"create AtlasClusterIssuer /c"},
		warnings: []string{"Secret old-system/creds of ClusterIssuer c not found", "--from-cluster-resource-namespace"},
	}, {
		name: "two ClusterIssuers sharing a Secret copy it once",
		inv: Inventory{Old: []OldIssuer{cluster, {Kind: OldClusterIssuerKind, Name: "d", URL: "https://a.example/v2", AuthSecretName: "creds"}},
			Secrets: map[types.NamespacedName]*corev1.Secret{{Namespace: "old-system", Name: "creds"}: secret("old-system", "creds", oldData)}},
		opts:  opts,
		steps: []string{"create Secret atlas-issuer/creds", "create AtlasClusterIssuer /c", "create AtlasClusterIssuer /d"},
	}, {
		name: "what exists and matches is left as it is",
		inv: Inventory{Old: []OldIssuer{cluster}, Secrets: map[types.NamespacedName]*corev1.Secret{
			{Namespace: "old-system", Name: "creds"}:   secret("old-system", "creds", oldData),
			{Namespace: "atlas-issuer", Name: "creds"}: secret("atlas-issuer", "creds", convertSecretData(oldData)),
		}, Clusters: map[string]*v1alpha1.AtlasClusterIssuer{"c": {Spec: v1alpha1.AtlasIssuerSpec{URL: "https://a.example/v2", AuthSecretName: "creds"}}}},
		opts:      opts,
		unchanged: 2,
	}, {
		name: "what exists and differs is left alone, with a warning",
		inv: Inventory{Old: []OldIssuer{{Kind: OldIssuerKind, Namespace: "ns", Name: "i", URL: "https://a.example/v2", AuthSecretName: "creds"}},
			Issuers: map[types.NamespacedName]*v1alpha1.AtlasIssuer{{Namespace: "ns", Name: "i"}: {Spec: v1alpha1.AtlasIssuerSpec{AuthSecretName: "other"}}}},
		opts:     opts,
		warnings: []string{"AtlasIssuer ns/i exists with another url or authSecretName than Issuer ns/i; left alone"},
	}, {
		name: "only references to the earlier kinds change",
		inv: Inventory{Old: []OldIssuer{cluster}, Clusters: map[string]*v1alpha1.AtlasClusterIssuer{"c": {Spec: v1alpha1.AtlasIssuerSpec{URL: "https://a.example/v2", AuthSecretName: "creds"}}},
			Referrers: []Referrer{
				{Kind: "Certificate", Namespace: "ns", Name: "z", IssuerRef: &IssuerRef{Group: "hvca.globalsign.com", Kind: "ClusterIssuer", Name: "c"}},
				{Kind: "Certificate", Namespace: "ns", Name: "a", IssuerRef: &IssuerRef{Group: "hvca.globalsign.com", Kind: "AtlasIssuer", Name: "c"}},
				{Kind: "Ingress", Namespace: "ns", Name: "w", Annotations: map[string]string{AnnotationIssuer: "c", AnnotationIssuerGroup: "hvca.globalsign.com"}},
				{Kind: "Ingress", Namespace: "ns", Name: "x", Annotations: map[string]string{"cert-manager.io/cluster-issuer": "c"}},
				{Kind: "Gateway", Namespace: "ns", Name: "g", Annotations: map[string]string{AnnotationIssuerKind: "Issuer", AnnotationIssuerGroup: "hvca.globalsign.com"}},
			}},
		opts:      Options{FromNamespace: "same", ToNamespace: "same"},
		steps:     []string{"patch Ingress ns/w", "patch Certificate ns/z"},
		unchanged: 1,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := Build(tc.inv, tc.opts)
			var steps []string
			for _, s := range p.Steps {
				steps = append(steps, string(s.Action)+" "+s.Kind+" "+s.Namespace+"/"+s.Name)
			}
			if strings.Join(steps, "\n") != strings.Join(tc.steps, "\n") {
				t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(tc.steps, "\n"))
			}
			if p.Unchanged != tc.unchanged {
				t.Errorf("unchanged = %d, want %d", p.Unchanged, tc.unchanged)
			}
			all := strings.Join(p.Warnings, "\n")
			for _, w := range tc.warnings {
				if !strings.Contains(all, w) {
					t.Errorf("warnings %q lack %q", all, w)
				}
			}
			if len(tc.warnings) == 0 && all != "" {
				t.Errorf("unexpected warnings %q", all)
			}
		})
	}
}

func TestRenderNeverPrintsSecretValues(t *testing.T) {
	p := Build(Inventory{
		Old:     []OldIssuer{{Kind: OldClusterIssuerKind, Name: "c", AuthSecretName: "creds"}},
		Secrets: map[types.NamespacedName]*corev1.Secret{{Namespace: "a", Name: "creds"}: secret("a", "creds", map[string][]byte{"apisecret": []byte("TOPSECRETVALUE")})},
	}, Options{FromNamespace: "a", ToNamespace: "b"})
	var b strings.Builder
	if err := Render(&b, p); err != nil {
		t.Fatal(err)
	}
	// The positive control: the Secret is in the plan, only its value is not.
	if !strings.Contains(b.String(), "+  apiSecret: (14 bytes)") {
		t.Errorf("the plan lacks the Secret's key:\n%s", b.String())
	}
	if strings.Contains(b.String(), "TOPSECRETVALUE") || strings.Contains(b.String(), "VE9QU0VDUkVUVkFMVUU=") {
		t.Errorf("the plan prints the Secret's value:\n%s", b.String())
	}
}
