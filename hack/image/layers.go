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
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths the image's system layer installs.
const (
	caBundlePath = "/etc/ssl/certs/ca-certificates.crt"
	sbomDir      = "/usr/share/sbom"
)

// file is one entry of a layer. Parent directories are added by layer.
type file struct {
	Path     string // absolute
	Mode     int64  // permission bits, plus sticky etc.
	UID, GID int
	Dir      bool
	Data     []byte
}

// systemFiles are what a static binary needs from an OS: a name for its
// user (some libraries look it up), a writable home and /tmp, the hosts
// lookup order Go's resolver reads, and the CA bundle Go's crypto/x509
// loads on Linux. Everything is root-owned and read-only to the user
// except its home, so the process cannot alter its own image.
func systemFiles(uid, gid int, caBundle []byte) []file {
	passwd := "root:x:0:0:root:/root:/sbin/nologin\n" //nolint:gosec // G101: an account list with no password hashes, not a credential.
	group := "root:x:0:\n"
	files := []file{
		{Path: "/root", Mode: 0o700, Dir: true},
		{Path: "/tmp", Mode: 0o1777, Dir: true},
		{Path: "/etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
	}
	if uid != 0 {
		passwd += fmt.Sprintf("nonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", uid, gid)
		files = append(files, file{Path: "/home/nonroot", Mode: 0o700, UID: uid, GID: gid, Dir: true})
	}
	if gid != 0 {
		group += fmt.Sprintf("nonroot:x:%d:\n", gid)
	}
	files = append(files,
		file{Path: "/etc/passwd", Mode: 0o644, Data: []byte(passwd)},
		file{Path: "/etc/group", Mode: 0o644, Data: []byte(group)},
	)
	if caBundle != nil {
		files = append(files, file{Path: caBundlePath, Mode: 0o644, Data: caBundle})
	}
	return files
}

// layer writes files as a reproducible tar layer: entries sorted by path,
// parents before children, every time set to created, no user or group
// names, and the same gzip bytes for the same input.
func layer(files []file, created time.Time) (v1.Layer, error) {
	entries := map[string]file{}
	for _, f := range files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return nil, fmt.Errorf("layer path %q is not clean and absolute", f.Path)
		}
		if _, dup := entries[f.Path]; dup {
			return nil, fmt.Errorf("layer path %q given twice", f.Path)
		}
		entries[f.Path] = f
	}
	for _, f := range files {
		for dir := path.Dir(f.Path); dir != "/"; dir = path.Dir(dir) {
			if _, ok := entries[dir]; !ok {
				entries[dir] = file{Path: dir, Mode: 0o755, Dir: true}
			}
		}
	}
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		f := entries[p]
		hdr := &tar.Header{
			Name:    strings.TrimPrefix(p, "/"),
			Mode:    f.Mode,
			Uid:     f.UID,
			Gid:     f.GID,
			ModTime: created,
			Format:  tar.FormatUSTAR,
		}
		if f.Dir {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", p, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
}
