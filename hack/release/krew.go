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
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// The krew plugin manifest (krew.googlecontainertools.github.com/v1alpha2),
// as far as kubectl-atlas fills it in.
type krewPlugin struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   krewMetadata `json:"metadata"`
	Spec       krewSpec     `json:"spec"`
}

type krewMetadata struct {
	Name string `json:"name"`
}

type krewSpec struct {
	Version          string         `json:"version"`
	Homepage         string         `json:"homepage"`
	ShortDescription string         `json:"shortDescription"`
	Description      string         `json:"description"`
	Platforms        []krewPlatform `json:"platforms"`
}

type krewPlatform struct {
	Selector krewSelector `json:"selector"`
	URI      string       `json:"uri"`
	SHA256   string       `json:"sha256"`
	Bin      string       `json:"bin"`
}

type krewSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

// pluginArchive matches the names hack/release.sh gives the plugin's
// archives: kubectl-atlas_VERSION_OS_ARCH.tar.gz (or .zip on Windows).
var pluginArchive = regexp.MustCompile(`^kubectl-atlas_(.+)_([a-z0-9]+)_([a-z0-9]+)\.(tar\.gz|zip)$`)

// krew writes DIR/SHA256SUMS over every .tar.gz, .tgz and .zip in DIR, and
// the krew manifest for the plugin archives among them.
func krew(args []string) error {
	fs := flag.NewFlagSet("krew", flag.ContinueOnError)
	dir := fs.String("dir", "", "release directory holding the archives")
	version := fs.String("version", "", "release version, v-prefixed semver (krew requires the v)")
	urlPrefix := fs.String("url-prefix", "", "URL the archives are downloaded from; each uri is this plus /NAME")
	homepage := fs.String("homepage", "", "project homepage")
	out := fs.String("out", "", "krew manifest to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+`).MatchString(*version) {
		return fmt.Errorf("--version %q: krew needs a v-prefixed semantic version", *version)
	}
	entries, err := os.ReadDir(*dir)
	if err != nil {
		return err
	}
	var sums strings.Builder
	plugin := krewPlugin{
		APIVersion: "krew.googlecontainertools.github.com/v1alpha2",
		Kind:       "Plugin",
		Metadata:   krewMetadata{Name: "atlas"},
		Spec: krewSpec{
			Version:          *version,
			Homepage:         *homepage,
			ShortDescription: "Use the GlobalSign Atlas account behind a cert-manager AtlasIssuer",
			Description: "Shows and manages the GlobalSign Atlas HVCA account behind an atlas-issuer\n" +
				"AtlasIssuer or AtlasClusterIssuer: quota, counters, statistics, trust chain,\n" +
				"validation policy, revocation, rekey and domain claims.\n",
		},
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".tgz") || strings.HasSuffix(n, ".zip")) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(*dir, n))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		hexSum := hex.EncodeToString(sum[:])
		fmt.Fprintf(&sums, "%s  %s\n", hexSum, n)
		m := pluginArchive.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		if m[1] != *version {
			return fmt.Errorf("%s is not an archive of %s", n, *version)
		}
		bin := "kubectl-atlas"
		if m[2] == "windows" {
			bin += ".exe"
		}
		plugin.Spec.Platforms = append(plugin.Spec.Platforms, krewPlatform{
			Selector: krewSelector{MatchLabels: map[string]string{"os": m[2], "arch": m[3]}},
			URI:      strings.TrimSuffix(*urlPrefix, "/") + "/" + n,
			SHA256:   hexSum,
			Bin:      bin,
		})
	}
	if len(plugin.Spec.Platforms) == 0 {
		return fmt.Errorf("no kubectl-atlas archives in %s", *dir)
	}
	manifest, err := yaml.Marshal(plugin)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*dir, "SHA256SUMS"), []byte(sums.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(*out, manifest, 0o644)
}
