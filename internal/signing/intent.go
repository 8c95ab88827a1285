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

package signing

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Intent is what the intent annotation records just before a certificate is
// submitted: the not_before sent to Atlas (whole seconds) and the public
// key's fingerprint. Together they identify the submission among the
// account's certificates after a restart.
type Intent struct {
	NotBefore   time.Time
	Fingerprint string
}

// String encodes the intent as "<unix seconds>/<fingerprint>".
func (i Intent) String() string {
	return fmt.Sprintf("%d/%s", i.NotBefore.Unix(), i.Fingerprint)
}

// ParseIntent decodes an intent annotation.
func ParseIntent(s string) (Intent, error) {
	secs, fp, ok := strings.Cut(s, "/")
	if !ok || fp == "" {
		return Intent{}, fmt.Errorf("intent %q: want <unix seconds>/<fingerprint>", s)
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n <= 0 {
		return Intent{}, fmt.Errorf("intent %q: bad time", s)
	}
	return Intent{NotBefore: time.Unix(n, 0), Fingerprint: fp}, nil
}
