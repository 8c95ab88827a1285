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
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

var _ = Describe("Signing a CertificateRequest", func() {
	var (
		ns  string
		iss *v1alpha1.AtlasIssuer
	)
	BeforeEach(func(ctx SpecContext) {
		ns = newNamespace(ctx)
		iss = readyIssuer(ctx, ns)
	})

	It("waits for approval and signs once approved", func(ctx SpecContext) {
		cr, key := createRequest(ctx, ns, iss, "approval.example.com")
		// No reconcile is due to an unapproved request, so the sign that
		// the manager has passed it is a later request signed.
		expectLaterRequestSigned(ctx, ns, iss)
		posts := atlasFake.CallCount(fake.OpRequestCertificate)
		Consistently(func(g Gomega) {
			g.Expect(requestReady(ctx, g, cr)).To(BeNil(), "issuer-lib must not touch an unapproved request")
			g.Expect(cr.Status.Certificate).To(BeEmpty())
			g.Expect(atlasFake.CallCount(fake.OpRequestCertificate)).To(Equal(posts))
		}).WithTimeout(2 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Expect(key.issued()).To(BeZero())

		approve(ctx, cr)
		expectRequestReady(ctx, cr, settle)
		Expect(key.issued()).To(Equal(1))
	})

	It("shows issuer-lib's Initializing condition once it picks an approved request up, then Issued", func(ctx SpecContext) {
		cr, key := createRequest(ctx, ns, iss, "first-reconcile.example.com")
		watcher, err := client.NewWithWatch(restCfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		w, err := watcher.Watch(ctx, &cmapi.CertificateRequestList{}, client.InNamespace(ns),
			client.MatchingFields{"metadata.name": cr.Name})
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()

		approve(ctx, cr)
		// Every version of the request the API server stores reaches the
		// watch, so every Ready condition written before the Issued one
		// shows here. With a slot free nothing else comes between them.
		var reasons []string
		timeout := time.After(settle)
		for {
			select {
			case ev, open := <-w.ResultChan():
				Expect(open).To(BeTrue(), "the watch closed before the request was Ready; Ready reasons so far: %v", reasons)
				got, isRequest := ev.Object.(*cmapi.CertificateRequest)
				Expect(isRequest).To(BeTrue(), "watch event %s of %T", ev.Type, ev.Object)
				cond := cmapiutil.GetCertificateRequestCondition(got, cmapi.CertificateRequestConditionReady)
				if cond == nil {
					continue
				}
				if len(reasons) == 0 || reasons[len(reasons)-1] != cond.Reason {
					reasons = append(reasons, cond.Reason)
				}
				if cond.Status == cmmeta.ConditionTrue {
					Expect(reasons).To(Equal([]string{issuerapi.CertificateRequestConditionReasonInitializing, cmapi.CertificateRequestReasonIssued}))
					Expect(key.issued()).To(Equal(1))
					return
				}
			case <-timeout:
				Fail(fmt.Sprintf("the request was not Ready within %s; Ready reasons seen: %v", settle, reasons))
			}
		}
	})

	It("never sends a denied request to Atlas", func(ctx SpecContext) {
		cr, key := createRequest(ctx, ns, iss, "denied.example.com")
		deny(ctx, cr)
		// The denied-request controller reconciled it, and the signing
		// controller has passed it once a later request is signed.
		expectRequestNotReady(ctx, cr, cmapi.CertificateRequestReasonDenied)
		expectLaterRequestSigned(ctx, ns, iss)
		posts := atlasFake.CallCount(fake.OpRequestCertificate)
		Consistently(func(g Gomega) {
			if cond := requestReady(ctx, g, cr); cond != nil {
				g.Expect(cond.Status).NotTo(Equal(cmmeta.ConditionTrue))
			}
			g.Expect(cr.Status.Certificate).To(BeEmpty())
			g.Expect(atlasFake.CallCount(fake.OpRequestCertificate)).To(Equal(posts))
		}).WithTimeout(2 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Expect(key.issued()).To(BeZero())
	})

	// cert-manager's approver sets only Denied=True on a request it refuses;
	// the issuer must then give it its terminal condition, which is what
	// cert-manager and users read. issuer-lib v0.11.0 skips such a request
	// before its own denial handling (cert-manager/issuer-lib#507), so the
	// issuer has to cover for it.
	It("marks a denied request Ready=False with reason Denied and a failure time", func(ctx SpecContext) {
		cr, _ := createRequest(ctx, ns, iss, "denied-terminal.example.com")
		deny(ctx, cr)
		expectRequestNotReady(ctx, cr, cmapi.CertificateRequestReasonDenied)
		Expect(cr.Status.FailureTime).NotTo(BeNil())
		Expect(cmapiutil.CertificateRequestIsDenied(cr)).To(BeTrue(), "the approver's Denied condition must survive")
	})

	It("returns the leaf and the intermediate, verifiable to the root in status.ca", func(ctx SpecContext) {
		posts, gets := atlasFake.CallCount(fake.OpRequestCertificate), atlasFake.CallCount(fake.OpRetrieveCertificate)
		key := newKey()
		cr := newRequest(ns, refTo(iss), key.csr("chain.example.com", "chain.example.com", "www.chain.example.com"))
		create(ctx, cr)
		approve(ctx, cr)
		expectRequestReady(ctx, cr, settle)
		// The fast path of design.md: one POST, one GET, and no serial
		// annotation when Atlas issues at once.
		Expect(atlasFake.CallCount(fake.OpRequestCertificate) - posts).To(Equal(1))
		Expect(atlasFake.CallCount(fake.OpRetrieveCertificate) - gets).To(Equal(1))
		Expect(cr.Annotations).To(HaveKey(v1alpha1.IntentAnnotation))
		Expect(cr.Annotations).NotTo(HaveKey(v1alpha1.SerialAnnotation))

		Expect(bytes.Count(cr.Status.Certificate, []byte("-----BEGIN CERTIFICATE-----"))).To(Equal(2))
		chain := parseCerts(cr.Status.Certificate)
		Expect(chain).To(HaveLen(2))
		leaf, inter := chain[0], chain[1]
		Expect(leafFingerprint(leaf)).To(Equal(key.fingerprint))
		Expect(leaf.DNSNames).To(ConsistOf("chain.example.com", "www.chain.example.com"))
		Expect(leaf.IsCA).To(BeFalse())
		Expect(inter.Raw).To(Equal(parseCerts(atlasFake.IntermediatePEM())[0].Raw))

		cas := parseCerts(cr.Status.CA)
		Expect(cas).To(HaveLen(1))
		Expect(cas[0].Raw).To(Equal(parseCerts(atlasFake.RootPEM())[0].Raw))
		roots, inters := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(cas[0])
		inters.AddCert(inter)
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: inters,
			DNSName:       "www.chain.example.com",
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(key.issued()).To(Equal(1))
	})

	It("honours the requested duration", func(ctx SpecContext) {
		cr, _ := createRequest(ctx, ns, iss, "duration.example.com", func(cr *cmapi.CertificateRequest) {
			cr.Spec.Duration = &metav1.Duration{Duration: 48 * time.Hour}
		})
		approve(ctx, cr)
		expectRequestReady(ctx, cr, settle)
		leaf := parseCerts(cr.Status.Certificate)[0]
		Expect(leaf.NotAfter.Sub(leaf.NotBefore)).To(BeNumerically("~", 48*time.Hour, time.Minute))
		Expect(leaf.NotBefore).To(BeTemporally("~", time.Now(), 10*time.Minute))
	})

	// Failing a Certificate for asking more than the account allows would
	// leave users with nothing; Atlas would refuse the raw duration.
	It("clamps a duration beyond the policy's maximum to that maximum", func(ctx SpecContext) {
		cr, _ := createRequest(ctx, ns, iss, "clamped.example.com", func(cr *cmapi.CertificateRequest) {
			cr.Spec.Duration = &metav1.Duration{Duration: 500 * 24 * time.Hour}
		})
		approve(ctx, cr)
		expectRequestReady(ctx, cr, settle)
		leaf := parseCerts(cr.Status.Certificate)[0]
		maxLife := time.Duration(fake.DefaultPolicy().Validity.SecondsMax) * time.Second
		Expect(leaf.NotAfter.Sub(leaf.NotBefore)).To(BeNumerically("~", maxLife, time.Minute))
	})

	It("fails a request the validation policy forbids without calling Atlas", Serial, func(ctx SpecContext) {
		p := fake.DefaultPolicy()
		p.SAN.DNSNames = &atlas.ListPolicy{List: []string{".example.com"}, MaxCount: 100}
		atlasFake.SetPolicy(p)
		DeferCleanup(atlasFake.SetPolicy, (*atlas.ValidationPolicy)(nil))
		// The issuer of BeforeEach checked the old policy; a new one checks
		// this one at once.
		strict := readyIssuer(ctx, ns)
		Expect(strict.Status.ValidationPolicy).To(ContainSubstring("example.com"))

		posts := atlasFake.CallCount(fake.OpRequestCertificate)
		cr, key := createRequest(ctx, ns, strict, "other.org")
		approve(ctx, cr)
		expectRequestNotReady(ctx, cr, cmapi.CertificateRequestReasonFailed, "san.dns_names", "other.org")
		Expect(atlasFake.CallCount(fake.OpRequestCertificate)).To(Equal(posts))
		Expect(key.issued()).To(BeZero())
	})

	It("completes an issuance Atlas keeps pending, persisting the serial", Serial, func(ctx SpecContext) {
		atlasFake.SetPending(3, 0)
		DeferCleanup(atlasFake.SetPending, 0, time.Duration(0))
		gets := atlasFake.CallCount(fake.OpRetrieveCertificate)
		cr, key := createRequest(ctx, ns, iss, "pending.example.com")
		approve(ctx, cr)
		expectRequestReady(ctx, cr, settle)

		serial := cr.Annotations[v1alpha1.SerialAnnotation]
		Expect(serial).NotTo(BeEmpty(), "the serial of a pending certificate must be persisted on the request")
		leaf := parseCerts(cr.Status.Certificate)[0]
		Expect(strings.TrimLeft(strings.ToUpper(serial), "0")).To(Equal(fmt.Sprintf("%X", leaf.SerialNumber)))
		Expect(atlasFake.CallCount(fake.OpRetrieveCertificate)-gets).To(BeNumerically(">=", 4), "three 202s and a 200")
		Expect(key.issued()).To(Equal(1))
	})

	It("logs in again when Atlas refuses its token mid-run", func(ctx SpecContext) {
		logins := atlasFake.CallCount(fake.OpLogin)
		atlasFake.ExpireTokens()
		cr, key := createRequest(ctx, ns, iss, "relogin.example.com")
		approve(ctx, cr)
		expectRequestReady(ctx, cr, settle)
		Expect(atlasFake.CallCount(fake.OpLogin)).To(BeNumerically(">", logins))
		Expect(key.issued()).To(Equal(1))
		expectIssuerReady(ctx, iss)
	})

	It("fails a CA request without calling Atlas", func(ctx SpecContext) {
		posts := atlasFake.CallCount(fake.OpRequestCertificate)
		cr, key := createRequest(ctx, ns, iss, "ca.example.com", func(cr *cmapi.CertificateRequest) {
			cr.Spec.IsCA = true
			cr.Spec.Usages = append(cr.Spec.Usages, cmapi.UsageCertSign)
		})
		approve(ctx, cr)
		expectRequestNotReady(ctx, cr, cmapi.CertificateRequestReasonFailed, "isCA")
		Expect(atlasFake.CallCount(fake.OpRequestCertificate)).To(Equal(posts))
		Expect(key.issued()).To(BeZero())
	})

	It("fails with Atlas's message when the CA rejects an accepted request", Serial, func(ctx SpecContext) {
		atlasFake.RejectNext(1)
		DeferCleanup(atlasFake.RejectNext, 0)
		cr, key := createRequest(ctx, ns, iss, "rejected.example.com")
		approve(ctx, cr)
		expectRequestNotReady(ctx, cr, cmapi.CertificateRequestReasonFailed, "CA validation error")
		Expect(key.issued()).To(Equal(1), "accepted once, never submitted again")
	})

	It("retries a submission Atlas refuses while overloaded and issues once", Serial, func(ctx SpecContext) {
		atlasFake.SetFaults(fake.Faults{Down: true, Operations: []string{fake.OpRequestCertificate}})
		DeferCleanup(atlasFake.SetFaults, fake.Faults{})
		posts := atlasFake.CallCount(fake.OpRequestCertificate)
		cr, key := createRequest(ctx, ns, iss, "busy.example.com")
		approve(ctx, cr)
		// More than one client attempt: the request was retried at least
		// once by issuer-lib, not only inside the client.
		Eventually(func() int {
			return atlasFake.CallCount(fake.OpRequestCertificate) - posts
		}).WithTimeout(settle).WithPolling(polling).Should(BeNumerically(">", 4))
		Expect(requestReady(ctx, Default, cr)).To(HaveField("Reason", Not(Equal(cmapi.CertificateRequestReasonFailed))))

		atlasFake.SetFaults(fake.Faults{})
		expectRequestReady(ctx, cr, settle)
		Expect(key.issued()).To(Equal(1))
	})

	It("signs a burst of requests, each exactly once", func(ctx SpecContext) {
		const n = 8
		posts := atlasFake.CallCount(fake.OpRequestCertificate)
		crs := make([]*cmapi.CertificateRequest, n)
		keys := make([]testKey, n)
		for i := range n {
			crs[i], keys[i] = createRequest(ctx, ns, iss, fmt.Sprintf("burst-%d.example.com", i))
		}
		for _, cr := range crs {
			approve(ctx, cr)
		}
		for i, cr := range crs {
			expectRequestReady(ctx, cr, settle)
			Expect(leafFingerprint(parseCerts(cr.Status.Certificate)[0])).To(Equal(keys[i].fingerprint))
			Expect(keys[i].issued()).To(Equal(1))
		}
		Expect(atlasFake.CallCount(fake.OpRequestCertificate) - posts).To(Equal(n))
	})

	It("signs a request approved before its issuer existed, once the issuer is Ready", func(ctx SpecContext) {
		secret := createSecretGenerated(ctx, ns, secretData())
		late := &v1alpha1.AtlasIssuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "late"},
			Spec:       issuerSpec(secret.Name),
		}
		key := newKey()
		cr := newRequest(ns, refTo(late), key.csr("late.example.com", "late.example.com"))
		create(ctx, cr)
		approve(ctx, cr)
		expectRequestNotReady(ctx, cr, cmapi.CertificateRequestReasonPending, "not found")

		create(ctx, late)
		expectRequestReady(ctx, cr, settle)
		Expect(key.issued()).To(Equal(1))
	})

	Context("across a restart", Serial, func() {
		// A crash after the POST but before the serial annotation was
		// written leaves only the intent annotation. The certificate must be
		// found again, not ordered a second time.
		It("does not order a second certificate when the serial was not persisted", func(ctx SpecContext) {
			// Pending on the clock, not on polls: the certificate must stay
			// pending across the restart whatever the poll count.
			const pendingFor = 8 * time.Second
			atlasFake.SetPending(0, pendingFor)
			DeferCleanup(atlasFake.SetPending, 0, time.Duration(0))

			posts := atlasFake.CallCount(fake.OpRequestCertificate)
			issued, dups := atlasFake.Issued(), atlasFake.Duplicates()
			cr, key := createRequest(ctx, ns, iss, "restart.example.com")
			approve(ctx, cr)
			Eventually(func(g Gomega) {
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cr), cr)).To(Succeed())
				g.Expect(cr.Annotations).To(HaveKey(v1alpha1.IntentAnnotation))
				g.Expect(atlasFake.CallCount(fake.OpRequestCertificate) - posts).To(Equal(1))
			}).WithTimeout(settle).WithPolling(50 * time.Millisecond).Should(Succeed())

			running.stop()
			// Should this spec fail before it starts the new manager, the
			// specs after it still need one.
			DeferCleanup(func() {
				if running.stopped {
					running = startManager(defaultOptions())
				}
			})
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cr), cr)).To(Succeed())
			Expect(cr.Status.Certificate).To(BeEmpty(), "issued before the restart: the spec proves nothing; raise pendingFor")
			if _, ok := cr.Annotations[v1alpha1.SerialAnnotation]; ok {
				mergePatchAnnotations(ctx, cr, map[string]*string{v1alpha1.SerialAnnotation: nil})
			}
			Expect(cr.Annotations).To(HaveKey(v1alpha1.IntentAnnotation))
			Expect(cr.Annotations).NotTo(HaveKey(v1alpha1.SerialAnnotation))

			running = startManager(defaultOptions())
			expectRequestReady(ctx, cr, settle+pendingFor)

			Expect(atlasFake.CallCount(fake.OpRequestCertificate) - posts).To(Equal(1))
			Expect(atlasFake.Issued() - issued).To(Equal(1))
			Expect(key.issued()).To(Equal(1))
			Expect(atlasFake.Duplicates()).To(Equal(dups))
			Expect(leafFingerprint(parseCerts(cr.Status.Certificate)[0])).To(Equal(key.fingerprint))
			Expect(cr.Annotations[v1alpha1.SerialAnnotation]).NotTo(BeEmpty(), "the serial found by lookup is persisted")
		})

		// cert-manager at times asks twice for one Certificate revision with
		// the same key; when the second request reaches a manager that did
		// not answer the first (a restart, a new leader), the first request
		// is what remembers the certificate.
		It("answers a second request for the same revision and key with the first's certificate", func(ctx SpecContext) {
			revision := func(cr *cmapi.CertificateRequest) {
				cr.Annotations = map[string]string{cmapi.CertificateNameKey: "sibling", cmapi.CertificateRequestRevisionAnnotationKey: "1"}
			}
			posts := atlasFake.CallCount(fake.OpRequestCertificate)
			first, key := createRequest(ctx, ns, iss, "sibling.example.com", revision)
			approve(ctx, first)
			expectRequestReady(ctx, first, settle)

			restartManager(defaultOptions())
			second := newRequest(ns, refTo(iss), key.csr("sibling.example.com", "sibling.example.com"), revision)
			create(ctx, second)
			approve(ctx, second)
			expectRequestReady(ctx, second, settle)

			Expect(atlasFake.CallCount(fake.OpRequestCertificate) - posts).To(Equal(1))
			Expect(key.issued()).To(Equal(1))
			Expect(parseCerts(second.Status.Certificate)[0].SerialNumber).To(Equal(parseCerts(first.Status.Certificate)[0].SerialNumber))
			Expect(second.Annotations[v1alpha1.SerialAnnotation]).NotTo(BeEmpty(), "the certificate taken is persisted on the second request")
		})
	})
})

var _ = Describe("Signing a Kubernetes CertificateSigningRequest", func() {
	// expectCSRSigned waits for csr's certificate and returns its leaf.
	expectCSRSigned := func(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) *x509.Certificate {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(csr), csr)).To(Succeed())
			g.Expect(csr.Status.Certificate).NotTo(BeEmpty())
		}).WithTimeout(settle).WithPolling(polling).Should(Succeed())
		return parseCerts(csr.Status.Certificate)[0]
	}

	It("is signed for an AtlasClusterIssuer", func(ctx SpecContext) {
		ci := readyClusterIssuer(ctx)
		key := newKey()
		csr := newCSR(key, "atlasclusterissuers.hvca.globalsign.com/"+ci.Name)
		create(ctx, csr)
		approveCSR(ctx, csr)

		leaf := expectCSRSigned(ctx, csr)
		Expect(leafFingerprint(leaf)).To(Equal(key.fingerprint))
		Expect(leaf.DNSNames).To(ConsistOf("kube.example.com"))
		Expect(leaf.NotAfter.Sub(leaf.NotBefore)).To(BeNumerically("~", 48*time.Hour, time.Minute))
		Expect(key.issued()).To(Equal(1))
	})

	// docs/kubernetes-csr.md: cert-manager's duration annotation wins over
	// spec.expirationSeconds.
	It("takes its duration from cert-manager's annotation before expirationSeconds", func(ctx SpecContext) {
		ci := readyClusterIssuer(ctx)
		key := newKey()
		csr := newCSR(key, "atlasclusterissuers.hvca.globalsign.com/"+ci.Name)
		csr.Annotations = map[string]string{"experimental.cert-manager.io/request-duration": "72h"}
		create(ctx, csr)
		approveCSR(ctx, csr)

		leaf := expectCSRSigned(ctx, csr)
		Expect(leaf.NotAfter.Sub(leaf.NotBefore)).To(BeNumerically("~", 72*time.Hour, time.Minute))
	})

	// A CSR is cluster-scoped, so whoever may create CSRs could otherwise
	// spend any namespace's Atlas account. issuer-lib refuses namespaced
	// issuer types for CSRs.
	It("is not signed for a namespaced AtlasIssuer", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		iss := readyIssuer(ctx, ns)
		key := newKey()
		csr := newCSR(key, "atlasissuers.hvca.globalsign.com/"+ns+"."+iss.Name)
		create(ctx, csr)
		approveCSR(ctx, csr)

		// No reconcile is due to it, so the sign that the manager has
		// passed it is a later CSR signed: the CSR watch delivers events
		// in order and the work queue hands them out first in, first out.
		ci := readyClusterIssuer(ctx)
		laterKey := newKey()
		later := newCSR(laterKey, "atlasclusterissuers.hvca.globalsign.com/"+ci.Name)
		create(ctx, later)
		approveCSR(ctx, later)
		Expect(leafFingerprint(expectCSRSigned(ctx, later))).To(Equal(laterKey.fingerprint))
		Consistently(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(csr), csr)).To(Succeed())
			g.Expect(csr.Status.Certificate).To(BeEmpty())
		}).WithTimeout(2 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Expect(key.issued()).To(BeZero())
	})
})

// approveCSR approves through the approval subresource, as kubectl
// certificate approve does.
func approveCSR(ctx context.Context, csr *certificatesv1.CertificateSigningRequest) {
	GinkgoHelper()
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type:    certificatesv1.CertificateApproved,
		Status:  corev1.ConditionTrue,
		Reason:  "IntegrationSuite",
		Message: "approved by the integration suite",
	})
	_, err := clientset.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
	Expect(err).NotTo(HaveOccurred())
}

// newCSR is a Kubernetes CSR for a TLS server certificate valid for 48h.
func newCSR(key testKey, signerName string) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "it-csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           key.csr("kube.example.com", "kube.example.com"),
			SignerName:        signerName,
			ExpirationSeconds: new(int32(48 * 3600)),
			Usages: []certificatesv1.KeyUsage{
				certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth,
			},
		},
	}
}
