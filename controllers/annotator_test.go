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

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// The signing state machine relies on Annotate failing with a conflict when
// the object changed since it was read.
func TestAnnotatorWritesOnlyOverTheVersionItRead(t *testing.T) {
	scheme, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(&cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r", Annotations: map[string]string{"keep": "1", "drop": "1"}},
	}).Build()
	a := Annotator{Client: c}
	key := client.ObjectKey{Namespace: "ns", Name: "r"}

	stale := &cmapi.CertificateRequest{}
	if err := c.Get(ctx, key, stale); err != nil {
		t.Fatal(err)
	}
	fresh := stale.DeepCopy()
	fresh.Labels = map[string]string{"changed": "elsewhere"}
	if err := c.Update(ctx, fresh); err != nil {
		t.Fatal(err)
	}

	if err := a.Annotate(ctx, stale, map[string]string{"set": "1"}); !apierrors.IsConflict(err) {
		t.Fatalf("annotating a stale read: err = %v, want a conflict", err)
	}
	if _, ok := stale.Annotations["set"]; ok {
		t.Error("a failed write left its annotation on the caller's object")
	}

	if err := a.Annotate(ctx, fresh, map[string]string{"set": "1"}, "drop"); err != nil {
		t.Fatal(err)
	}
	var got cmapi.CertificateRequest
	if err := c.Get(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	if got.Annotations["set"] != "1" || got.Annotations["keep"] != "1" || got.Annotations["drop"] != "" || len(got.Annotations) != 2 {
		t.Errorf("annotations = %v, want keep and set", got.Annotations)
	}
	if fresh.ResourceVersion != got.ResourceVersion || fresh.Annotations["set"] != "1" {
		t.Errorf("the object was not refreshed from the answer: rv %s, want %s", fresh.ResourceVersion, got.ResourceVersion)
	}
}
