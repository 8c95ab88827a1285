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

// Command image builds a multi-platform OCI image from static Go binaries,
// with no Docker engine and no base image: an empty image plus one layer of
// system files (passwd, group, CA bundle) and one layer with the binary.
//
//	go run ./hack/image --out DIR --name NAME --binary linux/amd64=PATH \
//	    [--binary linux/arm64=PATH ...] --entrypoint /manager [--user 65532] \
//	    [--ca-bundle FILE] [--label k=v ...] [--tag REF] [--sbom] \
//	    [--created RFC3339|SOURCE_DATE_EPOCH]
//
// It writes DIR as an OCI image layout whose index.json points at one image
// index (one manifest per --binary), DIR/digest with that index's digest, and
// DIR/image.tar, the same layout plus a Docker manifest.json, for
// `ctr images import` and `docker load`. The same inputs give the same bytes.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// labelCreated is the OCI label for the creation time; it defaults to
// --created.
const labelCreated = "org.opencontainers.image.created"

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	var (
		out, name, entrypoint, user, caBundle, tag, created string
		binaries, labels                                    stringList
		sbom                                                bool
	)
	fs.StringVar(&out, "out", "", "output directory: OCI layout, digest, image.tar")
	fs.StringVar(&name, "name", "", "image repository, e.g. ghcr.io/globalsign/atlas-issuer")
	fs.Var(&binaries, "binary", "OS/ARCH[/VARIANT]=PATH of a static binary; repeat for each platform")
	fs.StringVar(&entrypoint, "entrypoint", "", "absolute path the binary is installed at and run from")
	fs.StringVar(&user, "user", "65532", "numeric UID[:GID] the entrypoint runs as")
	fs.StringVar(&caBundle, "ca-bundle", "", "PEM file installed as /etc/ssl/certs/ca-certificates.crt")
	fs.Var(&labels, "label", "KEY=VALUE image label, also an index annotation; repeatable (org.opencontainers.image.created defaults to --created)")
	fs.StringVar(&tag, "tag", "", "tag, or a full reference overriding --name, for the layout's and tarball's ref name (default latest)")
	fs.BoolVar(&sbom, "sbom", false, "add an SPDX SBOM of each binary's Go build info as a layer")
	fs.StringVar(&created, "created", "", "creation time: RFC 3339 or seconds since the epoch (default $SOURCE_DATE_EPOCH, else 0)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opts := options{Name: name, Entrypoint: entrypoint, CABundle: caBundle, SBOM: sbom}
	var err error
	if out == "" {
		return fmt.Errorf("--out is required")
	}
	if opts.Ref, err = reference(name, tag); err != nil {
		return err
	}
	if opts.UID, opts.GID, err = parseUser(user); err != nil {
		return err
	}
	if opts.Created, err = parseCreated(created, os.Getenv("SOURCE_DATE_EPOCH")); err != nil {
		return err
	}
	if opts.Labels, err = parseLabels(labels); err != nil {
		return err
	}
	if _, ok := opts.Labels[labelCreated]; !ok {
		opts.Labels[labelCreated] = opts.Created.Format(time.RFC3339)
	}
	for _, b := range binaries {
		p, err := parseBinary(b)
		if err != nil {
			return err
		}
		opts.Binaries = append(opts.Binaries, p)
	}
	if err := opts.validate(); err != nil {
		return err
	}
	digest, err := build(out, opts)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s\n", opts.Ref, digest)
	return nil
}

// parseCreated reads the --created flag, falling back to SOURCE_DATE_EPOCH
// and then to the epoch itself: an image must never carry the build's wall
// clock, or two builds of one commit would differ.
func parseCreated(flagValue, env string) (time.Time, error) {
	v := flagValue
	if v == "" {
		v = env
	}
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(secs, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--created %q: want RFC 3339 or seconds since the epoch", v)
	}
	return t.UTC(), nil
}

// parseUser reads UID[:GID]; names are refused because the kubelet can only
// enforce runAsNonRoot on a numeric user.
func parseUser(v string) (uid, gid int, err error) {
	u, g, hasGID := strings.Cut(v, ":")
	if uid, err = strconv.Atoi(u); err != nil || uid < 0 {
		return 0, 0, fmt.Errorf("--user %q: want a numeric UID[:GID]", v)
	}
	gid = uid
	if hasGID {
		if gid, err = strconv.Atoi(g); err != nil || gid < 0 {
			return 0, 0, fmt.Errorf("--user %q: want a numeric UID[:GID]", v)
		}
	}
	return uid, gid, nil
}

func parseLabels(kvs []string) (map[string]string, error) {
	labels := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: want KEY=VALUE", kv)
		}
		labels[k] = v
	}
	return labels, nil
}

func parseBinary(v string) (binary, error) {
	plat, path, ok := strings.Cut(v, "=")
	parts := strings.Split(plat, "/")
	if !ok || path == "" || len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return binary{}, fmt.Errorf("--binary %q: want OS/ARCH[/VARIANT]=PATH", v)
	}
	b := binary{OS: parts[0], Arch: parts[1], Path: path}
	if len(parts) == 3 {
		b.Variant = parts[2]
	}
	return b, nil
}
