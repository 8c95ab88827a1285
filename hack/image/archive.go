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
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// dockerManifestEntry is one entry of a docker-archive manifest.json.
type dockerManifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// writeArchive tars the layout in dir into dst, adding the manifest.json
// Docker's classic image store loads. containerd and Docker's containerd
// image store read index.json and pick the host's platform; manifest.json
// can only describe one image, so it names the first platform's.
func writeArchive(dir, dst string, ref name.Tag, mtime time.Time) error {
	manifest, err := dockerManifest(dir, ref)
	if err != nil {
		return err
	}
	var names []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
			return nil
		case d.IsDir() && rel != "blobs" && filepath.Dir(rel) != "blobs":
			return filepath.SkipDir
		case rel == "oci-layout" || rel == "index.json" || (!d.IsDir() && filepath.Dir(filepath.Dir(rel)) == "blobs"):
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("image.tar: %w", err)
	}
	sort.Strings(names)

	f, err := os.Create(dst + ".tmp")
	if err != nil {
		return fmt.Errorf("image.tar: %w", err)
	}
	defer func() { _ = os.Remove(dst + ".tmp") }() // gone already once renamed
	defer func() { _ = f.Close() }()               // closed and checked below on success
	tw := tar.NewWriter(f)
	add := func(name string, size int64, r io.Reader) error {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	if err := add("manifest.json", int64(len(manifest)), bytes.NewReader(manifest)); err != nil {
		return fmt.Errorf("image.tar: %w", err)
	}
	for _, n := range names {
		if err := addFile(add, dir, n); err != nil {
			return fmt.Errorf("image.tar: %s: %w", n, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("image.tar: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("image.tar: %w", err)
	}
	return os.Rename(dst+".tmp", dst)
}

func addFile(add func(string, int64, io.Reader) error, dir, rel string) error {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read only
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return add(rel, st.Size(), f)
}

// dockerManifest describes the layout's first image in docker-archive form,
// pointing at the same blobs the OCI layout holds.
func dockerManifest(dir string, ref name.Tag) ([]byte, error) {
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if len(tm.Manifests) != 1 {
		return nil, fmt.Errorf("manifest.json: want one index in %s, found %d", dir, len(tm.Manifests))
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if len(im.Manifests) == 0 {
		return nil, fmt.Errorf("manifest.json: empty image index in %s", dir)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	entry := dockerManifestEntry{
		Config:   blobPath(m.Config.Digest.Algorithm, m.Config.Digest.Hex),
		RepoTags: []string{containerdName(ref)},
	}
	for _, l := range m.Layers {
		entry.Layers = append(entry.Layers, blobPath(l.Digest.Algorithm, l.Digest.Hex))
	}
	return json.Marshal([]dockerManifestEntry{entry})
}

func blobPath(alg, hex string) string { return "blobs/" + alg + "/" + hex }
