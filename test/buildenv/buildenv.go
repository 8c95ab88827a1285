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

// Package buildenv reads hack/build.env, the one file that says how the
// manager is built, which user its image runs as and how it is labelled,
// for the tests that hold the Dockerfile and the built image to it.
package buildenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Read parses root/hack/build.env: KEY=VALUE lines, # comments, values
// verbatim as make reads them.
func Read(root string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "hack", "build.env"))
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("hack/build.env: %q is not KEY=VALUE", line)
		}
		env[k] = v
	}
	for _, k := range []string{"GO_BUILD_FLAGS", "GO_LDFLAGS", "VERSION_PACKAGE", "IMAGE_REPOSITORY", "IMAGE_PLATFORMS",
		"IMAGE_ENTRYPOINT", "IMAGE_USER", "IMAGE_TITLE", "IMAGE_DESCRIPTION", "IMAGE_URL", "IMAGE_SOURCE",
		"IMAGE_VENDOR", "IMAGE_LICENSES"} {
		if env[k] == "" {
			return nil, fmt.Errorf("hack/build.env lacks %s", k)
		}
	}
	return env, nil
}
