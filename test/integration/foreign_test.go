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
	"fmt"

	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The request reconcilers log every reconcile with the request's name (at
// debug level, the suite's default). A request addressed to another issuer
// must not reach them at all: the manager watches every request of the
// cluster, and another issuer's requests are most of them.
var _ = Describe("Requests for other issuers", func() {
	It("are never reconciled, while ours are", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		iss := readyIssuer(ctx, ns)
		key := newKey()

		foreign := newRequest(ns, cmmeta.IssuerReference{Group: "cert-manager.io", Kind: "Issuer", Name: "ca"}, key.csr("foreign.example.com"))
		foreign.GenerateName = "foreign-cr-"
		create(ctx, foreign)
		approve(ctx, foreign)
		foreignCSR := newCSR(key, "example.com/other-signer")
		foreignCSR.GenerateName = "foreign-csr-"
		create(ctx, foreignCSR)
		approveCSR(ctx, foreignCSR)

		// Created after the foreign ones, so that their events were
		// handled before ours is Ready.
		ours, _ := createRequest(ctx, ns, iss, "ours.example.com")
		approve(ctx, ours)
		expectRequestReady(ctx, ours, settle)

		logs := string(controllerLogs.take())
		Expect(logs).To(ContainSubstring(fmt.Sprintf("%q: %q", "name", ours.Name)), "our request's reconciles are not in the log")
		for _, name := range []string{foreign.Name, foreignCSR.Name} {
			Expect(logs).NotTo(ContainSubstring(name), "a foreign request was reconciled:\n%s", logs)
		}
		Expect(requestReady(ctx, Default, foreign)).To(BeNil())
		Expect(foreign.Status.Conditions).To(HaveLen(1), "only the approval")
	})
})
