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
	"strings"
	"testing"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAdmitNamespace(t *testing.T) {
	team := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	tests := []struct {
		name      string
		sel       *metav1.LabelSelector
		namespace string
		labels    map[string]string
		wantText  string // empty: admitted
	}{
		{name: "no selector", namespace: "any"},
		{name: "no selector, no namespace"},
		{name: "matching", sel: team, namespace: "a1", labels: map[string]string{"team": "a", "x": "y"}},
		{name: "empty selector matches all", sel: &metav1.LabelSelector{}, namespace: "b1"},
		{name: "other labels", sel: team, namespace: "b1", labels: map[string]string{"team": "b"}, wantText: "namespace b1 does not match spec.namespaceSelector (team=a) of AtlasClusterIssuer shared"},
		{name: "no labels", sel: team, namespace: "c1", wantText: "namespace c1 does not match"},
		{name: "expression", sel: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"sandbox"}},
		}}, namespace: "s1", labels: map[string]string{"tier": "sandbox"}, wantText: "tier notin (sandbox)"},
		{name: "Kubernetes CSR", sel: team, wantText: "has no namespace"},
		{name: "invalid selector", sel: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "k", Operator: "Near"},
		}}, namespace: "a1", wantText: "invalid spec.namespaceSelector"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := AdmitNamespace("shared", tc.sel, tc.namespace, tc.labels)
			if tc.wantText == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.As(err, &signer.PermanentError{}) || !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("err = %v, want a PermanentError containing %q", err, tc.wantText)
			}
		})
	}
}
