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
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/signing"
)

type recordedForget struct{ calls []string }

func (r *recordedForget) IssuerChanged(old, updated signing.Issuer) {
	r.calls = append(r.calls, "changed "+old.Key+" "+old.Secret.String()+" -> "+updated.Secret.String())
}

func (r *recordedForget) IssuerDeleted(ref signing.IssuerRef) {
	r.calls = append(r.calls, "deleted "+ref.Key())
}

func (r *recordedForget) SecretChanged(key types.NamespacedName, keep string) {
	r.calls = append(r.calls, "secret "+key.String()+" keep "+keep)
}

func TestForgetEvents(t *testing.T) {
	issuer := func(gen int64, rv string) *v1alpha1.AtlasIssuer {
		return &v1alpha1.AtlasIssuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "atlas", Generation: gen, ResourceVersion: rv},
			Spec:       v1alpha1.AtlasIssuerSpec{AuthSecretName: "creds-" + rv},
		}
	}
	resolve := (&IssuerController{Options: Options{ClusterResourceNamespace: "atlas-system"}}).resolve
	cluster := &v1alpha1.AtlasClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "shared", Generation: 1}}
	secret := func(rv string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "creds", ResourceVersion: rv}}
	}
	for _, tc := range []struct {
		name string
		send func(toolscache.ResourceEventHandler, toolscache.ResourceEventHandler)
		want []string
	}{
		{"issuer added", func(i, _ toolscache.ResourceEventHandler) { i.OnAdd(issuer(1, "1"), false) }, nil},
		{"issuer status written", func(i, _ toolscache.ResourceEventHandler) { i.OnUpdate(issuer(1, "1"), issuer(1, "2")) }, nil},
		{"issuer spec changed", func(i, _ toolscache.ResourceEventHandler) { i.OnUpdate(issuer(1, "1"), issuer(2, "2")) },
			[]string{"changed AtlasIssuer/team-a/atlas team-a/creds-1 -> team-a/creds-2"}},
		{"issuer deleted", func(i, _ toolscache.ResourceEventHandler) { i.OnDelete(issuer(1, "1")) },
			[]string{"deleted AtlasIssuer/team-a/atlas"}},
		{"issuer delete missed", func(i, _ toolscache.ResourceEventHandler) {
			i.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "team-a/atlas", Obj: issuer(1, "1")})
		}, []string{"deleted AtlasIssuer/team-a/atlas"}},
		{"secret resync", func(_, s toolscache.ResourceEventHandler) { s.OnUpdate(secret("5"), secret("5")) }, nil},
		{"secret changed", func(_, s toolscache.ResourceEventHandler) { s.OnUpdate(secret("5"), secret("6")) },
			[]string{"secret team-a/creds keep 6"}},
		{"secret deleted", func(_, s toolscache.ResourceEventHandler) { s.OnDelete(secret("6")) },
			[]string{"secret team-a/creds keep "}},
		{"secret delete missed", func(_, s toolscache.ResourceEventHandler) {
			s.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "team-a/creds", Obj: secret("6")})
		}, []string{"secret team-a/creds keep "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordedForget{}
			tc.send(issuerEvents{kind: "AtlasIssuer", resolve: resolve, to: rec}, secretEvents{to: rec})
			if !slices.Equal(rec.calls, tc.want) {
				t.Errorf("calls = %q, want %q", rec.calls, tc.want)
			}
		})
	}
	rec := &recordedForget{}
	issuerEvents{kind: "AtlasClusterIssuer", to: rec}.OnDelete(cluster)
	if want := []string{"deleted AtlasClusterIssuer//shared"}; !slices.Equal(rec.calls, want) {
		t.Errorf("cluster issuer delete: calls = %q, want %q", rec.calls, want)
	}
}
