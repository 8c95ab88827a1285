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

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pushImage pushes the one image index a layout's index.json names, with
// the credentials of `docker login` / `helm registry login` (the default
// keychain). A registry on a loopback address is spoken to over plain
// HTTP, as go-containerregistry does for those.
func pushImage(args []string) error {
	fs := flag.NewFlagSet("push-image", flag.ContinueOnError)
	dir := fs.String("layout", "", "OCI image layout directory (make image's bin/image)")
	refFlag := fs.String("ref", "", "REPOSITORY:TAG to push to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ref, err := name.NewTag(*refFlag)
	if err != nil {
		return fmt.Errorf("--ref: %w", err)
	}
	top, err := layout.ImageIndexFromPath(*dir)
	if err != nil {
		return fmt.Errorf("--layout: %w", err)
	}
	m, err := top.IndexManifest()
	if err != nil {
		return err
	}
	if len(m.Manifests) != 1 {
		return fmt.Errorf("%s/index.json lists %d entries, want the one image index make image writes", *dir, len(m.Manifests))
	}
	idx, err := top.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return err
	}
	if err := remote.WriteIndex(ref, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	fmt.Println(m.Manifests[0].Digest)
	return nil
}
