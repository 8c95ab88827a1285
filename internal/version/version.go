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

// Package version holds the version the binaries report. `make` stamps it
// from `git describe` with the linker:
//
//	-ldflags "-X github.com/globalsign/atlas-issuer/internal/version.Version=v1.2.3
//	          -X github.com/globalsign/atlas-issuer/internal/version.Revision=<commit>"
//
// A plain `go build` leaves Version at "dev".
package version

// Version is the release version, e.g. v1.2.3; "dev" when not stamped.
var Version = "dev"

// Revision is the source commit; "unknown" when not stamped.
var Revision = "unknown"

// String is the one-line form `--version` prints.
func String(program string) string {
	return program + " " + Version + " (revision " + Revision + ")"
}

// UserAgent is the HTTP User-Agent product token, e.g. atlas-issuer/v1.2.3.
func UserAgent(product string) string {
	return product + "/" + Version
}
