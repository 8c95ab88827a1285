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

package controllers

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	valid := Options{ClusterResourceNamespace: "atlas-system", MaxConcurrentRequests: 16, MaxRetryDuration: time.Hour}
	tests := []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{name: "defaults"},
		{name: "explicit settings", mutate: func(o *Options) {
			o.IssuerShare, o.SignTimeout, o.CheckTimeout, o.IssuerWorkers = 1, time.Minute, time.Second, 2
			o.AllowedAtlasURLs = "127.0.0.1, *.hvca.globalsign.com"
		}},
		{name: "share above 1", mutate: func(o *Options) { o.IssuerShare = 1.5 }, want: "issuer share"},
		{name: "negative share", mutate: func(o *Options) { o.IssuerShare = -0.1 }, want: "issuer share"},
		{name: "negative timeout", mutate: func(o *Options) { o.SignTimeout = -time.Second }, want: "must not be negative"},
		{name: "resubmit bound at the grace", mutate: func(o *Options) { o.LookupGrace, o.ResubmitUndecidedAfter = time.Minute, time.Minute }},
		{name: "resubmit bound below the grace", mutate: func(o *Options) { o.LookupGrace, o.ResubmitUndecidedAfter = time.Minute, time.Second }, want: "resubmit-undecided-after"},
		{name: "negative resubmit bound", mutate: func(o *Options) { o.ResubmitUndecidedAfter = -time.Second }, want: "resubmit-undecided-after"},
		{name: "bad URL rule", mutate: func(o *Options) { o.AllowedAtlasURLs = "http://atlas.example" }, want: "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			if tt.mutate != nil {
				tt.mutate(&o)
			}
			err := o.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error about %q", err, tt.want)
			}
		})
	}
	// An empty list means the default, which refuses the loopback address.
	allowed, err := valid.allowedURLs()
	if err != nil {
		t.Fatal(err)
	}
	if allowed.Check("https://emea.api.hvca.globalsign.com:8443/v2") != nil || allowed.Check("https://127.0.0.1/v2") == nil {
		t.Errorf("the default allowlist is %s, want GlobalSign's Atlas hosts only", allowed)
	}
}
