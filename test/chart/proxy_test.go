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
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// firstYAMLBlock is the first ```yaml block of a Markdown file.
func firstYAMLBlock(t *testing.T, path string) string {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	if !ok {
		t.Fatalf("%s has no yaml block", path)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("%s: unterminated yaml block", path)
	}
	return block
}

// TestProxyValuesFromDocs renders the chart with the values docs/proxy.md
// gives, so the documented way to set HTTPS_PROXY and NO_PROXY keeps
// reaching the manager's container, after the chart's own variables.
func TestProxyValuesFromDocs(t *testing.T) {
	t.Parallel()
	values := filepath.Join(t.TempDir(), "proxy-values.yaml")
	if err := os.WriteFile(values, []byte(firstYAMLBlock(t, filepath.Join(root, "docs", "proxy.md"))), 0o600); err != nil {
		t.Fatal(err)
	}
	d := as[appsv1.Deployment](t, only(t, render(t, releaseName, releaseNamespace, "-f", values), "Deployment"))
	env := map[string]string{}
	var order []string
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
		order = append(order, e.Name)
	}
	if !strings.HasPrefix(env["HTTPS_PROXY"], "http://") {
		t.Errorf("HTTPS_PROXY = %q, want the proxy URL from the docs", env["HTTPS_PROXY"])
	}
	if !strings.Contains(env["NO_PROXY"], "kubernetes.default.svc") {
		t.Errorf("NO_PROXY = %q lacks the API server", env["NO_PROXY"])
	}
	if len(order) == 0 || order[0] != "POD_NAMESPACE" {
		t.Errorf("env order %v: the chart's POD_NAMESPACE must stay first", order)
	}
}
