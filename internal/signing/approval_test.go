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

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// TestSignRefusesUnapprovedRequests: Sign itself, not only issuer-lib in
// front of it, refuses a request nobody approved, before any Atlas call.
func TestSignRefusesUnapprovedRequests(t *testing.T) {
	cond := func(typ cmapi.CertificateRequestConditionType, st cmmeta.ConditionStatus) cmapi.CertificateRequestCondition {
		return cmapi.CertificateRequestCondition{Type: typ, Status: st, Reason: "test"}
	}
	tests := []struct {
		name       string
		conditions []cmapi.CertificateRequestCondition
		want       any
	}{
		{"not yet approved", nil, &signer.PendingError{}},
		{"denied", []cmapi.CertificateRequestCondition{cond(cmapi.CertificateRequestConditionDenied, cmmeta.ConditionTrue)}, &signer.PermanentError{}},
		{"approved and denied", []cmapi.CertificateRequestCondition{
			cond(cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue),
			cond(cmapi.CertificateRequestConditionDenied, cmmeta.ConditionTrue),
		}, &signer.PermanentError{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fake.Options{})
			req := e.request("unapproved.example.com", false)
			req.Object.(*cmapi.CertificateRequest).Status.Conditions = tc.conditions
			_, err := e.signer.Sign(context.Background(), req, e.iss)
			switch want := tc.want.(type) {
			case *signer.PendingError:
				if !errors.As(err, want) {
					t.Fatalf("err = %v, want PendingError", err)
				}
			case *signer.PermanentError:
				if !errors.As(err, want) || !strings.Contains(err.Error(), "denied") {
					t.Fatalf("err = %v, want a PermanentError saying denied", err)
				}
			}
			if n := e.fake.TotalCalls(); n != 0 {
				t.Errorf("Atlas calls = %d, want 0", n)
			}
		})
	}
}

func TestCheckApprovalKubernetesCSR(t *testing.T) {
	csr := func(types ...certificatesv1.RequestConditionType) *certificatesv1.CertificateSigningRequest {
		r := &certificatesv1.CertificateSigningRequest{}
		for _, typ := range types {
			r.Status.Conditions = append(r.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: corev1.ConditionTrue})
		}
		return r
	}
	if err := checkApproval(csr(certificatesv1.CertificateApproved)); err != nil {
		t.Errorf("approved: %v", err)
	}
	if err := checkApproval(csr()); !errors.As(err, &signer.PendingError{}) {
		t.Errorf("unapproved: err = %v, want PendingError", err)
	}
	if err := checkApproval(csr(certificatesv1.CertificateDenied)); !errors.As(err, &signer.PermanentError{}) {
		t.Errorf("denied: err = %v, want PermanentError", err)
	}
	if err := checkApproval(&corev1.ConfigMap{}); !errors.As(err, &signer.PermanentError{}) {
		t.Errorf("another kind: err = %v, want PermanentError", err)
	}
}
