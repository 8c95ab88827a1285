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
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/signing"
)

// A request found with an intent and no serial, as a manager killed
// mid-submission leaves it, is looked up in Atlas before it is ever
// submitted again. When the lookup fails, issuer-lib must show the request
// waiting with the cause, not failed: a failed request is followed by a new
// one with a new key, and a second certificate.
var _ = Describe("A restart lookup that cannot decide", Serial, func() {
	It("keeps the request Pending, naming the cause, with no submission", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		iss := readyIssuer(ctx, ns)

		// The issuer's own status manager writes Degraded beside
		// issuer-lib's Ready, and neither removes the other.
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(iss), iss)).To(Succeed())
			d := apimeta.FindStatusCondition(iss.Status.Conditions, signing.ConditionDegraded)
			g.Expect(d).NotTo(BeNil(), "no Degraded condition")
			g.Expect(d.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(d.Reason).To(Equal(signing.ReasonAsExpected))
			g.Expect(apimeta.IsStatusConditionTrue(iss.Status.Conditions, "Ready")).To(BeTrue())
		}).WithContext(ctx).WithTimeout(settle).WithPolling(polling).Should(Succeed())

		atlasFake.SetFaults(fake.Faults{StatsIssued: fake.StatsNotFound})
		DeferCleanup(atlasFake.SetFaults, fake.Faults{})
		key := newKey()
		lookups := atlasFake.CallCount(fake.OpStatsIssued)
		cr := newRequest(ns, refTo(iss), key.csr("undecided.example.com", "undecided.example.com"), func(cr *cmapi.CertificateRequest) {
			cr.Annotations = map[string]string{v1alpha1.IntentAnnotation: fmt.Sprintf("%d/%s", time.Now().Unix(), key.fingerprint)}
		})
		create(ctx, cr)
		approve(ctx, cr)
		expectRequestNotReady(ctx, cr, cmapi.CertificateRequestReasonPending, "cannot decide", "404")
		Expect(atlasFake.CallCount(fake.OpStatsIssued)).To(BeNumerically(">", lookups), "no lookup was made")
		Expect(key.issued()).To(Equal(0), "submitted while the lookup could not decide")
	})
})
