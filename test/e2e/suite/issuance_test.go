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

package suite

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strconv"
	"strings"
	"time"

	apiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

func waitReady(ctx context.Context, ns, name string) *cmapi.Certificate {
	GinkgoHelper()
	crt := &cmapi.Certificate{}
	Eventually(func(g Gomega) {
		g.Expect(env.Get(ctx, ns, name, crt)).To(Succeed())
		g.Expect(framework.IsReady(crt)).To(BeTrue(), "conditions: %+v", crt.Status.Conditions)
	}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
	return crt
}

func secretOf(ctx context.Context, ns, name string) *corev1.Secret {
	GinkgoHelper()
	sec := &corev1.Secret{}
	Expect(env.Get(ctx, ns, name, sec)).To(Succeed())
	return sec
}

// expectOneIssuance checks that Atlas issued one certificate for the
// Certificate's current revision, the leaf its Secret holds, and none twice
// for any key since before, and returns the Certificate's requests.
// cert-manager makes one request per revision, but under load it at times
// makes a second one for the same revision just after the first was issued
// (its controllers acting on stale caches) and deletes it soon after. Such
// a twin has the first one's key and contents, and the signer answers it
// with the first one's certificate: it is legitimate, and what must hold is
// that every request is for this revision and key, that any request
// carrying a certificate carries this one, and that the fake issued one
// certificate for the key and none twice for any key.
func expectOneIssuance(ctx context.Context, crt *cmapi.Certificate, leaf *x509.Certificate, before fake.AdminStats) []cmapi.CertificateRequest {
	GinkgoHelper()
	after, err := env.Admin.Stats(ctx)
	Expect(err).NotTo(HaveOccurred())
	key, err := fake.PublicKeyFingerprint(leaf.PublicKey)
	Expect(err).NotTo(HaveOccurred())
	// Counted by key, not in total: the Certificates of earlier specs may
	// be issued meanwhile (the policy spec's, once its policy is undone).
	Expect(after.IssuedPerKey[key]).To(Equal(1), "certificates Atlas issued for the Certificate's key")
	Expect(after.Duplicates).To(Equal(before.Duplicates), "certificates Atlas issued again for a key")

	Expect(crt.Status.Revision).NotTo(BeNil(), "the Certificate has no revision")
	revision := strconv.Itoa(*crt.Status.Revision)
	var list cmapi.CertificateRequestList
	Expect(env.Client.List(ctx, &list, client.InNamespace(crt.Namespace))).To(Succeed())
	var crs []cmapi.CertificateRequest
	for _, cr := range list.Items {
		if !metav1.IsControlledBy(&cr, crt) {
			continue
		}
		crs = append(crs, cr)
		Expect(cr.Annotations).To(HaveKeyWithValue(cmapi.CertificateRequestRevisionAnnotationKey, revision),
			"request %s is for another revision", cr.Name)
		block, _ := pem.Decode(cr.Spec.Request)
		Expect(block).NotTo(BeNil(), "request %s has no PEM CSR", cr.Name)
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		Expect(err).NotTo(HaveOccurred())
		Expect(fake.PublicKeyFingerprint(csr.PublicKey)).To(Equal(key), "request %s is for another key", cr.Name)
		if len(cr.Status.Certificate) > 0 {
			certs, err := framework.ParseCerts(cr.Status.Certificate)
			Expect(err).NotTo(HaveOccurred())
			Expect(certs[0].Raw).To(Equal(leaf.Raw), "request %s carries another certificate", cr.Name)
		}
	}
	Expect(crs).NotTo(BeEmpty(), "the Certificate has no CertificateRequest")
	return crs
}

var _ = Describe("a Certificate", func() {
	It("is issued through an AtlasIssuer with its chain and root", func(ctx SpecContext) {
		Expect(env.CreateNamespace(ctx, "e2e-issuer")).To(Succeed())
		before, err := env.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(env.Client.Create(ctx, framework.Certificate("e2e-issuer", "www", "AtlasIssuer", "atlas", "www.example.com"))).To(Succeed())
		crt := waitReady(ctx, "e2e-issuer", "www")
		leaf, err := framework.VerifySecret(secretOf(ctx, "e2e-issuer", crt.Spec.SecretName), "www.example.com")
		Expect(err).NotTo(HaveOccurred())
		Expect(leaf.DNSNames).To(ConsistOf("www.example.com"))

		crs := expectOneIssuance(ctx, crt, leaf, before)
		Expect(crs).To(ContainElement(HaveField("ObjectMeta.Annotations", HaveKey(v1alpha1.IntentAnnotation))),
			"the request that went to Atlas carries the intent")
	})

	It("is issued through an AtlasClusterIssuer", func(ctx SpecContext) {
		Expect(env.CreateClusterIssuer(ctx, "atlas-cluster")).To(Succeed())
		Expect(env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-cluster"}})).To(Succeed())
		Expect(env.Client.Create(ctx, framework.Certificate("e2e-cluster", "api", "AtlasClusterIssuer", "atlas-cluster", "api.example.com"))).To(Succeed())
		crt := waitReady(ctx, "e2e-cluster", "api")
		_, err := framework.VerifySecret(secretOf(ctx, "e2e-cluster", crt.Spec.SecretName), "api.example.com")
		Expect(err).NotTo(HaveOccurred())
	})

	It("is renewed with a new serial and no extra certificate", func(ctx SpecContext) {
		Expect(env.CreateNamespace(ctx, "e2e-renew")).To(Succeed())
		Expect(env.Client.Create(ctx, framework.Certificate("e2e-renew", "renew", "AtlasIssuer", "atlas", "renew.example.com"))).To(Succeed())
		crt := waitReady(ctx, "e2e-renew", "renew")
		first, err := framework.VerifySecret(secretOf(ctx, "e2e-renew", crt.Spec.SecretName), "renew.example.com")
		Expect(err).NotTo(HaveOccurred())
		before, err := env.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())

		// What `cmctl renew` does: set the Issuing condition. cert-manager
		// may still be writing the status it just made Ready, so the update
		// starts again from the latest version on a conflict, as cmctl's
		// does.
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			latest := &cmapi.Certificate{}
			if err := env.Get(ctx, "e2e-renew", "renew", latest); err != nil {
				return err
			}
			// Set, not append: cert-manager may still hold an Issuing
			// condition of its own, and two of one type are refused.
			apiutil.SetCertificateCondition(latest, latest.Generation, cmapi.CertificateConditionIssuing, cmmeta.ConditionTrue,
				"ManuallyTriggered", "renewal requested by the e2e suite")
			return env.Client.Status().Update(ctx, latest)
		})).To(Succeed())

		Eventually(func(g Gomega) {
			leaf, err := framework.VerifySecret(secretOf(ctx, "e2e-renew", crt.Spec.SecretName), "renew.example.com")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(leaf.SerialNumber.Cmp(first.SerialNumber)).NotTo(BeZero())
		}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
		waitReady(ctx, "e2e-renew", "renew")

		after, err := env.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Issued-before.Issued).To(Equal(1), "one certificate for the renewal")
		Expect(after.Duplicates).To(Equal(before.Duplicates))
	})

	It("fails visibly when the policy forbids its names, without submitting", func(ctx SpecContext) {
		Expect(env.CreateNamespace(ctx, "e2e-policy")).To(Succeed())
		p := fake.DefaultPolicy()
		p.SAN.DNSNames.List = []string{".allowed.example"}
		Expect(env.Admin.SetPolicy(ctx, p)).To(Succeed())
		DeferCleanup(func(ctx context.Context) { Expect(env.Admin.SetPolicy(ctx, fake.DefaultPolicy())).To(Succeed()) })
		// The issuer caches the policy: wait for a recheck to pick it up.
		Eventually(func(g Gomega) {
			iss := &v1alpha1.AtlasIssuer{}
			g.Expect(env.Get(ctx, "e2e-policy", "atlas", iss)).To(Succeed())
			g.Expect(iss.Status.ValidationPolicy).To(ContainSubstring(".allowed.example"))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		before, err := env.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())

		Expect(env.Client.Create(ctx, framework.Certificate("e2e-policy", "forbidden", "AtlasIssuer", "atlas", "x.forbidden.example"))).To(Succeed())
		Eventually(func(g Gomega) {
			var events corev1.EventList
			g.Expect(env.Client.List(ctx, &events, client.InNamespace("e2e-policy"))).To(Succeed())
			var msgs []string
			for _, e := range events.Items {
				if e.InvolvedObject.Kind == "Certificate" && e.InvolvedObject.Name == "forbidden" {
					msgs = append(msgs, e.Message)
				}
			}
			g.Expect(strings.Join(msgs, "\n")).To(ContainSubstring("san.dns_names"))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())

		var crs cmapi.CertificateRequestList
		Expect(env.Client.List(ctx, &crs, client.InNamespace("e2e-policy"))).To(Succeed())
		Expect(crs.Items).NotTo(BeEmpty())
		Expect(crs.Items[0].Status.Conditions).To(ContainElement(And(
			HaveField("Type", cmapi.CertificateRequestConditionReady),
			HaveField("Reason", cmapi.CertificateRequestReasonFailed),
		)))
		after, err := env.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Calls[fake.OpRequestCertificate]).To(Equal(before.Calls[fake.OpRequestCertificate]), "no submission")
	})

	It("becomes Ready after Atlas was down for a minute, with no failed request", func(ctx SpecContext) {
		Expect(env.CreateNamespace(ctx, "e2e-outage")).To(Succeed())
		Eventually(func(g Gomega) {
			iss := &v1alpha1.AtlasIssuer{}
			g.Expect(env.Get(ctx, "e2e-outage", "atlas", iss)).To(Succeed())
			g.Expect(framework.IssuerReady(iss.Status.Conditions)).To(BeTrue())
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
		before, err := env.Admin.Stats(ctx)
		Expect(err).NotTo(HaveOccurred())

		Expect(env.Admin.SetFaults(ctx, fake.Faults{Down: true})).To(Succeed())
		restored := false
		DeferCleanup(func(ctx context.Context) {
			if !restored {
				Expect(env.Admin.SetFaults(ctx, fake.Faults{})).To(Succeed())
			}
		})
		Expect(env.Client.Create(ctx, framework.Certificate("e2e-outage", "outage", "AtlasIssuer", "atlas", "outage.example.com"))).To(Succeed())
		Consistently(func(g Gomega) {
			crt := &cmapi.Certificate{}
			g.Expect(env.Get(ctx, "e2e-outage", "outage", crt)).To(Succeed())
			g.Expect(framework.IsReady(crt)).To(BeFalse())
		}).WithContext(ctx).WithTimeout(time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		Expect(env.Admin.SetFaults(ctx, fake.Faults{})).To(Succeed())
		restored = true

		crt := waitReady(ctx, "e2e-outage", "outage")
		leaf, err := framework.VerifySecret(secretOf(ctx, "e2e-outage", crt.Spec.SecretName), "outage.example.com")
		Expect(err).NotTo(HaveOccurred())
		// Never failed and replaced: cert-manager counts a failed request
		// on the Certificate even once it has deleted it, and a replacement
		// would be a request for another key.
		Expect(crt.Status.FailedIssuanceAttempts).To(BeNil(), "failed issuance attempts")
		Expect(crt.Status.LastFailureTime).To(BeNil(), "last failure time")
		for _, cr := range expectOneIssuance(ctx, crt, leaf, before) {
			for _, c := range cr.Status.Conditions {
				Expect(c.Reason).NotTo(Equal(cmapi.CertificateRequestReasonFailed), "request %s failed: %s", cr.Name, c.Message)
			}
		}
	}, SpecTimeout(4*time.Minute))
})

var _ = Describe("a Kubernetes CertificateSigningRequest", func() {
	It("is signed through an AtlasClusterIssuer", func(ctx SpecContext) {
		Expect(env.CreateClusterIssuer(ctx, "atlas-csr")).To(Succeed())
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		Expect(err).NotTo(HaveOccurred())
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			Subject: pkix.Name{CommonName: "kube.example.com"}, DNSNames: []string{"kube.example.com"},
		}, key)
		Expect(err).NotTo(HaveOccurred())
		seconds := int32(24 * 3600)
		csr := &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "e2e-kube-csr"},
			Spec: certificatesv1.CertificateSigningRequestSpec{
				Request:           pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
				SignerName:        "atlasclusterissuers.hvca.globalsign.com/atlas-csr",
				ExpirationSeconds: &seconds,
				Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth},
			},
		}
		Expect(env.Client.Create(ctx, csr)).To(Succeed())
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "E2E", Message: "approved by the e2e suite",
		})
		cs, err := kubernetes.NewForConfig(env.RESTConfig)
		Expect(err).NotTo(HaveOccurred())
		_, err = cs.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			got := &certificatesv1.CertificateSigningRequest{}
			g.Expect(env.Get(ctx, "", csr.Name, got)).To(Succeed())
			g.Expect(got.Status.Certificate).NotTo(BeEmpty())
			certs, err := framework.ParseCerts(got.Status.Certificate)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(certs[0].DNSNames).To(ConsistOf("kube.example.com"))
			g.Expect(certs[0].NotAfter.Sub(certs[0].NotBefore)).To(BeNumerically("~", 24*time.Hour, time.Minute))
		}).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	})
})
