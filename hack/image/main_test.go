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
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

var (
	binariesOnce sync.Once
	binariesDir  string
	binariesErr  error
)

// testBinaries builds a trivial static Go program for linux/amd64 and
// linux/arm64 once per test run: real ELF files with Go build info.
func testBinaries(t *testing.T) (amd64, arm64 string) {
	t.Helper()
	binariesOnce.Do(func() {
		binariesDir, binariesErr = os.MkdirTemp("", "hack-image-test")
		if binariesErr != nil {
			return
		}
		src := filepath.Join(binariesDir, "src")
		if binariesErr = os.MkdirAll(src, 0o755); binariesErr != nil {
			return
		}
		files := map[string]string{
			"go.mod":  "module example.com/hello\n\ngo 1.26\n",
			"main.go": "package main\n\nfunc main() { println(\"hello\") }\n",
		}
		for n, c := range files {
			if binariesErr = os.WriteFile(filepath.Join(src, n), []byte(c), 0o644); binariesErr != nil {
				return
			}
		}
		for _, arch := range []string{"amd64", "arm64"} {
			cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(binariesDir, "hello-"+arch), ".")
			cmd.Dir = src
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=-mod=mod", "GOWORK=off")
			if out, err := cmd.CombinedOutput(); err != nil {
				binariesErr = fmt.Errorf("%v: %w\n%s", cmd.Args, err, out)
				return
			}
		}
	})
	if binariesErr != nil {
		t.Fatalf("building test binaries: %v", binariesErr)
	}
	return filepath.Join(binariesDir, "hello-amd64"), filepath.Join(binariesDir, "hello-arm64")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binariesDir != "" {
		_ = os.RemoveAll(binariesDir)
	}
	os.Exit(code)
}

func testArgs(t *testing.T, out string, extra ...string) []string {
	t.Helper()
	amd64, arm64 := testBinaries(t)
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\nnot a real one\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return append([]string{
		"--out", out, "--name", "ghcr.io/example/hello",
		"--binary", "linux/amd64=" + amd64, "--binary", "linux/arm64=" + arm64,
		"--entrypoint", "/manager", "--user", "65532", "--ca-bundle", ca,
		"--label", "org.opencontainers.image.licenses=Apache-2.0",
		"--label", "org.opencontainers.image.version=v1.2.3",
		"--tag", "v1.2.3", "--sbom", "--created", "2026-01-02T03:04:05Z",
	}, extra...)
}

func readDigest(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "digest"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestReproducible: the same inputs give the same index digest and the same
// tarball bytes; a different creation time gives a different digest, which
// proves the comparison can fail.
func TestReproducible(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := run(testArgs(t, dir)); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(testArgs(t, c, "--created", "1")); err != nil {
		t.Fatal(err)
	}
	da, db, dc := readDigest(t, a), readDigest(t, b), readDigest(t, c)
	if !strings.HasPrefix(da, "sha256:") || len(da) != len("sha256:")+64 {
		t.Fatalf("digest file holds %q", da)
	}
	if da != db {
		t.Errorf("two builds of the same inputs: %s and %s", da, db)
	}
	if da == dc {
		t.Errorf("a different creation time gave the same digest %s", da)
	}
	ta, _ := os.ReadFile(filepath.Join(a, "image.tar"))
	tb, _ := os.ReadFile(filepath.Join(b, "image.tar"))
	if len(ta) == 0 || !bytes.Equal(ta, tb) {
		t.Errorf("image.tar differs between two builds of the same inputs (%d, %d bytes)", len(ta), len(tb))
	}
	// A second run into the same directory replaces the layout instead of
	// appending to it.
	if err := run(testArgs(t, a)); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(a)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := idx.IndexManifest(); len(m.Manifests) != 1 {
		t.Errorf("index.json lists %d entries after a rebuild, want 1", len(m.Manifests))
	}
}

// indexEntries reads the image index a build wrote into dir: each
// platform's image manifest digest.
func indexEntries(t *testing.T, dir string) map[string]v1.Hash {
	t.Helper()
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil || len(tm.Manifests) != 1 {
		t.Fatalf("index.json: %v, %v", tm, err)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]v1.Hash{}
	for _, m := range im.Manifests {
		got[m.Platform.OS+"/"+m.Platform.Architecture] = m.Digest
	}
	return got
}

// withoutBinary drops one platform's --binary from testArgs.
func withoutBinary(args []string, platform string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--binary" && strings.HasPrefix(args[i+1], platform+"=") {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// TestOnePlatformIsTheIndexEntry: a build of one platform holds the very
// image manifest a multi-platform build's index points at for it, so a
// reproducibility check may rebuild one platform and compare that entry. A
// one-platform build of another version holds another manifest, so the
// comparison can fail.
func TestOnePlatformIsTheIndexEntry(t *testing.T) {
	both, amd64, arm64, other := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	for _, args := range map[string][]string{
		both:  testArgs(t, both),
		amd64: withoutBinary(testArgs(t, amd64), "linux/arm64"),
		arm64: withoutBinary(testArgs(t, arm64), "linux/amd64"),
		other: withoutBinary(testArgs(t, other, "--label", "org.opencontainers.image.version=v1.2.4"), "linux/arm64"),
	} {
		if err := run(args); err != nil {
			t.Fatal(err)
		}
	}
	index := indexEntries(t, both)
	if len(index) != 2 {
		t.Fatalf("the two-platform index holds %v", index)
	}
	for dir, p := range map[string]string{amd64: "linux/amd64", arm64: "linux/arm64"} {
		got := indexEntries(t, dir)
		if len(got) != 1 || got[p] != index[p] {
			t.Errorf("%s alone built %v; the two-platform index holds %s", p, got, index[p])
		}
		if readDigest(t, dir) == readDigest(t, both) {
			t.Errorf("%s alone: the same index digest as both platforms", p)
		}
	}
	if got := indexEntries(t, other)["linux/amd64"]; got == index["linux/amd64"] {
		t.Errorf("another version built the same linux/amd64 manifest %s", got)
	}
}

// layerFiles maps each path in an image's layers to its tar header and
// content; later layers win.
func layerFiles(t *testing.T, img v1.Image) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	hdrs, data := map[string]*tar.Header{}, map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		var names []string
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, h.Name)
			b, _ := io.ReadAll(tr)
			hdrs["/"+strings.TrimSuffix(h.Name, "/")] = h
			data["/"+strings.TrimSuffix(h.Name, "/")] = b
		}
		rc.Close()
		if !sort.StringsAreSorted(names) {
			t.Errorf("layer entries are not sorted: %v", names)
		}
	}
	return hdrs, data
}

func TestImageContent(t *testing.T) {
	dir := t.TempDir()
	if err := run(testArgs(t, dir)); err != nil {
		t.Fatal(err)
	}
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := top.IndexManifest()
	if len(tm.Manifests) != 1 {
		t.Fatalf("index.json has %d entries", len(tm.Manifests))
	}
	d := tm.Manifests[0]
	if got := d.Annotations[annotationContainerdName]; got != "ghcr.io/example/hello:v1.2.3" {
		t.Errorf("containerd name annotation = %q", got)
	}
	if got := d.Annotations[annotationRefName]; got != "v1.2.3" {
		t.Errorf("ref name annotation = %q", got)
	}
	if d.Digest.String() != readDigest(t, dir) {
		t.Errorf("digest file %s, index.json %s", readDigest(t, dir), d.Digest)
	}
	idx, err := top.ImageIndex(d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if im.Annotations["org.opencontainers.image.version"] != "v1.2.3" {
		t.Errorf("index annotations = %v", im.Annotations)
	}
	var platforms []string
	for _, m := range im.Manifests {
		platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Architecture != m.Platform.Architecture || cfg.OS != "linux" {
			t.Errorf("config platform %s/%s under %v", cfg.OS, cfg.Architecture, m.Platform)
		}
		if cfg.Config.User != "65532:65532" || strings.Join(cfg.Config.Entrypoint, " ") != "/manager" {
			t.Errorf("user %q entrypoint %q", cfg.Config.User, cfg.Config.Entrypoint)
		}
		if !cfg.Created.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("created = %v", cfg.Created)
		}
		if cfg.Config.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" {
			t.Errorf("labels = %v", cfg.Config.Labels)
		}
		hdrs, data := layerFiles(t, img)
		if h := hdrs["/manager"]; h == nil || h.Mode != 0o755 || h.Uid != 0 {
			t.Errorf("/manager header %+v, want root-owned 0755", h)
		}
		if h := hdrs["/home/nonroot"]; h == nil || h.Uid != 65532 || h.Gid != 65532 {
			t.Errorf("/home/nonroot header %+v, want owned by 65532", h)
		}
		for p, h := range hdrs {
			if !h.ModTime.Equal(cfg.Created.Time) {
				t.Errorf("%s mtime %v", p, h.ModTime)
			}
		}
		if !strings.Contains(string(data["/etc/passwd"]), "nonroot:x:65532:65532:") ||
			!strings.Contains(string(data["/etc/group"]), "nonroot:x:65532:") {
			t.Errorf("passwd %q group %q", data["/etc/passwd"], data["/etc/group"])
		}
		if !strings.Contains(string(data[caBundlePath]), "not a real one") {
			t.Errorf("CA bundle = %q", data[caBundlePath])
		}
		var doc spdxDocument
		if err := json.Unmarshal(data["/usr/share/sbom/manager.spdx.json"], &doc); err != nil {
			t.Fatalf("SBOM: %v", err)
		}
		if doc.SPDXVersion != "SPDX-2.3" || len(doc.Packages) < 2 || doc.Packages[0].Name != "example.com/hello" ||
			doc.Packages[0].LicenseDeclared != "Apache-2.0" || !strings.Contains(doc.Packages[0].Comment, "GOARCH="+cfg.Architecture) {
			t.Errorf("SBOM %+v", doc)
		}
	}
	if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("platforms %v", platforms)
	}
}

// TestArchive: image.tar holds the layout and a manifest.json whose
// config and layers are blobs in the same tar.
func TestArchive(t *testing.T) {
	dir := t.TempDir()
	if err := run(testArgs(t, dir)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "image.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read only
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	for _, want := range []string{"oci-layout", "index.json", "manifest.json"} {
		if files[want] == nil {
			t.Errorf("image.tar lacks %s", want)
		}
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(files["manifest.json"], &entries); err != nil || len(entries) != 1 {
		t.Fatalf("manifest.json %s: %v", files["manifest.json"], err)
	}
	e := entries[0]
	if strings.Join(e.RepoTags, ",") != "ghcr.io/example/hello:v1.2.3" || len(e.Layers) != 3 {
		t.Errorf("manifest.json entry %+v", e)
	}
	for _, p := range append([]string{e.Config}, e.Layers...) {
		if files[p] == nil {
			t.Errorf("manifest.json names %s, which image.tar lacks", p)
		}
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(files[e.Config], &cfg); err != nil || cfg.Architecture != "amd64" {
		t.Errorf("manifest.json's config is for %q (%v), want the first platform", cfg.Architecture, err)
	}
}

func TestRefusesWrongArchitecture(t *testing.T) {
	amd64, _ := testBinaries(t)
	err := run([]string{"--out", t.TempDir(), "--name", "x", "--binary", "linux/arm64=" + amd64, "--entrypoint", "/m"})
	if err == nil || !strings.Contains(err.Error(), "not arm64") {
		t.Errorf("an amd64 binary given as arm64: err = %v", err)
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, user string
		uid, gid   int
		wantErr    bool
	}{
		{"uid only", "65532", 65532, 65532, false},
		{"uid and gid", "1000:2000", 1000, 2000, false},
		{"name", "nonroot", 0, 0, true},
		{"negative", "-1", 0, 0, true},
		{"bad gid", "1:x", 0, 0, true},
	} {
		uid, gid, err := parseUser(tc.user)
		if (err != nil) != tc.wantErr || uid != tc.uid || gid != tc.gid {
			t.Errorf("%s: parseUser(%q) = %d, %d, %v", tc.name, tc.user, uid, gid, err)
		}
	}
	for _, tc := range []struct {
		flag, env string
		want      time.Time
		wantErr   bool
	}{
		{"", "", time.Unix(0, 0).UTC(), false},
		{"", "1700000000", time.Unix(1700000000, 0).UTC(), false},
		{"2026-01-02T03:04:05+01:00", "1", time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC), false},
		{"yesterday", "", time.Time{}, true},
	} {
		got, err := parseCreated(tc.flag, tc.env)
		if (err != nil) != tc.wantErr || !got.Equal(tc.want) {
			t.Errorf("parseCreated(%q, %q) = %v, %v", tc.flag, tc.env, got, err)
		}
	}
	for _, tc := range []struct {
		repo, tag, want string
	}{
		{"ghcr.io/globalsign/atlas-issuer", "v1", "ghcr.io/globalsign/atlas-issuer:v1"},
		{"ghcr.io/globalsign/atlas-issuer", "", "ghcr.io/globalsign/atlas-issuer:latest"},
		{"atlas-issuer", "e2e", "docker.io/library/atlas-issuer:e2e"},
		{"ignored", "localhost:5000/a/b:c", "localhost:5000/a/b:c"},
	} {
		ref, err := reference(tc.repo, tc.tag)
		if err != nil || containerdName(ref) != tc.want {
			t.Errorf("reference(%q, %q) = %v (%v), want %s", tc.repo, tc.tag, containerdName(ref), err, tc.want)
		}
	}
	if _, err := parseBinary("linux/amd64"); err == nil {
		t.Error("parseBinary accepted a platform without a path")
	}
	if b, err := parseBinary("linux/arm/v7=x"); err != nil || b.Variant != "v7" || b.Path != "x" {
		t.Errorf("parseBinary(linux/arm/v7=x) = %+v, %v", b, err)
	}
	if _, err := parseLabels([]string{"novalue"}); err == nil {
		t.Error("parseLabels accepted a label without =")
	}
}
