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
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The release every single-release test renders.
const (
	releaseName      = "atlas-issuer"
	releaseNamespace = "atlas-system"
)

// root is the repository root; go test runs in test/chart.
var root = func() string {
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return abs
}()

var chartDir = filepath.Join(root, "charts", "atlas-issuer")

// binary is $ENV when set, else bin/NAME, the one `make` builds: a helm
// from elsewhere may assume an older Kubernetes and reject the chart's
// kubeVersion.
func binary(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		return p
	}
	p := filepath.Join(root, "bin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found: run `make helm envtest` or set %s", p, env)
	}
	return p
}

// run runs a command in the repository root and returns its stdout; the
// error carries stderr, which is where helm explains a failure.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return run(t, binary(t, "HELM", "helm"), args...)
}

// templateRaw is `helm template` of the chart as release name in
// namespace, with extra helm arguments (--set, -f).
func templateRaw(t *testing.T, name, namespace string, args ...string) (string, error) {
	t.Helper()
	return helm(t, append([]string{"template", name, chartDir, "--namespace", namespace}, args...)...)
}

// render is templateRaw decoded into objects; it fails the test on error.
func render(t *testing.T, name, namespace string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := templateRaw(t, name, namespace, args...)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

func decode(t *testing.T, manifests string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	for {
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatalf("decode manifests: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

var docSeparator = regexp.MustCompile(`(?m)^---\n`)

// documents splits helm output into its documents, keyed by nothing: the
// "# Source:" line helm puts first in each tells where it came from.
func documents(manifests string) []string {
	var docs []string
	for _, d := range docSeparator.Split(manifests, -1) {
		if strings.TrimSpace(d) != "" {
			docs = append(docs, d)
		}
	}
	return docs
}

func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func kinds(objs []*unstructured.Unstructured) map[string]int {
	out := map[string]int{}
	for _, o := range objs {
		out[o.GetKind()]++
	}
	return out
}

// only returns the single object of a kind, failing when there is not
// exactly one.
func only(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	found := ofKind(objs, kind)
	if len(found) != 1 {
		t.Fatalf("want exactly one %s, got %d", kind, len(found))
	}
	return found[0]
}

// as converts a rendered object into its typed form.
func as[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return out
}
