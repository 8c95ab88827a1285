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
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// grant is one permission a rule expands to; an empty name means any.
type grant struct{ group, resource, name, verb string }

func (g grant) String() string {
	s := g.verb + " " + g.resource
	if g.group != "" {
		s += "." + g.group
	}
	if g.name != "" {
		s += " " + g.name
	}
	return s
}

func expand(rules []rbacv1.PolicyRule) []grant {
	var out []grant
	for _, r := range rules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, n := range names {
					for _, v := range r.Verbs {
						out = append(out, grant{g, res, n, v})
					}
				}
			}
		}
	}
	return out
}

func covers(rules []rbacv1.PolicyRule, g grant) bool {
	for _, have := range expand(rules) {
		if have.group == g.group && have.resource == g.resource && have.verb == g.verb && (have.name == "" || have.name == g.name) {
			return true
		}
	}
	return false
}

// generatedRules is config/rbac/role.yaml, which controller-gen writes from
// the +kubebuilder:rbac markers: the manager's needs as the code states
// them, cluster-wide (the ClusterRole) and in its own namespace (the Role:
// Leases).
func generatedRules(t *testing.T) (cluster, namespaced []rbacv1.PolicyRule) {
	t.Helper()
	for _, o := range decode(t, readFile(t, filepath.Join(root, "config", "rbac", "role.yaml"))) {
		switch o.GetKind() {
		case "ClusterRole":
			cluster = append(cluster, as[rbacv1.ClusterRole](t, o).Rules...)
		case "Role":
			namespaced = append(namespaced, as[rbacv1.Role](t, o).Rules...)
		default:
			t.Fatalf("config/rbac/role.yaml holds a %s", o.GetKind())
		}
	}
	if len(cluster) == 0 || len(namespaced) == 0 {
		t.Fatal("config/rbac/role.yaml lacks the ClusterRole or the Role")
	}
	return cluster, namespaced
}

// TestGeneratedLeasesAreNamespaced: the markers grant Leases in the
// manager's namespace only, never cluster-wide, and nothing else there.
func TestGeneratedLeasesAreNamespaced(t *testing.T) {
	t.Parallel()
	cluster, namespaced := generatedRules(t)
	for _, g := range expand(cluster) {
		if g.resource == "leases" {
			t.Errorf("the generated ClusterRole grants %s cluster-wide", g)
		}
	}
	for _, g := range expand(namespaced) {
		if g.resource != "leases" {
			t.Errorf("the generated Role grants %s; only Leases belong there", g)
		}
	}
}

// TestChartGrantsGeneratedRules: every permission the code declares is
// granted by the chart, in the place least privilege wants it (Leases in
// the release namespace only, Secrets in the listed namespaces in
// least-privilege mode), and the chart grants the manager nothing the code
// does not declare.
func TestChartGrantsGeneratedRules(t *testing.T) {
	t.Parallel()
	clusterWide, namespaced := generatedRules(t)
	generated := append(clusterWide, namespaced...)
	for mode, args := range map[string][]string{
		"cluster-wide secrets": nil,
		"least privilege":      {"--set", "secrets.namespaces={team-a}"},
	} {
		t.Run(mode, func(t *testing.T) {
			leastPrivilege := args != nil
			objs := render(t, releaseName, releaseNamespace, args...)
			var cluster, leader []rbacv1.PolicyRule
			secrets := map[string][]rbacv1.PolicyRule{}
			for _, o := range ofKind(objs, "ClusterRole") {
				if o.GetName() == releaseName {
					cluster = as[rbacv1.ClusterRole](t, o).Rules
				}
			}
			for _, o := range ofKind(objs, "Role") {
				switch name := o.GetName(); {
				case name == releaseName+"-leader-election" && o.GetNamespace() == releaseNamespace:
					leader = as[rbacv1.Role](t, o).Rules
				case strings.HasSuffix(name, "-secrets"):
					secrets[o.GetNamespace()] = as[rbacv1.Role](t, o).Rules
				default:
					t.Errorf("unexpected Role %s/%s", o.GetNamespace(), name)
				}
			}
			if cluster == nil || leader == nil {
				t.Fatalf("want ClusterRole %s and Role %s-leader-election", releaseName, releaseName)
			}
			if leastPrivilege != (len(secrets) > 0) {
				t.Fatalf("Secret Roles in %d namespaces", len(secrets))
			}

			for _, g := range expand(generated) {
				switch {
				case g.resource == "leases":
					if !covers(leader, g) {
						t.Errorf("leader election Role lacks %s", g)
					}
					if covers(cluster, g) {
						t.Errorf("ClusterRole grants %s cluster-wide; it belongs in the release namespace", g)
					}
				case g.resource == "secrets" && leastPrivilege:
					for ns, rules := range secrets {
						if !covers(rules, g) {
							t.Errorf("Secret Role in %s lacks %s", ns, g)
						}
					}
					if covers(cluster, g) {
						t.Errorf("ClusterRole grants %s cluster-wide in least-privilege mode", g)
					}
				default:
					if !covers(cluster, g) {
						t.Errorf("ClusterRole lacks %s, which config/rbac/role.yaml grants", g)
					}
				}
			}

			for name, rules := range map[string][]rbacv1.PolicyRule{"ClusterRole": cluster, "leader election Role": leader} {
				for _, g := range expand(rules) {
					if !covers(generated, g) {
						t.Errorf("%s grants %s, which no +kubebuilder:rbac marker asks for", name, g)
					}
				}
			}
			for ns, rules := range secrets {
				for _, g := range expand(rules) {
					if g.resource != "secrets" || !covers(generated, g) {
						t.Errorf("Secret Role in %s grants %s", ns, g)
					}
				}
			}
		})
	}
}
