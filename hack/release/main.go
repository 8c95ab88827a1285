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

// Command release holds the steps of `make release` that are not a go
// build or a helm command (hack/release.sh runs them in order):
//
//	release push-image --layout DIR --ref REPO:TAG
//	    push the image index DIR/index.json names; print its digest
//	release chart-values --values FILE --repository REPO --digest sha256:...
//	    pin the chart's default image to the pushed digest
//	release archive --out FILE --file NAME=PATH ...
//	    a reproducible .tar.gz or .zip (by FILE's extension)
//	release krew --dir DIR --version V --url-prefix URL --out FILE
//	    DIR/SHA256SUMS of every archive and the chart, and the krew
//	    plugin manifest of the kubectl-atlas archives
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("want a subcommand: push-image, chart-values, archive or krew")
	}
	switch args[0] {
	case "push-image":
		return pushImage(args[1:])
	case "chart-values":
		return chartValues(args[1:])
	case "archive":
		return archive(args[1:])
	case "krew":
		return krew(args[1:])
	}
	return fmt.Errorf("unknown subcommand %q", args[0])
}
