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
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

var fullValues = filepath.Join(root, "test", "chart", "testdata", "full-values.yaml")

func TestLint(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"default values": nil,
		"full values":    {"-f", fullValues},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := helm(t, append([]string{"lint", "--strict", chartDir, "--namespace", releaseNamespace}, args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

// TestGolden compares renders with testdata/*.golden.yaml. The CRDs are
// left out: TestCRDTemplatesMatchBases covers them, and keeping them here
// would make every API change rewrite the goldens.
func TestGolden(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"default": nil,
		"full":    {"-f", fullValues},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := templateRaw(t, releaseName, releaseNamespace, args...)
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, doc := range documents(out) {
				if !strings.Contains(doc, "# Source: atlas-issuer/templates/crd-") {
					kept = append(kept, doc)
				}
			}
			// Paths relative to the repository, so the golden file does not
			// depend on where the clone lives.
			shown := strings.ReplaceAll(strings.Join(args, " "), root+"/", "")
			cmd := strings.TrimSpace("helm template " + releaseName + " charts/atlas-issuer --namespace " + releaseNamespace + " " + shown)
			got := "# " + cmd + "\n# without the CRDs. Regenerate: go test ./test/chart -run TestGolden -update\n---\n" + strings.Join(kept, "---\n")
			path := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("render differs from %s (-want +got); rerun with -update if the change is intended:\n%s", path, diff)
			}
		})
	}
}

func TestRenderHasEverything(t *testing.T) {
	t.Parallel()
	out, err := templateRaw(t, releaseName, releaseNamespace,
		"--set", "podDisruptionBudget.enabled=true,serviceMonitor.enabled=true,replicaCount=2")
	if err != nil {
		t.Fatal(err)
	}
	objs := decode(t, out)
	got := kinds(objs)
	for _, kind := range []string{"CustomResourceDefinition", "Deployment", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
		"Role", "RoleBinding", "PodDisruptionBudget", "ServiceMonitor", "Service"} {
		if got[kind] == 0 {
			t.Errorf("no %s rendered; kinds: %v", kind, got)
		}
	}
	if got["CustomResourceDefinition"] != 2 {
		t.Errorf("want the 2 CRDs, got %d", got["CustomResourceDefinition"])
	}

	approve := false
	for _, cr := range ofKind(objs, "ClusterRole") {
		for _, r := range as[rbacv1.ClusterRole](t, cr).Rules {
			if slices.Contains(r.Verbs, "approve") && slices.Contains(r.Resources, "signers") && slices.Contains(r.APIGroups, "cert-manager.io") {
				approve = true
				want := []string{"atlasissuers.hvca.globalsign.com/*", "atlasclusterissuers.hvca.globalsign.com/*"}
				if !slices.Equal(r.ResourceNames, want) {
					t.Errorf("approve rule resourceNames = %v, want %v", r.ResourceNames, want)
				}
			}
		}
	}
	if !approve {
		t.Error("no ClusterRole lets cert-manager approve requests for the Atlas signers")
	}

	if !strings.Contains(out, "readOnlyRootFilesystem: true") {
		t.Error("render lacks readOnlyRootFilesystem: true")
	}
	d := as[appsv1.Deployment](t, only(t, objs, "Deployment"))
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %d, want 2", *d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("pod securityContext is not restricted: %+v", psc)
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container securityContext is not restricted: %+v", sc)
	}
	for _, arg := range []string{"--leader-elect", "--leader-election-namespace=" + releaseNamespace,
		"--cluster-resource-namespace=" + releaseNamespace, "--metrics-bind-address=:8443", "--metrics-secure=true", "--health-probe-bind-address=:8081"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args %v lack %s", c.Args, arg)
		}
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("liveness and readiness probes must be /healthz and /readyz")
	}
	if len(c.Env) == 0 || c.Env[0].Name != "POD_NAMESPACE" || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("POD_NAMESPACE must come from the downward API: %+v", c.Env)
	}
	// The manager sets the Go runtime's soft memory limit from the
	// container's limit; GOGC is Go's own default unless a value sets it.
	memLimit := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "CONTAINER_MEMORY_LIMIT" })
	if memLimit < 0 || c.Env[memLimit].ValueFrom == nil || c.Env[memLimit].ValueFrom.ResourceFieldRef == nil ||
		c.Env[memLimit].ValueFrom.ResourceFieldRef.Resource != "limits.memory" || c.Env[memLimit].ValueFrom.ResourceFieldRef.ContainerName != c.Name {
		t.Errorf("CONTAINER_MEMORY_LIMIT must come from the container's limits.memory: %+v", c.Env)
	}
	if !slices.Contains(c.Args, "--memory-limit-fraction=0.9") {
		t.Errorf("args %v lack --memory-limit-fraction=0.9", c.Args)
	}
	if slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOGC" || e.Name == "GOMEMLIMIT" }) {
		t.Errorf("GOGC or GOMEMLIMIT set by default: %+v", c.Env)
	}
}

// TestLeastPrivilegeRender checks the Secret grants move from the
// ClusterRole to one Role per namespace, and the manager is told which.
func TestLeastPrivilegeRender(t *testing.T) {
	t.Parallel()
	objs := render(t, releaseName, releaseNamespace, "--set", "secrets.namespaces={team-a,team-b}")
	for _, cr := range ofKind(objs, "ClusterRole") {
		for _, r := range as[rbacv1.ClusterRole](t, cr).Rules {
			if slices.Contains(r.Resources, "secrets") {
				t.Errorf("ClusterRole %s grants Secrets cluster-wide in least-privilege mode: %+v", cr.GetName(), r)
			}
		}
	}
	var roleNamespaces, bindingNamespaces []string
	for _, r := range ofKind(objs, "Role") {
		if strings.HasSuffix(r.GetName(), "-secrets") {
			roleNamespaces = append(roleNamespaces, r.GetNamespace())
		}
	}
	for _, b := range ofKind(objs, "RoleBinding") {
		if strings.HasSuffix(b.GetName(), "-secrets") {
			bindingNamespaces = append(bindingNamespaces, b.GetNamespace())
		}
	}
	want := []string{"team-a", "team-b", releaseNamespace}
	if !slices.Equal(roleNamespaces, want) || !slices.Equal(bindingNamespaces, want) {
		t.Errorf("Secret Roles in %v and bindings in %v, want both in %v", roleNamespaces, bindingNamespaces, want)
	}
	args := as[appsv1.Deployment](t, only(t, objs, "Deployment")).Spec.Template.Spec.Containers[0].Args
	if flag := "--secret-namespaces=team-a,team-b," + releaseNamespace; !slices.Contains(args, flag) {
		t.Errorf("args %v lack %s", args, flag)
	}

	objs = render(t, releaseName, releaseNamespace)
	args = as[appsv1.Deployment](t, only(t, objs, "Deployment")).Spec.Template.Spec.Containers[0].Args
	for _, a := range args {
		if strings.HasPrefix(a, "--secret-namespaces") {
			t.Errorf("default render passes %s; the manager must watch Secrets cluster-wide", a)
		}
	}
}

// TestNoWildcards: every grant is spelled out. Signer names are the
// exception by design: "<signer domain>/*" is how Kubernetes and
// cert-manager name all signers of one issuer type.
func TestNoWildcards(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{"default": nil, "full": {"-f", fullValues}} {
		for _, o := range render(t, releaseName, releaseNamespace, args...) {
			var rules []rbacv1.PolicyRule
			switch o.GetKind() {
			case "ClusterRole":
				rules = as[rbacv1.ClusterRole](t, o).Rules
			case "Role":
				rules = as[rbacv1.Role](t, o).Rules
			}
			for _, r := range rules {
				for _, s := range slices.Concat(r.APIGroups, r.Resources, r.Verbs, r.NonResourceURLs) {
					if strings.Contains(s, "*") {
						t.Errorf("%s: %s %s has a wildcard rule: %+v", name, o.GetKind(), o.GetName(), r)
					}
				}
				for _, rn := range r.ResourceNames {
					if strings.Contains(rn, "*") && !slices.Equal(r.Resources, []string{"signers"}) {
						t.Errorf("%s: %s %s has a wildcard resource name outside signers: %+v", name, o.GetKind(), o.GetName(), r)
					}
				}
			}
		}
	}
}

func TestApproverSubject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		set  string
		want rbacv1.Subject
	}{
		{"", rbacv1.Subject{Kind: "ServiceAccount", Name: "cert-manager", Namespace: "cert-manager"}},
		{"approver.subject.kind=User,approver.subject.name=alice", rbacv1.Subject{Kind: "User", Name: "alice", APIGroup: "rbac.authorization.k8s.io"}},
		{"approver.subject.kind=Group,approver.subject.name=approvers", rbacv1.Subject{Kind: "Group", Name: "approvers", APIGroup: "rbac.authorization.k8s.io"}},
	} {
		var args []string
		if tc.set != "" {
			args = []string{"--set", tc.set}
		}
		var found bool
		for _, b := range ofKind(render(t, releaseName, releaseNamespace, args...), "ClusterRoleBinding") {
			crb := as[rbacv1.ClusterRoleBinding](t, b)
			if crb.RoleRef.Name != releaseName+"-approver" {
				continue
			}
			found = true
			if diff := cmp.Diff([]rbacv1.Subject{tc.want}, crb.Subjects); diff != "" {
				t.Errorf("--set %q: approver subjects (-want +got):\n%s", tc.set, diff)
			}
		}
		if !found {
			t.Errorf("--set %q: no approver ClusterRoleBinding", tc.set)
		}
	}
	if objs := render(t, releaseName, releaseNamespace, "--set", "approver.enabled=false"); strings.Contains(names(objs), "-approver") {
		t.Errorf("approver.enabled=false still renders an approver: %s", names(objs))
	}
}

func names(objs []*unstructured.Unstructured) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return strings.Join(out, " ")
}

func TestSchemaRejectsBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string // in helm's error
	}{
		{[]string{"--set", "replicaCount=notanumber"}, "replicaCount"},
		{[]string{"--set", "notAValue=1"}, "notAValue"},
		{[]string{"--set", "image.tagg=v1"}, "tagg"},
		{[]string{"--set", "crds.enabled=maybe"}, "crds/enabled"},
		{[]string{"--set", "maxRetryDuration=5"}, "maxRetryDuration"},
		{[]string{"--set", "maxRetryDuration=soon"}, "maxRetryDuration"},
		{[]string{"--set", "image.digest=latest"}, "digest"},
		{[]string{"--set", "image.pullPolicy=Sometimes"}, "pullPolicy"},
		{[]string{"--set", "approver.subject.kind=Robot"}, "kind"},
		{[]string{"--set", "secrets.namespaces=team-a"}, "namespaces"},
		{[]string{"--set", "logLevel=verbose"}, "logLevel"},
		{[]string{"--set", "memoryLimitFraction=-0.5"}, "memoryLimitFraction"},
		{[]string{"--set", "gogc=lots"}, "gogc"},
	} {
		_, err := templateRaw(t, releaseName, releaseNamespace, tc.args...)
		if err == nil {
			t.Errorf("%v: helm template succeeded, want a schema error", tc.args)
			continue
		}
		if !strings.Contains(err.Error(), "schema") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want a schema error naming %q, got: %v", tc.args, tc.want, err)
		}
	}
}

// TestValuesDocsAndSchemaCurrent: README.md's values section and
// values.schema.json are what hack/chart-docs generates from values.yaml,
// so a value added without docs, or docs edited by hand, fail here.
func TestValuesDocsAndSchemaCurrent(t *testing.T) {
	t.Parallel()
	if out, err := run(t, "go", "run", "./hack/chart-docs", "-check"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestEveryValueDocumented walks values.yaml itself, independently of the
// generator: each value must be in the schema, in the README, and set in
// full-values.yaml so that the full golden render exercises it.
func TestEveryValueDocumented(t *testing.T) {
	t.Parallel()
	var schema map[string]any
	readJSON(t, filepath.Join(chartDir, "values.schema.json"), &schema)
	readme := readFile(t, filepath.Join(chartDir, "README.md"))
	values := leaves(t, readYAML(t, filepath.Join(chartDir, "values.yaml")), schema, "")
	full := readYAML(t, fullValues)
	if len(values) < 40 {
		t.Fatalf("found only %d values; is the walk broken?", len(values))
	}
	for _, path := range values {
		if !strings.Contains(readme, "| `"+path+"` |") {
			t.Errorf("%s is not in the chart README", path)
		}
		if !hasPath(full, path) {
			t.Errorf("%s is not set in testdata/full-values.yaml", path)
		}
	}
}

// leaves returns the dotted paths of values.yaml's values, failing for any
// key the schema does not describe.
func leaves(t *testing.T, values map[string]any, schema map[string]any, prefix string) []string {
	t.Helper()
	props, _ := schema["properties"].(map[string]any)
	var out []string
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := strings.TrimPrefix(prefix+"."+k, ".")
		s, ok := props[k].(map[string]any)
		if !ok {
			t.Errorf("%s is in values.yaml but not in values.schema.json", path)
			continue
		}
		if _, group := s["properties"]; group {
			sub, _ := values[k].(map[string]any)
			out = append(out, leaves(t, sub, s, path)...)
			continue
		}
		if s["description"] == nil || s["description"] == "" {
			t.Errorf("%s has no description in the schema", path)
		}
		out = append(out, path)
	}
	return out
}

func hasPath(m map[string]any, path string) bool {
	var cur any = m
	for k := range strings.SplitSeq(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = mm[k]; !ok {
			return false
		}
	}
	return true
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readFile(t, path)), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(readFile(t, path)), &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}
