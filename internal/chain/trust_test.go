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

package chain

import (
	"slices"
	"strings"
	"testing"
)

func TestParseTrust(t *testing.T) {
	root := mint(t, "Root", nil, true)
	inter := mint(t, "Issuing CA", root, true)
	leaf := mint(t, "leaf.example", inter, false)
	padded := "# " + strings.Repeat("x", MaxTrustBytes) + "\n" + root.pem
	for _, tc := range []struct {
		name  string
		trust []string
		want  string // "" when the chain is accepted
	}{
		{"issuing CA and root", []string{inter.pem, root.pem}, ""},
		{"both in one element", []string{inter.pem + root.pem}, ""},
		{"empty", nil, ""},
		{"at the count bound", slices.Repeat([]string{root.pem}, MaxTrustCertificates), ""},
		{"one certificate too many", slices.Repeat([]string{root.pem}, MaxTrustCertificates+1), "more than 8 certificates"},
		{"too many in one element", []string{strings.Repeat(root.pem, MaxTrustCertificates+1)}, "more than 8 certificates"},
		{"too large", []string{padded}, "more than the 64 KiB"},
		{"not PEM", []string{inter.pem, "garbage"}, "trust chain element 1"},
		{"corrupt certificate", []string{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "trust chain element 0"},
		{"an end-entity certificate", []string{leaf.pem, root.pem}, `"CN=leaf.example" is not a CA`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTrust(tc.trust)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ParseTrust() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseTrust() = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
