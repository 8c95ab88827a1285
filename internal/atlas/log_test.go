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
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr/funcr"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// TestLogsHoldNoSecrets drives logins, a token refusal, retries and errors
// with verbose logging and checks that no credential, token or request body
// reaches the log or the errors.
func TestLogsHoldNoSecrets(t *testing.T) {
	var mu sync.Mutex
	var out strings.Builder
	logger := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		out.WriteString(prefix + " " + args + "\n")
	}, funcr.Options{Verbosity: 10})

	const bodyMarker = "PUBLIC-KEY-MARKER-6f1c"
	f := newFakeAtlas(t, false)
	var calls atomic.Int32
	f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			writeProblem(w, http.StatusServiceUnavailable, "Service busy, please retry later", "id-1")
		case 2:
			created(w, r)
		default:
			writeProblem(w, http.StatusUnprocessableEntity, "subject_dn.common_name: is required", "")
		}
	})
	c, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.Logger = logger })
	ctx := testCtx(t)
	var errs []error

	if _, err := c.RequestCertificate(ctx, &atlas.CertificateRequest{PublicKey: bodyMarker}); err != nil {
		t.Fatal(err)
	}
	f.revokeTokens()
	_, err := c.RequestCertificate(ctx, &atlas.CertificateRequest{PublicKey: bodyMarker})
	errs = append(errs, err)

	bad, _ := newClient(t, f, func(cfg *atlas.Config) {
		cfg.Logger = logger
		cfg.APISecret = testAPISecret + "-wrong"
	})
	errs = append(errs, bad.Login(ctx))

	mu.Lock()
	logged := out.String()
	mu.Unlock()
	for _, want := range []string{`"operation"="RequestCertificate"`, `"attempt"=2`, `"code"=503`, `"operation"="Login"`} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %s:\n%s", want, logged)
		}
	}
	secrets := append([]string{testAPISecret, testAPIKey, bodyMarker}, f.issuedTokens()...)
	if len(secrets) < 5 {
		t.Fatalf("expected at least two tokens to be issued, got %v", f.issuedTokens())
	}
	for _, s := range secrets {
		if strings.Contains(logged, s) {
			t.Errorf("log contains %q:\n%s", s, logged)
		}
		for _, err := range errs {
			if err != nil && strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains %q", err, s)
			}
		}
	}
}
