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
	"strings"
	"testing"
)

// TestFlagDefaultsAreValid: the flags' defaults pass the controllers' one
// set of rules, and a flag that breaks one is refused by that rule.
func TestFlagDefaultsAreValid(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{args: nil},
		{args: []string{"--sign-timeout=0"}, want: "--sign-timeout must be positive"},
		{args: []string{"--max-issuer-share=0"}, want: "--max-issuer-share"},
		{args: []string{"--memory-limit-fraction=1.5"}, want: "--memory-limit-fraction"},
	} {
		var o options
		fs := flag.NewFlagSet("manager", flag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		o.Complete()
		err := o.Validate()
		if tt.want == "" && err != nil {
			t.Errorf("%v: %v", tt.args, err)
		}
		if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%v: Validate = %v, want an error about %q", tt.args, err, tt.want)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, tt := range []struct {
		name     string
		env      map[string]string
		fraction float64
		want     int64
		wantErr  bool
	}{
		{name: "a share of the container's limit", env: map[string]string{memoryLimitEnv: "134217728"}, fraction: 0.9, want: 134217728 * 9 / 10},
		{name: "the whole limit", env: map[string]string{memoryLimitEnv: "134217728"}, fraction: 1, want: 128 * mib},
		{name: "no container limit known", fraction: 0.9},
		{name: "fraction 0 leaves the runtime alone", env: map[string]string{memoryLimitEnv: "134217728"}},
		{name: "GOMEMLIMIT wins", env: map[string]string{memoryLimitEnv: "134217728", "GOMEMLIMIT": "50MiB"}, fraction: 0.9},
		{name: "not a byte count", env: map[string]string{memoryLimitEnv: "128Mi"}, fraction: 0.9, wantErr: true},
		{name: "zero bytes", env: map[string]string{memoryLimitEnv: "0"}, fraction: 0.9, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := memoryLimit(func(k string) string { return tt.env[k] }, tt.fraction)
			if (err != nil) != tt.wantErr {
				t.Fatalf("memoryLimit = %d, %v; want an error: %v", got, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("memoryLimit = %d, want %d", got, tt.want)
			}
		})
	}
}
