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

package atlas_test

import (
	"errors"
	"testing"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func TestURLAllowlist(t *testing.T) {
	tests := []struct {
		rules string
		url   string
		want  bool
	}{
		{atlas.DefaultAllowedURLs, "https://emea.api.hvca.globalsign.com:8443/v2", true},
		{atlas.DefaultAllowedURLs, "https://EMEA.API.HVCA.GlobalSign.com/v2", true},
		{atlas.DefaultAllowedURLs, "https://hvca.globalsign.com/v2", false},
		{atlas.DefaultAllowedURLs, "https://evilhvca.globalsign.com/v2", false},
		{atlas.DefaultAllowedURLs, "https://emea.api.hvca.globalsign.com.evil.example/v2", false},
		{atlas.DefaultAllowedURLs, "https://127.0.0.1:8443/v2", false},
		{atlas.DefaultAllowedURLs, "http://emea.api.hvca.globalsign.com/v2", false},
		{"*", "https://127.0.0.1:8443/v2", true},
		{"*", "not a url", false},
		{"127.0.0.1", "https://127.0.0.1:9443/v2", true},
		{"127.0.0.1:8443", "https://127.0.0.1:9443/v2", false},
		{"127.0.0.1:8443", "https://127.0.0.1:8443/v2", true},
		{"atlas.example", "https://atlas.example/v2", true},
		{"atlas.example:443", "https://atlas.example/v2", true},
		{"https://atlas.example/v2", "https://atlas.example:443/v2", true},
		{"https://atlas.example/v2", "https://atlas.example/v2/", true},
		{"https://atlas.example/v2", "https://atlas.example/v20", false},
		{"https://atlas.example/v2", "https://atlas.example:8443/v2", false},
		{"https://atlas.example:8443", "https://atlas.example:8443/v2", true},
		{"https://atlas.example:8443", "https://other.example:8443/v2", false},
		{" other.example , *.atlas.example ", "https://a.b.atlas.example/v2", true},
		{"[::1]:8443", "https://[::1]:8443/v2", true},
	}
	for _, tt := range tests {
		a, err := atlas.ParseURLAllowlist(tt.rules)
		if err != nil {
			t.Fatalf("ParseURLAllowlist(%q): %v", tt.rules, err)
		}
		err = a.Check(tt.url)
		if got := err == nil; got != tt.want {
			t.Errorf("rules %q, URL %q: allowed %v, want %v (%v)", tt.rules, tt.url, got, tt.want, err)
		}
		if _, ok := errors.AsType[*atlas.URLNotAllowedError](err); err != nil && !ok {
			t.Errorf("rules %q, URL %q: error %T, want *URLNotAllowedError", tt.rules, tt.url, err)
		}
	}
	var none *atlas.URLAllowlist
	if err := none.Check("https://anywhere.example/v2"); err != nil {
		t.Errorf("a nil allowlist refused a URL: %v", err)
	}
}

func TestParseURLAllowlistErrors(t *testing.T) {
	for _, rules := range []string{"", " , ", "http://atlas.example", "https://*.atlas.example", "a*.example", "https://u@atlas.example", "https://atlas.example/?q=1", "atlas.example/v2"} {
		if _, err := atlas.ParseURLAllowlist(rules); err == nil {
			t.Errorf("ParseURLAllowlist(%q) accepted it", rules)
		}
	}
}

// TestNewRefusesURLNotAllowed proves that a client is never built for a URL
// outside the allowlist, so the server never sees a login.
func TestNewRefusesURLNotAllowed(t *testing.T) {
	f := newFakeAtlas(t, false)
	allow, err := atlas.ParseURLAllowlist(atlas.DefaultAllowedURLs)
	if err != nil {
		t.Fatal(err)
	}
	p := getPKI(t)
	_, err = atlas.New(atlas.Config{URL: f.url(), APIKey: testAPIKey, APISecret: testAPISecret,
		ClientCertificate: p.client, RootCAs: p.roots, AllowedURLs: allow})
	if _, ok := errors.AsType[*atlas.URLNotAllowedError](err); !ok {
		t.Fatalf("New = %v, want *URLNotAllowedError", err)
	}
	// Positive control: allowing the fake's host lets the login through.
	here, err := atlas.ParseURLAllowlist("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.AllowedURLs = here })
	f.setAPI(counterAPI)
	if _, err := c.CountIssued(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if logins, _ := f.counts(); logins != 1 {
		t.Fatalf("logins = %d, want 1", logins)
	}
}
