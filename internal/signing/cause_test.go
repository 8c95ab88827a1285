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
	"errors"
	"fmt"
	"testing"

	"github.com/cert-manager/issuer-lib/controllers/signer"

	"github.com/globalsign/atlas-issuer/internal/credentials"
)

func TestCause(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil is a passed check", nil, CauseChecked},
		{"check error", &CheckError{Cause: CauseQuotaExhausted, Err: errors.New("no quota")}, CauseQuotaExhausted},
		{"wrapped check error", fmt.Errorf("checking: %w", &CheckError{Cause: CauseCredentialsRejected, Err: errors.New("401")}), CauseCredentialsRejected},
		{"inside issuer-lib's IssuerError", signer.IssuerError{Err: &CheckError{Cause: CauseClientCertificateRejected, Err: errors.New("tls")}}, CauseClientCertificateRejected},
		{"secret problem", &credentials.Error{Reason: credentials.ReasonSecretNotFound, Secret: "ns/s"}, credentials.ReasonSecretNotFound},
		{"anything else", errors.New("boom"), CauseCheckFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Cause(tc.err); got != tc.want {
				t.Errorf("Cause(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
