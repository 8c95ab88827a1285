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
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPinImage(t *testing.T) {
	t.Parallel()
	const values = `replicaCount: 1

image:
  # Image repository.
  # +docs:property
  repository: ghcr.io/globalsign/atlas-issuer

  # +docs:property
  tag: ""

  # Image digest.
  digest: ""

other:
  repository: untouched
  digest: untouched
`
	digest := "sha256:" + strings.Repeat("ab", 32)
	got, err := pinImage(values, "127.0.0.1:5000/x/atlas-issuer", digest)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  repository: \"127.0.0.1:5000/x/atlas-issuer\"\n",
		"  digest: \"" + digest + "\"\n",
		"  # Image repository.\n  # +docs:property\n",
		"other:\n  repository: untouched\n  digest: untouched\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("result lacks %q:\n%s", want, got)
		}
	}
	for name, bad := range map[string]string{
		"no image block": "other:\n  digest: \"\"\n",
		"no digest key":  "image:\n  repository: x\nother:\n  digest: \"\"\n",
	} {
		if _, err := pinImage(bad, "r", digest); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestArchiveReproducible: the same files give the same bytes whatever
// their times on disk, so SHA256SUMS and the krew manifest are stable.
func TestArchiveReproducible(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "kubectl-atlas")
	if err := os.WriteFile(bin, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"tar.gz", "zip"} {
		a, b := filepath.Join(dir, "a."+ext), filepath.Join(dir, "b."+ext)
		if err := archive([]string{"--out", a, "--file", "kubectl-atlas=" + bin}); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(bin, archiveEpoch, archiveEpoch.AddDate(3, 0, 0)); err != nil {
			t.Fatal(err)
		}
		if err := archive([]string{"--out", b, "--file", "kubectl-atlas=" + bin}); err != nil {
			t.Fatal(err)
		}
		ab, _ := os.ReadFile(a)
		bb, _ := os.ReadFile(b)
		if len(ab) == 0 || !bytes.Equal(ab, bb) {
			t.Errorf("%s archives of the same file differ", ext)
		}
	}
	if err := archive([]string{"--out", filepath.Join(dir, "c.rar"), "--file", "x=" + bin}); err == nil {
		t.Error("an unknown archive type was accepted")
	}
}

func TestKrewManifest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, n := range []string{"kubectl-atlas_v1.2.3_linux_amd64.tar.gz", "kubectl-atlas_v1.2.3_windows_arm64.zip", "atlas-issuer-1.2.3.tgz"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "atlas.yaml")
	if err := krew([]string{"--dir", dir, "--version", "v1.2.3", "--url-prefix", "https://example.org/dl/", "--out", out}); err != nil {
		t.Fatal(err)
	}
	m, _ := os.ReadFile(out)
	sums, _ := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	for _, want := range []string{
		"uri: https://example.org/dl/kubectl-atlas_v1.2.3_windows_arm64.zip",
		"bin: kubectl-atlas.exe",
		"os: windows",
		"arch: arm64",
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("manifest lacks %q:\n%s", want, m)
		}
	}
	sum := sha256.Sum256([]byte("kubectl-atlas_v1.2.3_linux_amd64.tar.gz"))
	if want := "sha256: " + hex.EncodeToString(sum[:]); !strings.Contains(string(m), want) {
		t.Errorf("manifest lacks %q:\n%s", want, m)
	}
	if strings.Count(string(sums), "\n") != 3 || !strings.Contains(string(sums), "  atlas-issuer-1.2.3.tgz\n") {
		t.Errorf("SHA256SUMS:\n%s", sums)
	}
	if err := krew([]string{"--dir", dir, "--version", "1.2.3", "--out", out}); err == nil {
		t.Error("a version without v was accepted; krew rejects it")
	}
	if err := krew([]string{"--dir", dir, "--version", "v9.9.9", "--out", out}); err == nil {
		t.Error("archives of another version were accepted")
	}
}
