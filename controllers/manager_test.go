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
	valid := Options{
		ClusterResourceNamespace: "atlas-system", MaxConcurrentRequests: 16, MaxRetryDuration: time.Hour,
		AtlasTimeout: 30 * time.Second, LookupGrace: 2 * time.Minute, IssuerShare: 0.5,
		SignTimeout: 2 * time.Minute, CheckTimeout: 30 * time.Second, IssuerWorkers: 4, AllowedAtlasURLs: "*.hvca.globalsign.com",
	}
	tests := []struct {
		name   string
		mutate func(*Options)
		want   string
	}{
		{name: "the flags' defaults"},
		{name: "explicit settings", mutate: func(o *Options) {
			o.IssuerShare, o.SignTimeout, o.CheckTimeout, o.IssuerWorkers = 1, time.Minute, time.Second, 2
			o.AllowedAtlasURLs = "127.0.0.1, *.hvca.globalsign.com"
		}},
		{name: "no cluster resource namespace", mutate: func(o *Options) { o.ClusterResourceNamespace = "" }, want: "--cluster-resource-namespace"},
		{name: "no slots", mutate: func(o *Options) { o.MaxConcurrentRequests = 0 }, want: "--max-concurrent-requests"},
		{name: "no retries", mutate: func(o *Options) { o.MaxRetryDuration = 0 }, want: "--max-retry-duration"},
		{name: "share above 1", mutate: func(o *Options) { o.IssuerShare = 1.5 }, want: "--max-issuer-share"},
		{name: "zero share", mutate: func(o *Options) { o.IssuerShare = 0 }, want: "--max-issuer-share"},
		{name: "negative share", mutate: func(o *Options) { o.IssuerShare = -0.1 }, want: "--max-issuer-share"},
		{name: "zero sign timeout", mutate: func(o *Options) { o.SignTimeout = 0 }, want: "--sign-timeout"},
		{name: "negative check timeout", mutate: func(o *Options) { o.CheckTimeout = -time.Second }, want: "--check-timeout"},
		{name: "zero Atlas timeout", mutate: func(o *Options) { o.AtlasTimeout = 0 }, want: "--atlas-timeout"},
		{name: "no check workers", mutate: func(o *Options) { o.IssuerWorkers = 0 }, want: "--issuer-check-workers"},
		{name: "negative recheck interval", mutate: func(o *Options) { o.RecheckInterval = -time.Second }, want: "--issuer-recheck-interval"},
		{name: "recheck off", mutate: func(o *Options) { o.RecheckInterval = 0 }},
		{name: "resubmit bound at the grace", mutate: func(o *Options) { o.LookupGrace, o.ResubmitUndecidedAfter = time.Minute, time.Minute }},
		{name: "resubmit bound below the grace", mutate: func(o *Options) { o.LookupGrace, o.ResubmitUndecidedAfter = time.Minute, time.Second }, want: "--resubmit-undecided-after"},
		{name: "negative resubmit bound", mutate: func(o *Options) { o.ResubmitUndecidedAfter = -time.Second }, want: "--resubmit-undecided-after"},
		{name: "bad URL rule", mutate: func(o *Options) { o.AllowedAtlasURLs = "http://atlas.example" }, want: "https"},
		{name: "no URL allowed", mutate: func(o *Options) { o.AllowedAtlasURLs = " " }, want: "--allowed-atlas-urls"},
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
}
