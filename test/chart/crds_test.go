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
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestCRDTemplatesCurrent re-runs hack/sync-chart-crds.sh into a temporary
// directory: the chart's CRD templates must be exactly what it makes of
// config/crd/bases, so `make manifests` without the sync fails here.
func TestCRDTemplatesCurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, err := run(t, filepath.Join(root, "hack", "sync-chart-crds.sh"), dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	generated, err := filepath.Glob(filepath.Join(dir, "crd-*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	inChart, err := filepath.Glob(filepath.Join(chartDir, "templates", "crd-*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(generated) == 0 || len(generated) != len(inChart) {
		t.Fatalf("sync makes %d CRD templates, the chart has %d; run hack/sync-chart-crds.sh", len(generated), len(inChart))
	}
	for _, g := range generated {
		want := readFile(t, g)
		got, err := os.ReadFile(filepath.Join(chartDir, "templates", filepath.Base(g)))
		if err != nil {
			t.Errorf("%v; run hack/sync-chart-crds.sh", err)
			continue
		}
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("%s is stale; run hack/sync-chart-crds.sh (-want +got):\n%s", filepath.Base(g), diff)
		}
	}
}

// TestCRDTemplatesRenderBases: what the chart installs is each base CRD,
// with only the chart's labels and the keep policy added.
func TestCRDTemplatesRenderBases(t *testing.T) {
	t.Parallel()
	bases, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rendered := map[string]*unstructured.Unstructured{}
	for _, crd := range ofKind(render(t, releaseName, releaseNamespace), "CustomResourceDefinition") {
		rendered[crd.GetName()] = crd
	}
	if len(rendered) != len(bases) {
		t.Errorf("rendered %d CRDs, config/crd/bases has %d", len(rendered), len(bases))
	}
	for _, path := range bases {
		var base map[string]any
		if err := yaml.Unmarshal([]byte(readFile(t, path)), &base); err != nil {
			t.Fatal(err)
		}
		want := &unstructured.Unstructured{Object: base}
		got := rendered[want.GetName()]
		if got == nil {
			t.Errorf("CRD %s is not rendered", want.GetName())
			continue
		}
		got = got.DeepCopy()
		if got.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy: keep (crds.keep defaults to true)", got.GetName())
		}
		if got.GetLabels()["app.kubernetes.io/name"] != "atlas-issuer" {
			t.Errorf("CRD %s lacks the chart's labels: %v", got.GetName(), got.GetLabels())
		}
		annotations := got.GetAnnotations()
		delete(annotations, "helm.sh/resource-policy")
		got.SetAnnotations(annotations)
		got.SetLabels(nil)
		if diff := cmp.Diff(want.Object, got.Object); diff != "" {
			t.Errorf("CRD %s differs from %s (-base +chart):\n%s", got.GetName(), path, diff)
		}
	}

	if n := len(ofKind(render(t, releaseName, releaseNamespace, "--set", "crds.enabled=false"), "CustomResourceDefinition")); n != 0 {
		t.Errorf("crds.enabled=false renders %d CRDs", n)
	}
	for _, crd := range ofKind(render(t, releaseName, releaseNamespace, "--set", "crds.keep=false"), "CustomResourceDefinition") {
		if _, ok := crd.GetAnnotations()["helm.sh/resource-policy"]; ok {
			t.Errorf("crds.keep=false still keeps CRD %s", crd.GetName())
		}
	}
}
