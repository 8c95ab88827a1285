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
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

func TestIssuersUsingSecret(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	issuer := func(ns, name, secret string) *v1alpha1.AtlasIssuer {
		return &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.AtlasIssuerSpec{AuthSecretName: secret}}
	}
	clusterIssuer := func(name, secret string) *v1alpha1.AtlasClusterIssuer {
		return &v1alpha1.AtlasClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.AtlasIssuerSpec{AuthSecretName: secret}}
	}
	objs := []client.Object{
		issuer("team-a", "one", "creds"), issuer("team-a", "two", "creds"), issuer("team-a", "other", "other-creds"),
		issuer("team-b", "one", "creds"), clusterIssuer("global", "creds"), clusterIssuer("second", "other-creds"),
	}
	cs := &controllerSetup{
		issuers: &IssuerController{Options: Options{ClusterResourceNamespace: "atlas"}},
		cache:   fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build(),
	}
	req := func(ns, name string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
	}
	for _, tc := range []struct {
		name   string
		gk     schema.GroupKind
		secret types.NamespacedName
		want   []reconcile.Request
	}{
		{"issuers of the namespace", issuerGK, types.NamespacedName{Namespace: "team-a", Name: "creds"}, []reconcile.Request{req("team-a", "one"), req("team-a", "two")}},
		{"another namespace", issuerGK, types.NamespacedName{Namespace: "team-b", Name: "creds"}, []reconcile.Request{req("team-b", "one")}},
		{"a namespace without issuers", issuerGK, types.NamespacedName{Namespace: "team-c", Name: "creds"}, nil},
		{"a Secret no issuer reads", issuerGK, types.NamespacedName{Namespace: "team-a", Name: "unrelated"}, nil},
		{"cluster issuers", clusterIssuerGK, types.NamespacedName{Namespace: "atlas", Name: "creds"}, []reconcile.Request{req("", "global")}},
		{"cluster issuers read their namespace only", clusterIssuerGK, types.NamespacedName{Namespace: "team-a", Name: "creds"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: tc.secret.Namespace, Name: tc.secret.Name}}
			got := cs.issuersUsingSecret(tc.gk)(context.Background(), secret)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}
