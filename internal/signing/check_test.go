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
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/credentials"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(e *env)
		wantCause string
		wantText  string // in the message, when set
	}{
		{name: "healthy"},
		{name: "wrong api key", mutate: func(e *env) { e.secret.Data[credentials.KeyAPIKey] = []byte("wrong") }, wantCause: CauseCredentialsRejected},
		{name: "untrusted client certificate", mutate: func(e *env) {
			c, k, err := e.fake.NewClientCertificate(false)
			if err != nil {
				e.t.Fatal(err)
			}
			e.secret.Data[credentials.KeyCertificate], e.secret.Data[credentials.KeyPrivateKey] = c, k
		}, wantCause: CauseClientCertificateRejected},
		{name: "account needs the private key", mutate: func(e *env) {
			p := fake.DefaultPolicy()
			p.PublicKey.KeyFormat = atlas.KeyFormatPKCS8
			p.PublicKeySignature = atlas.PresenceRequired
			e.fake.SetPolicy(p)
		}, wantCause: CauseAccountUnusable},
		{name: "account requires a custom extension", mutate: func(e *env) {
			p := fake.DefaultPolicy()
			p.CustomExtensions = map[string]atlas.CustomExtensionPolicy{"2.5.29.99.1": {Presence: atlas.PresenceRequired, ValueType: "NIL"}}
			e.fake.SetPolicy(p)
		}, wantCause: CauseAccountUnusable, wantText: "custom_extensions.2.5.29.99.1: the account's validation policy requires a custom extension"},
		{name: "no quota", mutate: func(e *env) { e.fake.SetQuota(0) }, wantCause: CauseQuotaExhausted},
		{name: "atlas down", mutate: func(e *env) { e.fake.SetFaults(fake.Faults{Down: true}) }, wantCause: CauseAtlasUnreachable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fake.Options{Quota: 42})
			if tc.mutate != nil {
				tc.mutate(e)
				e.newSigner()
			}
			h, err := e.signer.Check(context.Background(), e.iss)
			if tc.wantCause == "" {
				if err != nil {
					t.Fatal(err)
				}
				if h.Quota == nil || *h.Quota != 42 || h.CredentialsNotAfter.IsZero() || h.PolicySummary == "" {
					t.Errorf("health = %+v", h)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Cause != tc.wantCause {
				t.Fatalf("err = %v, want cause %s", err, tc.wantCause)
			}
			if !strings.HasPrefix(err.Error(), tc.wantCause+": ") {
				t.Errorf("message %q does not start with its cause", err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("message %q does not contain %q", err, tc.wantText)
			}
		})
	}
}
