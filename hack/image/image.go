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
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations on the layout's index.json entry: containerd (and so Docker's
// containerd image store and ctr) names the imported image after the first,
// the OCI layout spec after the second.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// elfMachine is the ELF machine each GOARCH produces, to refuse a binary
// given for the wrong platform.
var elfMachine = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"s390x":   elf.EM_S390,
	"ppc64le": elf.EM_PPC64,
	"riscv64": elf.EM_RISCV,
}

// build writes the image layout, digest file and tarball into out and
// returns the index digest.
func build(out string, o options) (v1.Hash, error) {
	var ca []byte
	if o.CABundle != "" {
		var err error
		if ca, err = os.ReadFile(o.CABundle); err != nil {
			return v1.Hash{}, fmt.Errorf("CA bundle: %w", err)
		}
	}
	// One system layer, identical for every platform, so registries and
	// nodes store it once.
	system, err := layer(systemFiles(o.UID, o.GID, ca), o.Created)
	if err != nil {
		return v1.Hash{}, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, b := range o.Binaries {
		img, err := platformImage(o, b, system)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("%s: %w", b.platform(), err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{
				OS: b.OS, Architecture: b.Arch, Variant: b.Variant,
			}},
		})
	}
	if len(o.Labels) > 0 {
		idx = mutate.Annotations(idx, o.Labels).(v1.ImageIndex)
	}
	digest, err := idx.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("index digest: %w", err)
	}
	if err := writeLayout(out, idx, o.Ref); err != nil {
		return v1.Hash{}, err
	}
	if err := os.WriteFile(filepath.Join(out, "digest"), []byte(digest.String()+"\n"), 0o644); err != nil {
		return v1.Hash{}, fmt.Errorf("digest file: %w", err)
	}
	if err := writeArchive(out, filepath.Join(out, "image.tar"), o.Ref, o.Created); err != nil {
		return v1.Hash{}, err
	}
	return digest, nil
}

// platformImage is the system layer, the binary at the entrypoint and,
// with --sbom, the binary's SBOM.
func platformImage(o options, b binary, system v1.Layer) (v1.Image, error) {
	data, err := os.ReadFile(b.Path)
	if err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	if err := checkELF(b); err != nil {
		return nil, err
	}
	// Root-owned and not writable by the user the process runs as.
	bin, err := layer([]file{{Path: o.Entrypoint, Mode: 0o755, Data: data}}, o.Created)
	if err != nil {
		return nil, err
	}
	adds := []mutate.Addendum{
		{Layer: system, History: history(o, "system files: passwd, group, nsswitch.conf, CA bundle")},
		{Layer: bin, History: history(o, "binary "+o.Entrypoint)},
	}
	if o.SBOM {
		doc, err := sbom(b.Path, b.platform(), o.Labels["org.opencontainers.image.licenses"], o.Created, data)
		if err != nil {
			return nil, err
		}
		l, err := layer([]file{{Path: sbomPath(o.Entrypoint), Mode: 0o644, Data: doc}}, o.Created)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{Layer: l, History: history(o, "SPDX SBOM "+sbomPath(o.Entrypoint))})
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if img, err = mutate.Append(img, adds...); err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = b.OS, b.Arch, b.Variant
	cfg.Created = v1.Time{Time: o.Created}
	cfg.Author = ""
	cfg.Config = v1.Config{
		Entrypoint: []string{o.Entrypoint},
		User:       strconv.Itoa(o.UID) + ":" + strconv.Itoa(o.GID),
		WorkingDir: "/",
		Labels:     o.Labels,
	}
	return mutate.ConfigFile(img, cfg)
}

// sbomPath names the SBOM after the binary it describes.
func sbomPath(entrypoint string) string {
	return sbomDir + "/" + path.Base(entrypoint) + ".spdx.json"
}

func history(o options, what string) v1.History {
	return v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "hack/image: " + what, Comment: ""}
}

func checkELF(b binary) error {
	want, known := elfMachine[b.Arch]
	if b.OS != "linux" || !known {
		return nil
	}
	f, err := elf.Open(b.Path)
	if err != nil {
		return fmt.Errorf("binary %s is not an ELF file: %w", b.Path, err)
	}
	defer func() { _ = f.Close() }() // read only
	if f.Machine != want {
		return fmt.Errorf("binary %s is built for %s, not %s", b.Path, f.Machine, b.Arch)
	}
	return nil
}

// writeLayout replaces out's layout with one whose index.json lists the
// image index, named by ref.
func writeLayout(out string, idx v1.ImageIndex, ref name.Tag) error {
	for _, old := range []string{"oci-layout", "index.json", "blobs", "digest", "image.tar"} {
		if err := os.RemoveAll(filepath.Join(out, old)); err != nil {
			return fmt.Errorf("clearing %s: %w", out, err)
		}
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return fmt.Errorf("layout %s: %w", out, err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		annotationContainerdName: containerdName(ref),
		annotationRefName:        ref.TagStr(),
	})); err != nil {
		return fmt.Errorf("layout %s: %w", out, err)
	}
	return nil
}
