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

// Package plugin_test runs kubectl-atlas in-process against the fake Atlas
// and an envtest API server that holds the issuers and their Secrets, the
// way a user's kubectl would find them.
package plugin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/youmark/pkcs8"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/plugin"
)

// The fixture: namespace ns holds the AtlasIssuer "atlas" with working
// credentials and three issuers broken in the ways users break them; the
// namespace the plugin assumes for cluster-issuer Secrets holds those of
// the AtlasClusterIssuer "atlas-cluster".
const (
	ns              = "team-a"
	issuer          = "atlas"
	clusterIssuer   = "atlas-cluster"
	wrongSecret     = "wrong-secret"
	wrongPassword   = "wrong-password"
	missingSecret   = "missing-secret"
	credentialsName = "atlas-credentials"
)

var (
	kubeconfig string
	atlasSrv   *fake.Server
	creds      fake.Credentials
	kube       client.Client
	// direct talks to the fake without the plugin, to seed certificates and
	// to check what the plugin did.
	direct *atlas.Client
	// clockOffset moves the fake's clock, for claims whose deadline passed.
	clockOffset atomic.Int64
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/plugin:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// offsetClock is the real time moved by clockOffset.
type offsetClock struct{}

func (offsetClock) Now() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) }

func (c offsetClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func setup(m *testing.M) (int, error) {
	ctrllog.SetLogger(logr.Discard())
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		// Lets `go test ./test/plugin` work without make.
		assets, err := filepath.Abs(filepath.Join("..", "..", "bin", "k8s"))
		if err != nil {
			return 0, err
		}
		_ = os.Setenv("KUBEBUILDER_ASSETS", assets)
	}

	var err error
	atlasSrv, err = fake.Start(fake.Options{Clock: offsetClock{}})
	if err != nil {
		return 0, err
	}
	defer atlasSrv.Close()
	creds = atlasSrv.Credentials()

	certificates, err := certManagerCRD("cert-manager.io_certificates.yaml")
	if err != nil {
		return 0, err
	}
	env := &envtest.Environment{
		// The earlier issuer's kinds and cert-manager's Certificate are
		// what kubectl atlas migrate reads and rewrites.
		CRDDirectoryPaths: []string{
			filepath.Join("..", "..", "config", "crd", "bases"),
			filepath.Join("testdata", "earlier-issuer"),
			certificates,
		},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return 0, fmt.Errorf("envtest (KUBEBUILDER_ASSETS=%s; `make envtest` builds it): %w", os.Getenv("KUBEBUILDER_ASSETS"), err)
	}
	defer func() { _ = env.Stop() }()

	user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return 0, err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "kubectl-atlas-test")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return 0, err
	}

	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return 0, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return 0, err
	}
	if err := networkingv1.AddToScheme(scheme); err != nil {
		return 0, err
	}
	if err := appsv1.AddToScheme(scheme); err != nil {
		return 0, err
	}
	if kube, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return 0, err
	}
	if err := seed(context.Background()); err != nil {
		return 0, fmt.Errorf("seeding the cluster: %w", err)
	}

	atlasCfg, err := atlasSrv.ClientConfig()
	if err != nil {
		return 0, err
	}
	direct, err = atlas.New(atlasCfg)
	if err != nil {
		return 0, err
	}
	return m.Run(), nil
}

func seed(ctx context.Context) error {
	spec := func(secret string) v1alpha1.AtlasIssuerSpec {
		return v1alpha1.AtlasIssuerSpec{URL: atlasSrv.URL(), AuthSecretName: secret, CABundle: creds.ServerCAPEM}
	}
	secret := func(namespace, name string, data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Data: data}
	}
	good := map[string][]byte{
		"apiKey": []byte(creds.APIKey), "apiSecret": []byte(creds.APISecret),
		"tls.crt": creds.CertPEM, "tls.key": creds.KeyPEM,
	}
	bad := map[string][]byte{}
	maps.Copy(bad, good)
	bad["apiSecret"] = []byte("0000000000000000000000000000000000000000")

	encrypted, err := encryptKey(creds.KeyPEM, "right")
	if err != nil {
		return err
	}
	locked := map[string][]byte{
		"apiKey": []byte(creds.APIKey), "apiSecret": []byte(creds.APISecret),
		"tls.crt": creds.CertPEM, "tls.key": encrypted, "tls.key.password": []byte("wrong"),
	}

	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: plugin.DefaultClusterResourceNamespace}},
		secret(ns, credentialsName, good),
		secret(ns, "bad-credentials", bad),
		secret(ns, "locked-credentials", locked),
		secret(plugin.DefaultClusterResourceNamespace, credentialsName, good),
		&v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: issuer}, Spec: spec(credentialsName)},
		&v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: wrongSecret}, Spec: spec("bad-credentials")},
		&v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: wrongPassword}, Spec: spec("locked-credentials")},
		&v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: missingSecret}, Spec: spec("does-not-exist")},
		&v1alpha1.AtlasClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: clusterIssuer}, Spec: spec(credentialsName)},
	}
	for _, o := range objs {
		if err := kube.Create(ctx, o); err != nil {
			return fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

// certManagerCRD is the path of one of cert-manager's CRDs in the module
// this module requires, so the CRD matches the API the code is built
// against.
func certManagerCRD(file string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	if err != nil {
		return "", fmt.Errorf("locating the cert-manager module: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds", file), nil
}

// encryptKey re-encrypts a PKCS#8 PEM key with a password (PBES2), as a
// user's `openssl pkcs8 -topk8 -v2 aes256` would.
func encryptKey(keyPEM []byte, password string) ([]byte, error) {
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, fmt.Errorf("no PEM key")
	}
	key, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	der, err := pkcs8.MarshalPrivateKey(key, []byte(password), nil)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}), nil
}

// result is one run of the plugin.
type result struct {
	out, errOut string
	err         error
}

// run executes kubectl-atlas in-process with stdin and args, and checks that
// nothing it printed or returned carries a credential.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := plugin.NewCommand(genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	cmd.SetArgs(append([]string{"--kubeconfig", kubeconfig}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	r := result{out: out.String(), errOut: errOut.String(), err: err}
	all := r.out + r.errOut
	if err != nil {
		all += err.Error()
	}
	for name, secret := range map[string]string{
		"API key": creds.APIKey, "API secret": creds.APISecret, "private key": "PRIVATE KEY",
	} {
		if strings.Contains(all, secret) {
			t.Fatalf("kubectl atlas %s printed the %s:\n%s", strings.Join(args, " "), name, all)
		}
	}
	return r
}

// ok runs the plugin with the working issuer and fails the test on error.
func ok(t *testing.T, args ...string) result {
	t.Helper()
	r := run(t, "", append(args, "--issuer", issuer, "-n", ns)...)
	if r.err != nil {
		t.Fatalf("kubectl atlas %s: %v\nstderr:\n%s", strings.Join(args, " "), r.err, r.errOut)
	}
	return r
}

// issued is a certificate the fake issued, with its key.
type issued struct {
	serial  string
	certPEM []byte
	keyPEM  []byte
	cn      string
}

// issue has the fake issue a certificate for cn, as the controller would.
func issue(t *testing.T, cn string) issued {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ctx := context.Background()
	serial, err := direct.RequestCertificate(ctx, &atlas.CertificateRequest{
		Validity:  atlas.Validity{NotBefore: now.Unix(), NotAfter: now.Add(90 * 24 * time.Hour).Unix()},
		SubjectDN: atlas.SubjectDN{CommonName: cn},
		SAN:       &atlas.SAN{DNSNames: []string{cn}},
		PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})),
	})
	if err != nil {
		t.Fatalf("issuing %s: %v", cn, err)
	}
	info, err := direct.RetrieveCertificate(ctx, serial)
	if err != nil || info.Status != atlas.StatusIssued {
		t.Fatalf("retrieving %s: %+v, %v", serial, info, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return issued{serial: serial, certPEM: []byte(info.Certificate), keyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), cn: cn}
}

// status is what the fake says about a certificate now.
func status(t *testing.T, serial string) atlas.CertificateStatus {
	t.Helper()
	info, err := direct.RetrieveCertificate(context.Background(), serial)
	if err != nil {
		t.Fatalf("retrieving %s: %v", serial, err)
	}
	return info.Status
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

func mustNotContain(t *testing.T, what, got string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			t.Errorf("%s contains %q:\n%s", what, u, got)
		}
	}
}
