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

// Package failpoint lets the chaos tests crash the manager at exact points
// of the signing state machine, such as between the POST to Atlas and the
// serial being persisted, which random kills would almost never hit.
package failpoint

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// EnvVar names the environment variable that arms failpoints:
// "after-submit=0.3,after-intent=0.1" crashes at each point with that
// probability. Unset in production, where Parse returns nil.
const EnvVar = "ATLAS_ISSUER_FAILPOINTS"

// Points known to the signer.
const (
	AfterIntent = "after-intent" // intent written, nothing submitted
	AfterSubmit = "after-submit" // Atlas accepted the POST, serial not persisted
	AfterIssue  = "after-issue"  // certificate fetched, not yet returned
)

var known = map[string]bool{AfterIntent: true, AfterSubmit: true, AfterIssue: true}

// Parse reads a failpoint specification. It returns a function that calls
// crash(name) when the point fires, or nil when spec is empty.
func Parse(spec string, random func() float64, crash func(name string)) (func(name string), error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	if random == nil {
		random = rand.Float64
	}
	probs := map[string]float64{}
	for part := range strings.SplitSeq(spec, ",") {
		name, p, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("failpoint %q: want name=probability", part)
		}
		if !known[name] {
			return nil, fmt.Errorf("failpoint %q: unknown point", name)
		}
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f < 0 || f > 1 {
			return nil, fmt.Errorf("failpoint %q: probability must be between 0 and 1", part)
		}
		probs[name] = f
	}
	return func(name string) {
		if p := probs[name]; p > 0 && random() < p {
			crash(name)
		}
	}, nil
}
