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
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// The CRDs reject what can never work at admission, before a controller
// sees it.
var _ = Describe("Admission", func() {
	DescribeTable("rejects an issuer spec that can never work",
		func(ctx SpecContext, cluster bool, spec v1alpha1.AtlasIssuerSpec, want string) {
			var obj client.Object
			if cluster {
				obj = &v1alpha1.AtlasClusterIssuer{ObjectMeta: metav1.ObjectMeta{GenerateName: "bad-"}, Spec: spec}
			} else {
				obj = &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{GenerateName: "bad-", Namespace: "default"}, Spec: spec}
			}
			err := k8s.Create(ctx, obj)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(want))
		},
		Entry("plain http", false, v1alpha1.AtlasIssuerSpec{URL: "http://atlas.example/v2", AuthSecretName: "s"}, "url must be an absolute https URL"),
		Entry("not a URL", true, v1alpha1.AtlasIssuerSpec{URL: "emea.api.hvca.globalsign.com", AuthSecretName: "s"}, "url must be an absolute https URL"),
		Entry("empty secret name", false, v1alpha1.AtlasIssuerSpec{URL: "https://atlas.example/v2"}, "authSecretName"),
		Entry("secret name that is not a name", true, v1alpha1.AtlasIssuerSpec{AuthSecretName: "Not_A_Name"}, "authSecretName"),
		Entry("namespace selector on a namespaced issuer", false, v1alpha1.AtlasIssuerSpec{AuthSecretName: "s",
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}, "spec.namespaceSelector is for AtlasClusterIssuers"),
	)

	It("defaults the URL to the Atlas EMEA endpoint", func(ctx SpecContext) {
		iss := &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{GenerateName: "default-url-", Namespace: "default"},
			Spec: v1alpha1.AtlasIssuerSpec{AuthSecretName: "s"}}
		Expect(k8s.Create(ctx, iss)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(k8s.Delete(ctx, iss))).To(Succeed()) })
		Expect(iss.Spec.URL).To(Equal(v1alpha1.DefaultURL))
	})
})
