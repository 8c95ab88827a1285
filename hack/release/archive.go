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
	"archive/zip"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// archiveEpoch is the time stamped on every archive entry: archives of the
// same files are then byte for byte the same, and so are their checksums.
var archiveEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// archive writes a .tar.gz or .zip of the given files, flat, sorted by
// name, executables (mode 0755) for names without a dot or ending in .exe.
func archive(args []string) error {
	fs := flag.NewFlagSet("archive", flag.ContinueOnError)
	out := fs.String("out", "", "archive to write: .tar.gz or .zip")
	var files stringList
	fs.Var(&files, "file", "NAME=PATH of a file to add; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	type entry struct {
		name string
		data []byte
		mode os.FileMode
	}
	var entries []entry
	for _, f := range files {
		name, path, ok := strings.Cut(f, "=")
		if !ok || name == "" || strings.Contains(name, "/") {
			return fmt.Errorf("--file %q: want NAME=PATH with a plain NAME", f)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if !strings.Contains(name, ".") || strings.HasSuffix(name, ".exe") {
			mode = 0o755
		}
		entries = append(entries, entry{name, data, mode})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })

	var buf bytes.Buffer
	switch {
	case strings.HasSuffix(*out, ".tar.gz"):
		gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		tw := tar.NewWriter(gz)
		for _, e := range entries {
			hdr := &tar.Header{Name: e.name, Mode: int64(e.mode), Size: int64(len(e.data)), ModTime: archiveEpoch,
				Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(e.data); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
	case strings.HasSuffix(*out, ".zip"):
		zw := zip.NewWriter(&buf)
		for _, e := range entries {
			h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: archiveEpoch}
			h.SetMode(e.mode)
			w, err := zw.CreateHeader(h)
			if err != nil {
				return err
			}
			if _, err := w.Write(e.data); err != nil {
				return err
			}
		}
		if err := zw.Close(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("--out %q: want a .tar.gz or .zip name", *out)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(*out, buf.Bytes(), 0o644)
}
