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

package cluster_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// Where things run in the cluster.
const (
	cmNamespace      = "cert-manager"
	fakeNamespace    = "atlas-fake"
	releaseNamespace = "atlas-system"
	testNamespace    = "atlas-test"
	release          = "atlas-issuer"
	fakeURL          = "https://fake-atlas.atlas-fake.svc/v2"
	imageRepo        = "atlas.test/atlas-issuer"
)

// stack is what the scenarios share once installed.
type stack struct {
	c     client.Client
	cs    *kubernetes.Clientset
	admin *fake.AdminClient
	creds fake.Credentials
	// imageID is the image ID (digest) the manager pods of the first
	// install run, for the rollback to be checked against.
	imageID string
}

// install builds the images, starts cert-manager's controllers and the fake
// Atlas as Deployments and installs the chart with helm.
func (s *suite) install(t *testing.T) *stack {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := filepath.Join(s.dir, "build")
	e2e := filepath.Join(s.root, "test", "e2e")
	// Two manager images that differ in their version stamp: the second is
	// what helm upgrade moves to.
	stamp := "-X github.com/globalsign/atlas-issuer/internal/version.Version="
	for _, b := range []struct{ dir, pkg, name, entry, ref, ldflags string }{
		{s.root, ".", "manager", "/manager", imageRepo + ":dev", stamp + "cluster-test"},
		{s.root, ".", "manager-2", "/manager", imageRepo + ":dev2", stamp + "cluster-test-2"},
		{s.root, "./hack/fake-atlas", "fake-atlas", "/fake-atlas", "atlas.test/fake-atlas:dev", ""},
		{e2e, "./cmd/cm-controllers", "cm-controllers", "/cm-controllers", "atlas.test/cm-controllers:dev", ""},
		{e2e, "./cmd/scrape", "scrape", "/scrape", "atlas.test/scrape:dev", ""},
	} {
		out := filepath.Join(build, b.name)
		cmd := exec.CommandContext(ctx, "go", "build", "-C", b.dir, "-trimpath", "-ldflags", "-s -w "+b.ldflags, "-o", out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, o)
		}
		if o, err := s.cluster("image", b.ref, b.entry, out); err != nil {
			t.Fatalf("image %s: %v\n%s", b.ref, err, o)
		}
	}

	crds, err := framework.CertManagerCRDs(s.root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.kubectl(ctx, nil, "apply", "--server-side", "-f", crds); err != nil {
		t.Fatal(err)
	}
	if _, err := s.kubectl(ctx, []byte(supportManifests), "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{cmNamespace + "/cm-controllers", fakeNamespace + "/fake-atlas"} {
		ns, name, _ := strings.Cut(d, "/")
		if _, err := s.kubectl(ctx, nil, "-n", ns, "rollout", "status", "deploy/"+name, "--timeout=120s"); err != nil {
			t.Fatal(err)
		}
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(s.dir, "admin.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	// The suite lists and reads hundreds of objects at a time; client-go's
	// default of 5 requests a second would make that minutes.
	cfg.QPS, cfg.Burst = 200, 400
	st := &stack{}
	if st.c, err = client.New(cfg, client.Options{Scheme: framework.Scheme()}); err != nil {
		t.Fatal(err)
	}
	if st.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{}
	if err := st.c.Get(ctx, client.ObjectKey{Namespace: fakeNamespace, Name: "fake-atlas"}, svc); err != nil {
		t.Fatal(err)
	}
	st.admin = &fake.AdminClient{URL: "http://" + svc.Spec.ClusterIP + ":8080"}
	// kube-proxy programs the Service a moment after the pod is Ready.
	eventually(t, 30*time.Second, "the fake's credentials through its Service", func() error {
		var err error
		st.creds, err = st.admin.Credentials(ctx)
		return err
	})

	if err := s.helm(ctx, "install", release, filepath.Join(s.root, "charts", "atlas-issuer"),
		"--namespace", releaseNamespace, "--wait", "--timeout", "3m",
		"--set", "replicaCount=2", "--set", "image.repository="+imageRepo, "--set", "image.tag=dev",
		"--set", "image.pullPolicy=Never", "--set", "allowedAtlasURLs={"+fakeURL+"}",
		// The secure metrics endpoint admits this ServiceAccount
		// (scenarioObservability).
		"--set", "metrics.readers[0].kind=ServiceAccount", "--set", "metrics.readers[0].name="+metricsReader,
		"--set", "metrics.readers[0].namespace="+testNamespace,
		// A request whose intent a killed leader wrote but whose POST never
		// reached the fake is submitted anew only after the lookup grace
		// (scenarioCrashFailover); the default 2 minutes would make a round
		// that cuts one last minutes. The fake lists a certificate the
		// moment it exists, so a shorter grace misses none.
		"--set-json", `extraArgs=["--lookup-grace=20s"]`); err != nil {
		t.Fatal(err)
	}
	ids, err := managerImageIDs(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for pod, id := range ids {
		if id == "" || (st.imageID != "" && id != st.imageID) {
			t.Fatalf("the manager pods of the install run different images: %v (pod %s)", ids, pod)
		}
		st.imageID = id
	}
	if len(ids) != 2 {
		t.Fatalf("%d manager pods after helm install --wait, want 2", len(ids))
	}
	return st
}

// helm runs helm against the cluster.
func (s *suite) helm(ctx context.Context, args ...string) error {
	_, err := s.helmOutput(ctx, args...)
	return err
}

// helmOutput runs helm against the cluster and returns its stdout.
func (s *suite) helmOutput(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.root, "bin", "helm"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(s.dir, "admin.kubeconfig"),
		"HELM_CACHE_HOME="+filepath.Join(s.dir, "helm", "cache"), "HELM_CONFIG_HOME="+filepath.Join(s.dir, "helm", "config"),
		"HELM_DATA_HOME="+filepath.Join(s.dir, "helm", "data"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out), nil
}

// credentialsSecret is the fake's credentials as a user's issuer Secret.
func (st *stack) credentialsSecret(namespace, name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Data: map[string][]byte{
		credentials.KeyAPIKey: []byte(st.creds.APIKey), credentials.KeyAPISecret: []byte(st.creds.APISecret),
		credentials.KeyCertificate: st.creds.CertPEM, credentials.KeyPrivateKey: st.creds.KeyPEM,
	}}
}

func (st *stack) spec(secret string) v1alpha1.AtlasIssuerSpec {
	return v1alpha1.AtlasIssuerSpec{URL: fakeURL, AuthSecretName: secret, CABundle: st.creds.ServerCAPEM}
}

// eventually retries f every 250 ms until it succeeds or d passes.
func eventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, d, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func readyCondition(conds []metav1.Condition) error {
	c := apimeta.FindStatusCondition(conds, "Ready")
	if c == nil || c.Status != metav1.ConditionTrue {
		return fmt.Errorf("not Ready: %+v", c)
	}
	return nil
}

// scenarioIssuance: an AtlasIssuer and an AtlasClusterIssuer become Ready, a
// Certificate gets the chain in tls.crt and the root in ca.crt, and a
// Kubernetes CSR is signed through the cluster issuer.
func (s *suite) scenarioIssuance(st *stack) func(*testing.T) {
	return func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		for _, o := range []client.Object{
			st.credentialsSecret(testNamespace, "atlas-credentials"),
			st.credentialsSecret(releaseNamespace, "atlas-credentials"),
			&v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: "atlas"}, Spec: st.spec("atlas-credentials")},
			&v1alpha1.AtlasClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "atlas"}, Spec: st.spec("atlas-credentials")},
		} {
			if err := st.c.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, time.Minute, "AtlasIssuer Ready", func() error {
			iss := &v1alpha1.AtlasIssuer{}
			if err := st.c.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: "atlas"}, iss); err != nil {
				return err
			}
			return readyCondition(iss.Status.Conditions)
		})
		eventually(t, time.Minute, "AtlasClusterIssuer Ready", func() error {
			iss := &v1alpha1.AtlasClusterIssuer{}
			if err := st.c.Get(ctx, client.ObjectKey{Name: "atlas"}, iss); err != nil {
				return err
			}
			return readyCondition(iss.Status.Conditions)
		})

		crt := framework.Certificate(testNamespace, "web", "AtlasIssuer", "atlas", "web.example.com")
		if err := st.c.Create(ctx, crt); err != nil {
			t.Fatal(err)
		}
		secret := waitSecret(t, ctx, st, testNamespace, "web-tls")
		// The chain verifies by signature up to the root in ca.crt, which
		// must be that root alone, and tls.key is the leaf's key.
		if err := verifyIssued(crt, secret); err != nil {
			t.Fatalf("web-tls: %v", err)
		}
		roots, err := framework.ParseCerts(secret.Data["ca.crt"])
		if err != nil || len(roots) != 1 || !roots[0].IsCA {
			t.Fatalf("ca.crt is not one root certificate (%d certificates, %v)", len(roots), err)
		}

		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			Subject: pkix.Name{CommonName: "kube.example.com"}, DNSNames: []string{"kube.example.com"}}, key)
		if err != nil {
			t.Fatal(err)
		}
		csr := &certificatesv1.CertificateSigningRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "cluster-kube-csr"},
			Spec: certificatesv1.CertificateSigningRequestSpec{
				Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
				SignerName: "atlasclusterissuers.hvca.globalsign.com/atlas",
				Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth},
			},
		}
		if err := st.c.Create(ctx, csr); err != nil {
			t.Fatal(err)
		}
		csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
			Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "ClusterSuite", Message: "approved by the cluster suite"})
		if _, err := st.cs.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, "CSR signed", func() error {
			got, err := st.cs.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if len(got.Status.Certificate) == 0 {
				return fmt.Errorf("no certificate yet")
			}
			// The CSR's chain verifies up to the root the Certificate's
			// Secret carries.
			return verifyChain(got.Status.Certificate, roots, "kube.example.com")
		})
	}
}

// scenarioIngress: an Ingress annotated for our issuer kind gets its TLS
// Secret through cert-manager's ingress-shim.
func (s *suite) scenarioIngress(st *stack) func(*testing.T) {
	return func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		prefix := networkingv1.PathTypePrefix
		ing := &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: "shop", Annotations: map[string]string{
				"cert-manager.io/issuer":       "atlas",
				"cert-manager.io/issuer-kind":  "AtlasIssuer",
				"cert-manager.io/issuer-group": v1alpha1.GroupVersion.Group,
			}},
			Spec: networkingv1.IngressSpec{
				TLS: []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}},
				Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
					HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "shop", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}},
				}}},
			},
		}
		if err := st.c.Create(ctx, ing); err != nil {
			t.Fatal(err)
		}
		secret := waitSecret(t, ctx, st, testNamespace, "shop-tls")
		if _, err := framework.VerifySecret(secret, "shop.example.com"); err != nil {
			t.Fatalf("shop-tls: %v", err)
		}
	}
}

// scenarioUninstall: helm uninstall removes everything of the release but
// the CRDs.
func (s *suite) scenarioUninstall(st *stack) func(*testing.T) {
	return func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s.saveManagerLogs(ctx, t, st, "before-uninstall")
		manifest, err := s.helmOutput(ctx, "get", "manifest", release, "--namespace", releaseNamespace)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.helm(ctx, "uninstall", release, "--namespace", releaseNamespace, "--wait", "--timeout", "90s"); err != nil {
			t.Fatal(err)
		}
		// Every object the release made, and every pod of it, is gone but
		// the CRDs (the chart keeps them); pods take their grace period.
		eventually(t, 90*time.Second, "everything of the release gone", func() error {
			out, err := s.kubectl(ctx, []byte(manifest), "-n", releaseNamespace, "get", "-f", "-", "--ignore-not-found", "-o", "name")
			if err != nil {
				return err
			}
			var left []string
			for n := range strings.FieldsSeq(out) {
				if !strings.HasPrefix(n, "customresourcedefinition.apiextensions.k8s.io/") {
					left = append(left, n)
				}
			}
			pods, err := s.kubectl(ctx, nil, "get", "pods", "-A", "-l", "app.kubernetes.io/instance="+release, "-o", "name")
			if err != nil {
				return err
			}
			left = append(left, strings.Fields(pods)...)
			if len(left) > 0 {
				return fmt.Errorf("left after helm uninstall: %v", left)
			}
			return nil
		})
		for _, crd := range []string{"atlasissuers.hvca.globalsign.com", "atlasclusterissuers.hvca.globalsign.com"} {
			if _, err := s.kubectl(ctx, nil, "get", "crd", crd); err != nil {
				t.Errorf("the CRD %s went with the release: %v", crd, err)
			}
		}
	}
}

// verifyChain verifies by signature the leaf of a PEM chain, with the
// chain's other certificates as intermediates, up to one of roots for
// dnsName.
func verifyChain(chainPEM []byte, roots []*x509.Certificate, dnsName string) error {
	chain, err := framework.ParseCerts(chainPEM)
	if err != nil {
		return err
	}
	if len(chain) == 0 {
		return fmt.Errorf("no certificate in the chain")
	}
	rootPool, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range roots {
		rootPool.AddCert(r)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err = chain[0].Verify(x509.VerifyOptions{DNSName: dnsName, Roots: rootPool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

func waitSecret(t *testing.T, ctx context.Context, st *stack, namespace, name string) *corev1.Secret {
	t.Helper()
	secret := &corev1.Secret{}
	eventually(t, time.Minute, "Secret "+name, func() error {
		if err := st.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret); err != nil {
			return err
		}
		if len(secret.Data["tls.crt"]) == 0 {
			return fmt.Errorf("no tls.crt yet")
		}
		return nil
	})
	return secret
}

// supportManifests run cert-manager's controllers and the fake Atlas as
// Deployments, and make the namespaces; the release namespace enforces the
// restricted Pod Security Standard.
const supportManifests = `
apiVersion: v1
kind: Namespace
metadata: {name: cert-manager}
---
apiVersion: v1
kind: Namespace
metadata:
  name: atlas-fake
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: v1
kind: Namespace
metadata:
  name: atlas-system
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: v1
kind: Namespace
metadata: {name: atlas-test}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: cert-manager, namespace: cert-manager}
---
# cert-manager's chart grants its controller many narrow roles; its
# controllers here run with one broad binding instead.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cert-manager-controllers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: cert-manager, namespace: cert-manager}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cm-controllers, namespace: cert-manager}
spec:
  replicas: 1
  selector: {matchLabels: {app: cm-controllers}}
  template:
    metadata: {labels: {app: cm-controllers}}
    spec:
      serviceAccountName: cert-manager
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: controllers
          image: atlas.test/cm-controllers:dev
          imagePullPolicy: Never
          args: [--cluster-resource-namespace=cert-manager]
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: fake-atlas, namespace: atlas-fake}
spec:
  replicas: 1
  selector: {matchLabels: {app: fake-atlas}}
  template:
    metadata: {labels: {app: fake-atlas}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: fake
          image: atlas.test/fake-atlas:dev
          imagePullPolicy: Never
          args: [--addr=0.0.0.0:8443, --admin-addr=0.0.0.0:8080, --credentials-dir=/work/credentials,
                 --server-name=fake-atlas.atlas-fake.svc, --server-name=fake-atlas.atlas-fake.svc.cluster.local]
          ports: [{containerPort: 8443}, {containerPort: 8080}]
          readinessProbe: {tcpSocket: {port: 8443}, periodSeconds: 1}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
          volumeMounts: [{name: work, mountPath: /work}]
      volumes: [{name: work, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: fake-atlas, namespace: atlas-fake}
spec:
  selector: {app: fake-atlas}
  ports:
    - {name: https, port: 443, targetPort: 8443}
    - {name: admin, port: 8080, targetPort: 8080}
`
