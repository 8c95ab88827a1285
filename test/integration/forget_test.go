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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// issuerSeries counts the per-issuer series of one issuer in the running
// manager's metrics.
func issuerSeries(kind, ns, name string) int {
	GinkgoHelper()
	families, err := running.registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["namespace"] == ns && labels["name"] == name {
				n++
			}
		}
	}
	return n
}

var _ = Describe("Deleting an issuer", func() {
	It("removes its metric series, so no alert keeps firing for it", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		iss := readyIssuer(ctx, ns)
		other := readyIssuer(ctx, ns)
		series := func(name string) func() int {
			return func() int { return issuerSeries("AtlasIssuer", ns, name) }
		}
		// ready, quota and credentials expiry.
		Eventually(series(iss.Name)).WithTimeout(30 * time.Second).Should(Equal(3))
		Expect(k8s.Delete(ctx, iss)).To(Succeed())
		Eventually(series(iss.Name)).WithTimeout(30 * time.Second).Should(BeZero())
		Expect(series(other.Name)()).To(Equal(3), "the other issuer's series went too")
	})

	It("and a cluster issuer likewise", func(ctx SpecContext) {
		iss := readyClusterIssuer(ctx)
		series := func() int { return issuerSeries("AtlasClusterIssuer", "", iss.Name) }
		Eventually(series).WithTimeout(30 * time.Second).Should(Equal(3))
		Expect(k8s.Delete(ctx, iss)).To(Succeed())
		Eventually(series).WithTimeout(30 * time.Second).Should(BeZero())
	})
})
