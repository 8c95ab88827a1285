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
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// options is everything one image build depends on; the same options give
// the same bytes.
type options struct {
	Name       string
	Ref        name.Tag
	Binaries   []binary
	Entrypoint string
	UID, GID   int
	CABundle   string
	Labels     map[string]string
	SBOM       bool
	Created    time.Time
}

// binary is one platform's executable.
type binary struct {
	OS, Arch, Variant string
	Path              string
}

func (b binary) platform() string {
	p := b.OS + "/" + b.Arch
	if b.Variant != "" {
		p += "/" + b.Variant
	}
	return p
}

func (o options) validate() error {
	if len(o.Binaries) == 0 {
		return fmt.Errorf("at least one --binary is required")
	}
	seen := map[string]bool{}
	for _, b := range o.Binaries {
		if seen[b.platform()] {
			return fmt.Errorf("--binary: platform %s given twice", b.platform())
		}
		seen[b.platform()] = true
	}
	if !path.IsAbs(o.Entrypoint) || path.Clean(o.Entrypoint) != o.Entrypoint || o.Entrypoint == "/" {
		return fmt.Errorf("--entrypoint %q: want a clean absolute file path", o.Entrypoint)
	}
	return nil
}

// reference combines --name and --tag: a --tag holding a repository (a "/"
// or ":") is a full reference on its own.
func reference(repo, tag string) (name.Tag, error) {
	ref := tag
	switch {
	case strings.ContainsAny(tag, "/:"):
	case repo == "":
		return name.Tag{}, fmt.Errorf("--name is required unless --tag is a full reference")
	case tag == "":
		ref = repo + ":latest"
	default:
		ref = repo + ":" + tag
	}
	t, err := name.NewTag(ref)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	return t, nil
}

// containerdName is the reference as containerd and Docker store it: a
// Docker Hub image is named docker.io/..., never index.docker.io/....
func containerdName(t name.Tag) string {
	reg := t.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + t.RepositoryStr() + ":" + t.TagStr()
}
