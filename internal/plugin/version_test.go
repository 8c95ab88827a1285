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

package plugin

import (
	"bytes"
	"context"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestVersionFlag: --version prints the stamped version and needs no
// cluster.
func TestVersionFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	cmd := NewCommand(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
	cmd.SetArgs([]string{"--version"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("--version: %v (%s)", err, errOut.String())
	}
	if got := out.String(); got != "kubectl-atlas dev (revision unknown)\n" {
		t.Errorf("--version printed %q", got)
	}
}

func TestImageVersion(t *testing.T) {
	for ref, want := range map[string]string{
		"ghcr.io/globalsign/atlas-issuer:v0.3.0":                 "v0.3.0",
		"ghcr.io/globalsign/atlas-issuer:v0.3.0@sha256:0123abcd": "v0.3.0",
		"registry.example.com:5000/atlas-issuer":                 "registry.example.com:5000/atlas-issuer",
		"registry.example.com:5000/atlas-issuer:v1":              "v1",
		"ghcr.io/globalsign/atlas-issuer@sha256:0123abcd":        "ghcr.io/globalsign/atlas-issuer@sha256:0123abcd",
		"controller:latest":                                      "latest",
	} {
		if got := imageVersion(ref); got != want {
			t.Errorf("imageVersion(%q) = %q, want %q", ref, got, want)
		}
	}
}
