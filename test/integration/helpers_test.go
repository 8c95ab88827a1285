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
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"sync"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/youmark/pkcs8"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// Timeouts of Eventually. Success paths complete in well under a second on
// an idle machine; the margins are for two cores under -race.
const (
	settle  = 30 * time.Second
	polling = 100 * time.Millisecond
)

// newNamespace creates a namespace of its own for one spec. envtest runs no
// namespace controller, so namespaces are not deleted; the objects in them
// are, by the cleanups of the helpers that create them.
func newNamespace(ctx context.Context) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "it-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// create creates obj and deletes it when the spec ends, so that issuers of
// finished specs stop being re-checked against the fake.
func create(ctx context.Context, obj client.Object) {
	GinkgoHelper()
	Expect(k8s.Create(ctx, obj)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		Expect(client.IgnoreNotFound(k8s.Delete(ctx, obj))).To(Succeed())
	})
}

// secretData is a working credentials Secret for the fake, in the key names
// of design.md, after the mutators ran.
func secretData(mutate ...func(map[string][]byte)) map[string][]byte {
	c := atlasFake.Credentials()
	d := map[string][]byte{
		"apiKey":    []byte(c.APIKey),
		"apiSecret": []byte(c.APISecret),
		"tls.crt":   c.CertPEM,
		"tls.key":   c.KeyPEM,
	}
	for _, m := range mutate {
		m(d)
	}
	return d
}

func createSecret(ctx context.Context, ns, name string, data map[string][]byte) *corev1.Secret {
	GinkgoHelper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	create(ctx, s)
	return s
}

// encryptedKey is the fake's mTLS key as encrypted PKCS#8, the form a key
// generated with a password takes.
func encryptedKey(password string) []byte {
	GinkgoHelper()
	block, _ := pem.Decode(atlasFake.Credentials().KeyPEM)
	Expect(block).NotTo(BeNil())
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	der, err := pkcs8.MarshalPrivateKey(key, []byte(password), nil)
	Expect(err).NotTo(HaveOccurred())
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der})
}

func issuerSpec(secretName string) v1alpha1.AtlasIssuerSpec {
	return v1alpha1.AtlasIssuerSpec{
		URL:            atlasFake.URL(),
		AuthSecretName: secretName,
		CABundle:       atlasFake.Credentials().ServerCAPEM,
	}
}

func createIssuer(ctx context.Context, ns, secretName string) *v1alpha1.AtlasIssuer {
	GinkgoHelper()
	iss := &v1alpha1.AtlasIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "atlas-"},
		Spec:       issuerSpec(secretName),
	}
	create(ctx, iss)
	return iss
}

func createClusterIssuer(ctx context.Context, secretName string) *v1alpha1.AtlasClusterIssuer {
	GinkgoHelper()
	iss := &v1alpha1.AtlasClusterIssuer{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "it-atlas-"},
		Spec:       issuerSpec(secretName),
	}
	create(ctx, iss)
	return iss
}

// readyIssuer is an AtlasIssuer with working credentials in ns, once Ready.
func readyIssuer(ctx context.Context, ns string) *v1alpha1.AtlasIssuer {
	GinkgoHelper()
	secret := createSecretGenerated(ctx, ns, secretData())
	iss := createIssuer(ctx, ns, secret.Name)
	expectIssuerReady(ctx, iss)
	return iss
}

// readyClusterIssuer is an AtlasClusterIssuer with working credentials in the
// cluster resource namespace, once Ready.
func readyClusterIssuer(ctx context.Context) *v1alpha1.AtlasClusterIssuer {
	GinkgoHelper()
	secret := createSecretGenerated(ctx, clusterResourceNamespace, secretData())
	iss := createClusterIssuer(ctx, secret.Name)
	expectIssuerReady(ctx, iss)
	return iss
}

func createSecretGenerated(ctx context.Context, ns string, data map[string][]byte) *corev1.Secret {
	GinkgoHelper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "atlas-credentials-"}, Data: data}
	create(ctx, s)
	return s
}

// issuerReady reads the issuer and returns its Ready condition.
func issuerReady(ctx context.Context, g Gomega, iss issuerapi.Issuer) *metav1.Condition {
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(iss), iss)).To(Succeed())
	cond := meta.FindStatusCondition(iss.GetConditions(), issuerapi.IssuerConditionTypeReady)
	g.Expect(cond).NotTo(BeNil(), "no Ready condition yet")
	return cond
}

func expectIssuerReady(ctx context.Context, iss issuerapi.Issuer) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		cond := issuerReady(ctx, g, iss)
		g.Expect(cond).To(And(
			HaveField("Status", metav1.ConditionTrue),
			HaveField("ObservedGeneration", iss.GetGeneration()),
		))
	}).WithContext(ctx).WithTimeout(settle).WithPolling(polling).Should(Succeed())
}

// expectIssuerNotReady waits until the issuer is not Ready with a message
// that contains every one of want.
func expectIssuerNotReady(ctx context.Context, iss issuerapi.Issuer, timeout time.Duration, want ...string) *metav1.Condition {
	GinkgoHelper()
	var last *metav1.Condition
	Eventually(func(g Gomega) {
		cond := issuerReady(ctx, g, iss)
		g.Expect(cond).To(HaveField("Status", metav1.ConditionFalse))
		for _, w := range want {
			g.Expect(cond.Message).To(ContainSubstring(w))
		}
		last = cond
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(polling).Should(Succeed())
	return last
}

// testKey is the private key behind one request. Every request gets its own
// key, so that the fake's per-key issuance count tells requests apart.
type testKey struct {
	priv        *rsa.PrivateKey
	fingerprint string
}

// newKey makes an RSA 2048 key: the fake's default policy accepts RSA only.
func newKey() testKey {
	GinkgoHelper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	Expect(err).NotTo(HaveOccurred())
	fp, err := fake.PublicKeyFingerprint(&priv.PublicKey)
	Expect(err).NotTo(HaveOccurred())
	return testKey{priv: priv, fingerprint: fp}
}

// csr is a PEM CSR for the key with a common name and DNS names, as
// cert-manager builds one from a Certificate.
func (k testKey) csr(commonName string, dnsNames ...string) []byte {
	GinkgoHelper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: commonName},
		DNSNames: dnsNames,
	}, k.priv)
	Expect(err).NotTo(HaveOccurred())
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// issued is how many certificates the fake accepted for this key.
func (k testKey) issued() int { return atlasFake.IssuedPerKey()[k.fingerprint] }

func refTo(iss client.Object) cmmeta.IssuerReference {
	kind := "AtlasIssuer"
	if _, ok := iss.(*v1alpha1.AtlasClusterIssuer); ok {
		kind = "AtlasClusterIssuer"
	}
	return cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: kind, Name: iss.GetName()}
}

// newRequest is a CertificateRequest for a TLS server certificate, not yet
// approved, valid for 24h unless a mutator says otherwise.
func newRequest(ns string, ref cmmeta.IssuerReference, csrPEM []byte, mutate ...func(*cmapi.CertificateRequest)) *cmapi.CertificateRequest {
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "req-"},
		Spec: cmapi.CertificateRequestSpec{
			Request:   csrPEM,
			IssuerRef: ref,
			Duration:  &metav1.Duration{Duration: 24 * time.Hour},
			Usages:    []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth},
		},
	}
	for _, m := range mutate {
		m(cr)
	}
	return cr
}

// createRequest creates a request for a new key and returns both.
func createRequest(ctx context.Context, ns string, iss client.Object, dnsName string, mutate ...func(*cmapi.CertificateRequest)) (*cmapi.CertificateRequest, testKey) {
	GinkgoHelper()
	key := newKey()
	cr := newRequest(ns, refTo(iss), key.csr(dnsName, dnsName), mutate...)
	create(ctx, cr)
	return cr, key
}

// setRequestCondition sets an approval condition through the status
// subresource, as cert-manager's approver does.
func setRequestCondition(ctx context.Context, cr *cmapi.CertificateRequest, typ cmapi.CertificateRequestConditionType, reason string) {
	GinkgoHelper()
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), cr); err != nil {
			return err
		}
		cmapiutil.SetCertificateRequestCondition(cr, typ, cmmeta.ConditionTrue, reason, "set by the integration suite")
		return k8s.Status().Update(ctx, cr)
	})).To(Succeed())
}

func approve(ctx context.Context, cr *cmapi.CertificateRequest) {
	GinkgoHelper()
	setRequestCondition(ctx, cr, cmapi.CertificateRequestConditionApproved, "Approved")
}

func deny(ctx context.Context, cr *cmapi.CertificateRequest) {
	GinkgoHelper()
	setRequestCondition(ctx, cr, cmapi.CertificateRequestConditionDenied, "Denied")
}

// requestReady reads the request and returns its Ready condition, nil when
// it has none.
func requestReady(ctx context.Context, g Gomega, cr *cmapi.CertificateRequest) *cmapi.CertificateRequestCondition {
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cr), cr)).To(Succeed())
	return cmapiutil.GetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
}

// expectRequestReady waits for the request to be issued and leaves the
// final object in cr.
func expectRequestReady(ctx context.Context, cr *cmapi.CertificateRequest, timeout time.Duration) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		cond := requestReady(ctx, g, cr)
		g.Expect(cond).NotTo(BeNil(), "no Ready condition yet")
		g.Expect(*cond).To(HaveField("Status", cmmeta.ConditionTrue))
		g.Expect(cr.Status.Certificate).NotTo(BeEmpty())
	}).WithContext(ctx).WithTimeout(timeout).WithPolling(polling).Should(Succeed())
}

// expectRequestNotReady waits for Ready=False with the given reason (Failed,
// Denied or Pending) and a message containing every one of want.
func expectRequestNotReady(ctx context.Context, cr *cmapi.CertificateRequest, reason string, want ...string) *cmapi.CertificateRequestCondition {
	GinkgoHelper()
	var last *cmapi.CertificateRequestCondition
	Eventually(func(g Gomega) {
		cond := requestReady(ctx, g, cr)
		g.Expect(cond).NotTo(BeNil(), "no Ready condition yet")
		g.Expect(*cond).To(And(HaveField("Status", cmmeta.ConditionFalse), HaveField("Reason", reason)))
		for _, w := range want {
			g.Expect(cond.Message).To(ContainSubstring(w))
		}
		last = cond
	}).WithContext(ctx).WithTimeout(settle).WithPolling(polling).Should(Succeed())
	return last
}

// expectLaterRequestSigned is the positive sign a spec that asserts that
// nothing happens to a request waits for before its Consistently: another
// request for iss, created and approved after it, is signed. The manager's
// request watch delivers events in the order the API server stored them,
// and the work queue hands out events of one priority first in, first out,
// so every reconcile the earlier request's events caused has started by
// then; the Consistently after it covers the end of such a reconcile.
func expectLaterRequestSigned(ctx context.Context, ns string, iss client.Object) {
	GinkgoHelper()
	cr, key := createRequest(ctx, ns, iss, "later.example.com")
	approve(ctx, cr)
	expectRequestReady(ctx, cr, settle)
	Expect(key.issued()).To(Equal(1))
}

// parseCerts decodes every CERTIFICATE block, failing on anything else.
func parseCerts(data []byte) []*x509.Certificate {
	GinkgoHelper()
	var out []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			Expect(string(rest)).To(BeEmpty(), "trailing data after the PEM blocks")
			return out
		}
		Expect(block.Type).To(Equal("CERTIFICATE"))
		c, err := x509.ParseCertificate(block.Bytes)
		Expect(err).NotTo(HaveOccurred())
		out = append(out, c)
	}
}

// leafFingerprint names the key a certificate certifies, as the fake does.
func leafFingerprint(c *x509.Certificate) string {
	GinkgoHelper()
	fp, err := fake.PublicKeyFingerprint(c.PublicKey)
	Expect(err).NotTo(HaveOccurred())
	return fp
}

// mergePatchAnnotations sets (or, with a nil value, removes) annotations with
// a JSON merge patch.
func mergePatchAnnotations(ctx context.Context, obj client.Object, ann map[string]*string) {
	GinkgoHelper()
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": ann}})
	Expect(err).NotTo(HaveOccurred())
	Expect(k8s.Patch(ctx, obj, client.RawPatch(types.MergePatchType, body))).To(Succeed())
}

// createIssuerAt creates an AtlasIssuer for the Secret that points at url.
func createIssuerAt(ctx context.Context, ns, secretName, url string) *v1alpha1.AtlasIssuer {
	GinkgoHelper()
	iss := &v1alpha1.AtlasIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "atlas-"},
		Spec:       issuerSpec(secretName),
	}
	iss.Spec.URL = url
	create(ctx, iss)
	return iss
}

// blackhole is a TCP listener on 127.0.0.1 that accepts connections and
// never answers, an Atlas that hangs.
type blackhole struct {
	port   string
	mu     sync.Mutex
	conns  int
	closed bool
}

func newBlackhole() *blackhole {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	_, port, err := net.SplitHostPort(l.Addr().String())
	Expect(err).NotTo(HaveOccurred())
	b := &blackhole{port: port}
	var held []net.Conn
	DeferCleanup(func() {
		_ = l.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns++
			first := b.conns == 1
			held = append(held, c)
			b.mu.Unlock()
			if first {
				go func() {
					// Nothing is ever written, so the read ends only when
					// the client gives up on the connection.
					_, _ = io.Copy(io.Discard, c)
					b.mu.Lock()
					b.closed = true
					b.mu.Unlock()
				}()
			}
		}
	}()
	return b
}

func (b *blackhole) accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conns
}

func (b *blackhole) firstClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}
