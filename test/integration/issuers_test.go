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
	"context"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

var _ = Describe("AtlasIssuer", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) {
		ns = newNamespace(ctx)
	})

	It("becomes Ready and reports the account in its status, re-checked periodically", func(ctx SpecContext) {
		iss := readyIssuer(ctx, ns)
		st := iss.Status
		Expect(st.LastCheckTime).NotTo(BeNil())
		Expect(st.CredentialsNotAfter).NotTo(BeNil())
		// The fake's client certificate is valid for two years.
		Expect(st.CredentialsNotAfter.Time).To(BeTemporally(">", time.Now().Add(365*24*time.Hour)))
		Expect(st.RemainingQuota).NotTo(BeNil())
		Expect(*st.RemainingQuota).To(BeNumerically(">", 0))
		Expect(st.ValidationPolicy).To(And(ContainSubstring("PKCS10"), ContainSubstring("RSA")))
		Expect(st.Reason).To(Equal("Checked"))
		Expect(st.ControllerVersion).To(Equal("dev"), "an unstamped manager reports dev")
		cells := expectPrintedReason(ctx, iss, settle, "Checked")
		Expect(cells).To(HaveKeyWithValue("Ready", "True"))

		// Nothing about the issuer changes, so only the periodic re-check can
		// move lastCheckTime.
		first := st.LastCheckTime.Time
		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(iss), iss)).To(Succeed())
			g.Expect(iss.Status.LastCheckTime.Time).To(BeTemporally(">", first))
		}).WithTimeout(4 * defaultOptions().RecheckInterval).WithPolling(polling).Should(Succeed())
	})

	DescribeTable("is not Ready, naming the cause, when its Secret is unusable",
		func(ctx SpecContext, noSecret bool, mutate func(map[string][]byte), want ...string) {
			const name = "atlas-credentials"
			if !noSecret {
				createSecret(ctx, ns, name, secretData(mutate))
			}
			iss := createIssuer(ctx, ns, name)
			cond := expectIssuerNotReady(ctx, iss, settle, want...)
			// kubectl get shows the cause, and -o wide the message.
			cells := expectPrintedReason(ctx, iss, settle, want[0])
			Expect(cells).To(HaveKeyWithValue("Message", ContainSubstring(want[0])))
			Expect(cells).To(HaveKeyWithValue("Ready", "False"))
			c := atlasFake.Credentials()
			Expect(cond.Message).NotTo(ContainSubstring(c.APISecret), "the message leaks the API secret")
			Expect(cond.Message).NotTo(ContainSubstring("PRIVATE KEY"), "the message leaks key material")
		},
		Entry("Secret missing", true, nil, "SecretNotFound", "atlas-credentials"),
		Entry("key apiSecret missing", false, func(d map[string][]byte) {
			delete(d, "apiSecret")
		}, "SecretKeyMissing", `"apiSecret"`),
		Entry("tls.crt not PEM", false, func(d map[string][]byte) {
			d["tls.crt"] = []byte("this is not a certificate\n")
		}, "SecretKeyInvalid", `"tls.crt"`),
		Entry("encrypted key, wrong password", false, func(d map[string][]byte) {
			d["tls.key"] = encryptedKey("right password")
			d["tls.key.password"] = []byte("wrong password")
		}, "KeyPasswordIncorrect"),
		Entry("encrypted key, no password", false, func(d map[string][]byte) {
			d["tls.key"] = encryptedKey("right password")
		}, "KeyPasswordRequired", "tls.key.password"),
		Entry("wrong API key", false, func(d map[string][]byte) {
			d["apiKey"] = []byte("0123456789abcdef")
		}, "CredentialsRejected"),
		Entry("client certificate the server does not trust", false, func(d map[string][]byte) {
			certPEM, keyPEM, err := atlasFake.NewClientCertificate(false)
			Expect(err).NotTo(HaveOccurred())
			d["tls.crt"], d["tls.key"] = certPEM, keyPEM
		}, "ClientCertificateRejected"),
	)

	It("accepts the earlier Atlas issuer's key names and signs with them", func(ctx SpecContext) {
		c := atlasFake.Credentials()
		secret := createSecretGenerated(ctx, ns, map[string][]byte{
			"apikey":    []byte(c.APIKey),
			"apisecret": []byte(c.APISecret),
			"cert":      c.CertPEM,
			"certkey":   c.KeyPEM,
		})
		iss := createIssuer(ctx, ns, secret.Name)
		expectIssuerReady(ctx, iss)
		cr, _ := createRequest(ctx, ns, iss, "legacy.example.com")
		approve(ctx, cr)
		expectRequestReady(ctx, cr, settle)
	})

	It("signs with a Secret carrying cert-manager's label, which the Secret watch leaves out, and warns about it", func(ctx SpecContext) {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "atlas-credentials-",
				Labels: map[string]string{cmapi.PartOfCertManagerControllerLabelKey: "true"}},
			Data: secretData(),
		}
		create(ctx, secret)
		iss := createIssuer(ctx, ns, secret.Name)
		expectIssuerReady(ctx, iss)
		cr, _ := createRequest(ctx, ns, iss, "labelled-secret.example.com")
		approve(ctx, cr)
		expectRequestReady(ctx, cr, settle)
		// The warning comes only from a Secret missing from the
		// controller's cache: it shows the watch left this one out.
		Eventually(func(g Gomega) {
			events, err := clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(events.Items).To(ContainElement(And(
				HaveField("Reason", "SecretNotWatched"),
				HaveField("Regarding.Name", iss.Name),
				HaveField("Note", ContainSubstring(secret.Name)))))
		}).WithContext(ctx).WithTimeout(settle).WithPolling(polling).Should(Succeed())
	})

	It("accepts an encrypted key with its password", func(ctx SpecContext) {
		secret := createSecretGenerated(ctx, ns, secretData(func(d map[string][]byte) {
			d["tls.key"] = encryptedKey("s3cret pass")
			// Files written by editors end in a newline; the password must not.
			d["tls.key.password"] = []byte("s3cret pass\n")
		}))
		expectIssuerReady(ctx, createIssuer(ctx, ns, secret.Name))
	})

	It("cannot use a Secret of another namespace", func(ctx SpecContext) {
		other := newNamespace(ctx)
		// Valid credentials, so reading them would make the issuer Ready.
		createSecret(ctx, other, "shared-credentials", secretData())
		iss := createIssuer(ctx, ns, "shared-credentials")
		expectIssuerNotReady(ctx, iss, settle, "SecretNotFound", ns+"/shared-credentials")
		Consistently(func(g Gomega) {
			g.Expect(issuerReady(ctx, g, iss)).To(HaveField("Status", Not(Equal(metav1.ConditionTrue))))
		}).WithTimeout(2 * defaultOptions().RecheckInterval).WithPolling(250 * time.Millisecond).Should(Succeed())
	})

	It("is not Ready when Atlas cannot be reached, and says so", func(ctx SpecContext) {
		secret := createSecretGenerated(ctx, ns, secretData())
		// Port 1 on loopback: nothing listens there.
		iss := createIssuerAt(ctx, ns, secret.Name, "https://127.0.0.1:1/v2")
		expectIssuerNotReady(ctx, iss, settle, "AtlasUnreachable")
		expectPrintedReason(ctx, iss, settle, "AtlasUnreachable")
	})

	It("sends no credentials to a URL outside --allowed-atlas-urls, and says so", func(ctx SpecContext) {
		bh := newBlackhole()
		secret := createSecretGenerated(ctx, ns, secretData())
		// The suite allows 127.0.0.1 only; localhost is the same listener
		// under a name no rule allows.
		iss := createIssuerAt(ctx, ns, secret.Name, "https://localhost:"+bh.port+"/v2")
		expectIssuerNotReady(ctx, iss, settle, "URLNotAllowed", "--allowed-atlas-urls", iss.Spec.URL)
		Expect(bh.accepted()).To(BeZero(), "the manager connected to a URL it may not use")
	})

	It("checks other issuers while one issuer's Atlas never answers", func(ctx SpecContext) {
		bh := newBlackhole()
		secret := createSecretGenerated(ctx, ns, secretData())
		createIssuerAt(ctx, ns, secret.Name, "https://127.0.0.1:"+bh.port+"/v2")
		Eventually(bh.accepted).WithTimeout(settle).WithPolling(polling).Should(BeNumerically(">", 0))

		// The first connection stays open until its TLS handshake times out,
		// so a check that completes meanwhile ran beside the stuck one.
		other := createIssuer(ctx, ns, secret.Name)
		expectIssuerReady(ctx, other)
		Expect(bh.firstClosed()).To(BeFalse(), "the other issuer was checked only after the stuck check gave up")
	})
})

// Without the periodic re-check, what these specs observe can only come
// from the path under test: issuer-lib itself re-runs Check only on spec and
// annotation changes, and after an error.
var _ = Describe("With the periodic re-check turned off", Serial, Ordered, func() {
	BeforeAll(func() {
		opts := defaultOptions()
		opts.RecheckInterval = 0
		restartManager(opts)
		DeferCleanup(func() { restartManager(defaultOptions()) })
	})

	// Only the Secret watch can notice that a Ready issuer's Secret broke.
	DescribeTable("rotating the Secret re-checks the issuer within seconds",
		func(ctx SpecContext, clusterScoped bool) {
			var (
				secret *corev1.Secret
				iss    issuerapi.Issuer
			)
			if clusterScoped {
				secret = createSecretGenerated(ctx, clusterResourceNamespace, secretData())
				iss = createClusterIssuer(ctx, secret.Name)
			} else {
				ns := newNamespace(ctx)
				secret = createSecretGenerated(ctx, ns, secretData())
				iss = createIssuer(ctx, ns, secret.Name)
			}
			expectIssuerReady(ctx, iss)

			updateSecret(ctx, secret, func(d map[string][]byte) { d["apiKey"] = []byte("0123456789abcdef") })
			expectIssuerNotReady(ctx, iss, 10*time.Second, "CredentialsRejected")

			updateSecret(ctx, secret, func(d map[string][]byte) { d["apiKey"] = []byte(atlasFake.Credentials().APIKey) })
			Eventually(func(g Gomega) {
				g.Expect(issuerReady(ctx, g, iss)).To(HaveField("Status", Equal(metav1.ConditionTrue)))
			}).WithTimeout(10 * time.Second).WithPolling(polling).Should(Succeed())
		},
		Entry("of an AtlasIssuer", false),
		Entry("of an AtlasClusterIssuer", true),
	)

	// The Secret is created just before the issuer, as users and the
	// benchmark do; however the Secret and issuer events interleave, a new
	// issuer costs one Check.
	It("checks a new issuer once", func(ctx SpecContext) {
		const n = 4
		before := atlasFake.CallCount(fake.OpQuota)
		var issuers []issuerapi.Issuer
		for range n {
			ns := newNamespace(ctx)
			secret := createSecretGenerated(ctx, ns, secretData())
			issuers = append(issuers, createIssuer(ctx, ns, secret.Name))
		}
		for _, iss := range issuers {
			expectIssuerReady(ctx, iss)
		}
		// The sign that every event of the n issuers and their Secrets has
		// been through the issuer work queue: one more issuer, created now
		// and checked (its Add follows their Ready status writes in the
		// issuer watch), then its Secret changed until the issuer says so
		// (that update follows their Secrets' Adds in the Secret watch).
		// The queue hands out events first in, first out, so any second
		// Check of theirs has started by then. A Secret without apiSecret
		// fails the barrier's second Check before it calls Atlas.
		barrierNS := newNamespace(ctx)
		barrierSecret := createSecretGenerated(ctx, barrierNS, secretData())
		barrier := createIssuer(ctx, barrierNS, barrierSecret.Name)
		expectIssuerReady(ctx, barrier)
		updateSecret(ctx, barrierSecret, func(d map[string][]byte) { delete(d, "apiSecret") })
		expectIssuerNotReady(ctx, barrier, settle, "SecretKeyMissing")
		Consistently(func() int {
			return atlasFake.CallCount(fake.OpQuota) - before
		}).WithTimeout(2*time.Second).WithPolling(polling).Should(Equal(n+1), "Checks of %d new issuers", n+1)
	})

	// Check still saw quota, so only Sign's handling of Atlas's 402 can
	// take the issuer out of Ready.
	It("a spent quota at submission makes the issuer not Ready and the request wait", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		iss := readyIssuer(ctx, ns)
		atlasFake.SetQuota(0)
		DeferCleanup(atlasFake.SetQuota, int64(1_000_000))

		posts := atlasFake.CallCount(fake.OpRequestCertificate)
		cr, key := createRequest(ctx, ns, iss, "quota-402.example.com")
		approve(ctx, cr)
		Eventually(func() int {
			return atlasFake.CallCount(fake.OpRequestCertificate) - posts
		}).WithTimeout(settle).WithPolling(polling).Should(BeNumerically(">=", 1))
		expectIssuerNotReady(ctx, iss, settle, "QuotaExhausted")
		expectRequestWaiting(ctx, cr)
		Expect(key.issued()).To(BeZero())

		// issuer-lib retries the failed Check with backoff.
		atlasFake.SetQuota(100)
		expectIssuerReady(ctx, iss)
		expectRequestReady(ctx, cr, settle)
		Expect(key.issued()).To(Equal(1))
	})
})

var _ = Describe("AtlasClusterIssuer", func() {
	It("reads its Secret from the cluster resource namespace and signs in any namespace", func(ctx SpecContext) {
		iss := readyClusterIssuer(ctx)
		Expect(iss.Status.LastCheckTime).NotTo(BeNil())
		Expect(iss.Status.RemainingQuota).NotTo(BeNil())
		ns := newNamespace(ctx)
		cr, key := createRequest(ctx, ns, iss, "cluster.example.com")
		approve(ctx, cr)
		expectRequestReady(ctx, cr, settle)
		Expect(leafFingerprint(parseCerts(cr.Status.Certificate)[0])).To(Equal(key.fingerprint))
	})

	It("signs only for namespaces its namespaceSelector matches", func(ctx SpecContext) {
		secret := createSecretGenerated(ctx, clusterResourceNamespace, secretData())
		team := "team-" + secret.Name // unique to this spec
		iss := &v1alpha1.AtlasClusterIssuer{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "it-atlas-selective-"},
			Spec:       issuerSpec(secret.Name),
		}
		iss.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"atlas-it/team": team}}
		create(ctx, iss)
		expectIssuerReady(ctx, iss)

		allowed := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "it-", Labels: map[string]string{"atlas-it/team": team}}}
		Expect(k8s.Create(ctx, allowed)).To(Succeed())
		other := newNamespace(ctx)

		ok, okKey := createRequest(ctx, allowed.Name, iss, "selected.example.com")
		refused, refusedKey := createRequest(ctx, other, iss, "refused.example.com")
		approve(ctx, ok)
		approve(ctx, refused)
		expectRequestReady(ctx, ok, settle)
		Expect(okKey.issued()).To(Equal(1))
		expectRequestNotReady(ctx, refused, cmapi.CertificateRequestReasonFailed,
			"namespace "+other+" does not match spec.namespaceSelector (atlas-it/team="+team+")", iss.Name)
		Expect(refusedKey.issued()).To(Equal(0), "a refused request reached Atlas")
	})

	It("ignores a Secret of the same name in another namespace", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		// Valid credentials, so reading them would make the issuer Ready.
		secret := createSecretGenerated(ctx, ns, secretData())
		iss := createClusterIssuer(ctx, secret.Name)
		expectIssuerNotReady(ctx, iss, settle, "SecretNotFound", clusterResourceNamespace+"/"+secret.Name)
		expectPrintedReason(ctx, iss, settle, "SecretNotFound")
	})
})

var _ = Describe("Quota", Serial, func() {
	It("waits while the account has no quota and issues once it is raised", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		iss := readyIssuer(ctx, ns)

		atlasFake.SetQuota(0)
		DeferCleanup(atlasFake.SetQuota, int64(1_000_000))
		cr, key := createRequest(ctx, ns, iss, "quota.example.com")
		approve(ctx, cr)

		expectIssuerNotReady(ctx, iss, settle, "QuotaExhausted")
		expectPrintedReason(ctx, iss, settle, "QuotaExhausted")
		expectRequestWaiting(ctx, cr)
		Expect(key.issued()).To(BeZero())

		atlasFake.SetQuota(100)
		expectIssuerReady(ctx, iss)
		expectRequestReady(ctx, cr, settle)
		Expect(key.issued()).To(Equal(1))
		// The status follows the account: the raised quota, not the old one.
		Expect(iss.Status.RemainingQuota).To(PointTo(BeNumerically("<=", 100)))
	})
})

// expectRequestWaiting asserts for a while that the request neither fails
// nor is issued: a spent quota is the account's problem, not the request's,
// so it waits instead of failing or burning its retry budget. It first
// waits for the request's reconcile to have seen its issuer not Ready for
// the spent quota: issuer-lib then marks it Pending, quoting the issuer's
// condition.
func expectRequestWaiting(ctx context.Context, cr *cmapi.CertificateRequest) {
	GinkgoHelper()
	expectRequestNotReady(ctx, cr, cmapi.CertificateRequestReasonPending, "QuotaExhausted")
	Consistently(func(g Gomega) {
		if cond := requestReady(ctx, g, cr); cond != nil {
			g.Expect(cond.Reason).NotTo(BeElementOf(cmapi.CertificateRequestReasonFailed, cmapi.CertificateRequestReasonDenied, cmapi.CertificateRequestReasonIssued))
		}
		g.Expect(cr.Status.Certificate).To(BeEmpty())
	}).WithTimeout(2 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
}

// updateSecret changes a Secret's data in place, as a rotation does.
func updateSecret(ctx context.Context, secret *corev1.Secret, mutate func(map[string][]byte)) {
	GinkgoHelper()
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(secret), secret)).To(Succeed())
	mutate(secret.Data)
	Expect(k8s.Update(ctx, secret)).To(Succeed())
}
