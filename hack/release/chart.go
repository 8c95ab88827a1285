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

package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// chartValues pins the image block of a chart's values.yaml to a pushed
// digest. It edits the two lines in place, rather than re-encoding the
// YAML, so the comments the chart's README and schema come from survive.
func chartValues(args []string) error {
	fs := flag.NewFlagSet("chart-values", flag.ContinueOnError)
	file := fs.String("values", "", "the chart's values.yaml (a copy; it is rewritten)")
	repo := fs.String("repository", "", "image repository to pin")
	digest := fs.String("digest", "", "image index digest, sha256:...")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !regexp.MustCompile(`^sha256:[a-f0-9]{64}$`).MatchString(*digest) || *repo == "" {
		return fmt.Errorf("want --repository and a sha256: --digest, got %q %q", *repo, *digest)
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	out, err := pinImage(string(b), *repo, *digest)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	return os.WriteFile(*file, []byte(out), 0o644) //nolint:gosec // G703: the file is the maintainer's own --values flag.
}

// pinImage sets image.repository and image.digest in values.yaml text. The
// image block is the top-level "image:" key up to the next top-level key.
func pinImage(values, repo, digest string) (string, error) {
	lines := strings.Split(values, "\n")
	start := -1
	for i, l := range lines {
		if l == "image:" {
			start = i
			break
		}
	}
	if start < 0 {
		return "", fmt.Errorf("no top-level image: key")
	}
	set := map[string]string{"repository": strconv.Quote(repo), "digest": strconv.Quote(digest)}
	done := map[string]bool{}
	key := regexp.MustCompile(`^  ([a-zA-Z]+):`)
	for i := start + 1; i < len(lines); i++ {
		l := lines[i]
		if l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "#") {
			break
		}
		m := key.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if v, ok := set[m[1]]; ok {
			lines[i] = "  " + m[1] + ": " + v
			done[m[1]] = true
		}
	}
	for k := range set {
		if !done[k] {
			return "", fmt.Errorf("no image.%s key", k)
		}
	}
	return strings.Join(lines, "\n"), nil
}
