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
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// The manager under test has 4 Atlas slots and the default share of one
// half: the AtlasIssuers of a namespace hold at most 2.
var _ = Describe("A request held back by its issuer's full share of the Atlas slots", Serial, func() {
	It("says Pending, naming the slot wait, within 2 s of its approval, and is issued once a slot frees", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		iss := readyIssuer(ctx, ns)

		// Every POST waits in the fake until the spec lets them all go.
		posts := make(chan struct{}, 8)
		gate := make(chan struct{})
		var once sync.Once
		letGo := func() { once.Do(func() { close(gate) }) }
		atlasFake.SetCallHook(func(op string) {
			if op == fake.OpRequestCertificate {
				posts <- struct{}{}
				<-gate
			}
		})
		DeferCleanup(func() {
			letGo()
			atlasFake.SetCallHook(nil)
		})

		// Two requests hold the namespace's two slots, their POSTs in the
		// fake.
		var holders []*cmapi.CertificateRequest
		for i := range 2 {
			cr, _ := createRequest(ctx, ns, iss, fmt.Sprintf("holder-%d.example.com", i))
			approve(ctx, cr)
			holders = append(holders, cr)
		}
		for range holders {
			Eventually(posts).WithContext(ctx).WithTimeout(settle).Should(Receive())
		}

		cr, key := createRequest(ctx, ns, iss, "held-back.example.com")
		approve(ctx, cr)
		Eventually(func(g Gomega) {
			cond := requestReady(ctx, g, cr)
			g.Expect(cond).NotTo(BeNil(), "no Ready condition yet")
			g.Expect(*cond).To(And(
				HaveField("Status", cmmeta.ConditionFalse),
				HaveField("Reason", cmapi.CertificateRequestReasonPending),
				HaveField("Message", ContainSubstring("waiting for an Atlas slot: the AtlasIssuers of namespace %s hold 2 of their 2 slots", ns)),
			))
		}).WithContext(ctx).WithTimeout(2 * time.Second).WithPolling(polling).Should(Succeed())
		Expect(posts).NotTo(Receive(), "a third POST while the namespace holds both its slots")

		letGo()
		for _, h := range append(holders, cr) {
			expectRequestReady(ctx, h, settle)
		}
		Expect(key.issued()).To(Equal(1))
	})
})
