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

package integration

import (
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/controllers"
)

// The serial of a certificate Atlas accepted is written whatever else
// changed on the request since it was read, but only on that request: the
// API server, not the test's client, decides both.
var _ = Describe("The issuer's own annotations", func() {
	It("are written over a stale resourceVersion, and never on another object of the same name", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		key := newKey()
		ref := cmmeta.IssuerReference{Group: "cert-manager.io", Kind: "Issuer", Name: "elsewhere"}
		cr := newRequest(ns, ref, key.csr("own.example.com"))
		cr.Name = "own"
		create(ctx, cr)
		stale := cr.DeepCopy()
		ann := controllers.Annotator{Client: k8s}

		// Another writer moves the request on.
		moved := cr.DeepCopy()
		moved.Labels = map[string]string{"moved": "true"}
		Expect(k8s.Update(ctx, moved)).To(Succeed())

		// The control: a write that carries the stale version conflicts.
		err := ann.Annotate(ctx, stale.DeepCopy(), map[string]string{v1alpha1.IntentAnnotation: "1/ff"})
		Expect(apierrors.IsConflict(err)).To(BeTrue(), "a locked write over a stale version: %v", err)

		Expect(ann.AnnotateOwn(ctx, stale.DeepCopy(), map[string]string{v1alpha1.SerialAnnotation: "01AB"})).To(Succeed())
		got := &cmapi.CertificateRequest{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cr), got)).To(Succeed())
		Expect(got.Annotations).To(HaveKeyWithValue(v1alpha1.SerialAnnotation, "01AB"))
		Expect(got.Labels).To(HaveKeyWithValue("moved", "true"), "the other writer's change was undone")

		// The request is deleted and another takes its name.
		Expect(k8s.Delete(ctx, got)).To(Succeed())
		again := newRequest(ns, ref, key.csr("own.example.com"))
		again.Name = "own"
		create(ctx, again)
		Expect(again.UID).NotTo(Equal(stale.UID))
		Expect(ann.AnnotateOwn(ctx, stale.DeepCopy(), map[string]string{v1alpha1.SerialAnnotation: "01CD"})).NotTo(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(again), got)).To(Succeed())
		Expect(got.Annotations).NotTo(HaveKey(v1alpha1.SerialAnnotation), "the write landed on another request of the same name")
	})
})
