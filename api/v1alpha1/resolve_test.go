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

package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestResolve(t *testing.T) {
	const crns = "atlas-system"
	for _, tc := range []struct {
		name       string
		obj        any
		wantKind   string
		wantSecret types.NamespacedName
		wantURL    string
		wantErr    bool
	}{
		{
			name:       "namespaced issuer reads its own namespace, default URL",
			obj:        &AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "a"}, Spec: AtlasIssuerSpec{AuthSecretName: "creds"}},
			wantKind:   "AtlasIssuer",
			wantSecret: types.NamespacedName{Namespace: "web", Name: "creds"},
			wantURL:    DefaultURL,
		},
		{
			name:       "cluster issuer reads the cluster resource namespace, own URL",
			obj:        &AtlasClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: AtlasIssuerSpec{AuthSecretName: "creds", URL: "https://atlas.example/v2"}},
			wantKind:   "AtlasClusterIssuer",
			wantSecret: types.NamespacedName{Namespace: crns, Name: "creds"},
			wantURL:    "https://atlas.example/v2",
		},
		{name: "another type", obj: &metav1.ObjectMeta{}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.obj, crns)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got.Kind != tc.wantKind || got.Secret != tc.wantSecret || got.URL != tc.wantURL || got.Spec == nil {
				t.Errorf("Resolve = %+v, want kind %s, secret %s, URL %s", got, tc.wantKind, tc.wantSecret, tc.wantURL)
			}
		})
	}
}
