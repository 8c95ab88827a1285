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

package framework

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/credentials"
)

// ClusterResourceNamespace is where AtlasClusterIssuer Secrets live in the
// end-to-end setup, as the Helm chart's release namespace would be.
const ClusterResourceNamespace = "atlas-system"

// Options configure an end-to-end environment.
type Options struct {
	// WorkDir holds logs, the kubeconfig and the fake's credentials.
	WorkDir string
	// ManagerArgs are added to the manager's flags.
	ManagerArgs []string
	// FakeArgs are added to fake-atlas's flags.
	FakeArgs []string
	// Logf reports progress; nil is silent.
	Logf func(format string, args ...any)
}

// Env is a running end-to-end environment.
type Env struct {
	Root, BinDir, WorkDir string
	Kubeconfig            string
	RESTConfig            *rest.Config
	Client                client.Client
	FakeURL               string
	Admin                 *fake.AdminClient
	CredentialsDir        string

	opts     Options
	testEnv  *envtest.Environment
	fake     *Process
	cm       *Process
	manager  *Process
	managers int
	// restartedCP are the control-plane processes the harness started
	// again after StopComponent, and restarts counts those starts.
	restartedCP map[Component]*Process
	restarts    int
}

func (e *Env) logf(format string, args ...any) {
	if e.opts.Logf != nil {
		e.opts.Logf(format, args...)
	}
}

// Scheme knows the kinds the tests touch.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = cmapi.AddToScheme(s)
	_ = v1alpha1.AddToScheme(s)
	return s
}

// BuildBinaries builds the manager and fake-atlas from the main module and
// cm-controllers from this one into bin/e2e.
func BuildBinaries(ctx context.Context, root string, logf func(string, ...any)) (string, error) {
	binDir := filepath.Join(root, "bin", "e2e")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", err
	}
	for _, b := range []struct{ dir, pkg, out, what string }{
		{root, ".", "manager", "the atlas-issuer manager"},
		{root, "./hack/fake-atlas", "fake-atlas", "the fake Atlas"},
		{filepath.Join(root, "test", "e2e"), "./cmd/cm-controllers", "cm-controllers", "cert-manager's controllers (first time: about a minute)"},
	} {
		if logf != nil {
			logf("building %s", b.what)
		}
		if err := Build(ctx, b.dir, b.pkg, filepath.Join(binDir, b.out)); err != nil {
			return "", err
		}
	}
	return binDir, nil
}

// CertManagerCRDs is the directory of cert-manager's CRDs in the module
// cache.
func CertManagerCRDs(root string) (string, error) {
	if d := os.Getenv("CERT_MANAGER_CRDS"); d != "" {
		return d, nil
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locate cert-manager module: %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds"), nil
}

// Setup builds everything and starts the control plane, cert-manager's
// controllers, the fake Atlas and the manager.
func Setup(ctx context.Context, opts Options) (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	if opts.WorkDir == "" {
		if opts.WorkDir, err = os.MkdirTemp("", "atlas-e2e-"); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return nil, err
	}
	e := &Env{Root: root, WorkDir: opts.WorkDir, opts: opts}
	if e.BinDir, err = BuildBinaries(ctx, root, opts.Logf); err != nil {
		return nil, err
	}
	cmCRDs, err := CertManagerCRDs(root)
	if err != nil {
		return nil, err
	}

	e.logf("starting the control plane (kube-apiserver and etcd)")
	e.testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases"), cmCRDs},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: filepath.Join(root, "bin", "k8s"),
	}
	if _, err := e.testEnv.Start(); err != nil {
		return nil, fmt.Errorf("start envtest (run `make envtest` first): %w", err)
	}
	user, err := e.testEnv.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		e.Teardown()
		return nil, err
	}
	e.RESTConfig = user.Config()
	e.RESTConfig.QPS, e.RESTConfig.Burst = 500, 1000
	kc, err := user.KubeConfig()
	if err != nil {
		e.Teardown()
		return nil, err
	}
	e.Kubeconfig = filepath.Join(opts.WorkDir, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, kc, 0o600); err != nil {
		e.Teardown()
		return nil, err
	}
	if e.Client, err = client.New(e.RESTConfig, client.Options{Scheme: Scheme()}); err != nil {
		e.Teardown()
		return nil, err
	}
	if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ClusterResourceNamespace}}); err != nil {
		e.Teardown()
		return nil, err
	}

	if err := e.StartFake(); err != nil {
		e.Teardown()
		return nil, err
	}

	e.logf("starting cert-manager's controllers")
	if e.cm, err = Start(opts.WorkDir, "cm-controllers", filepath.Join(e.BinDir, "cm-controllers"),
		[]string{"--kubeconfig", e.Kubeconfig, "--cluster-resource-namespace", "cert-manager", "-v=1"}, nil, nil); err != nil {
		e.Teardown()
		return nil, err
	}
	if err := e.StartManager(); err != nil {
		e.Teardown()
		return nil, err
	}
	return e, nil
}

// StartFake starts the fake Atlas; it keeps its state until StopFake.
func (e *Env) StartFake(extra ...string) error {
	e.logf("starting the fake Atlas")
	e.CredentialsDir = filepath.Join(e.WorkDir, "atlas-credentials")
	args := append(append([]string{}, e.opts.FakeArgs...), extra...)
	f, err := e.startFakeProcess("fake-atlas", e.CredentialsDir, args)
	if err != nil {
		return err
	}
	e.fake, e.FakeURL, e.Admin = f.Process, f.URL, f.Admin
	return nil
}

// startFakeProcess runs bin/e2e/fake-atlas writing its credentials to
// credDir, and reads the addresses it prints.
func (e *Env) startFakeProcess(name, credDir string, args []string) (*Fake, error) {
	args = append([]string{"--credentials-dir", credDir}, args...)
	var line string
	p, err := Start(e.WorkDir, name, filepath.Join(e.BinDir, "fake-atlas"), args, nil, &line)
	if err != nil {
		return nil, err
	}
	f := &Fake{Process: p, CredentialsDir: credDir}
	for field := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(field, "url="); ok {
			f.URL = v
		}
		if v, ok := strings.CutPrefix(field, "admin="); ok {
			f.Admin = &fake.AdminClient{URL: v}
		}
	}
	if f.URL == "" || f.Admin == nil {
		_ = p.Stop(5 * time.Second)
		return nil, fmt.Errorf("%s printed %q", name, line)
	}
	return f, nil
}

// ManagerArgs are the flags a pod would get, for the local control plane.
func (e *Env) ManagerArgs(extra ...string) []string {
	args := []string{
		"--kubeconfig", e.Kubeconfig,
		"--cluster-resource-namespace", ClusterResourceNamespace,
		"--metrics-bind-address", "0",
		"--health-probe-bind-address", "0",
		"--zap-log-level", "info",
		// The fake Atlas listens on the loopback address.
		"--allowed-atlas-urls", "127.0.0.1,localhost",
	}
	args = append(args, e.opts.ManagerArgs...)
	return append(args, extra...)
}

// StartManager starts the manager process with ManagerArgs plus extra.
func (e *Env) StartManager(extra ...string) error {
	e.logf("starting the atlas-issuer manager")
	e.managers++
	p, err := Start(e.WorkDir, fmt.Sprintf("manager-%d", e.managers), filepath.Join(e.BinDir, "manager"),
		e.ManagerArgs(extra...), []string{"POD_NAMESPACE=" + ClusterResourceNamespace}, nil)
	if err != nil {
		return err
	}
	e.manager = p
	return nil
}

// Manager is the running manager process.
func (e *Env) Manager() *Process { return e.manager }

// Teardown stops everything it started, in reverse order.
func (e *Env) Teardown() {
	for _, p := range []*Process{e.manager, e.cm, e.fake} {
		if p != nil {
			_ = p.Stop(10 * time.Second)
		}
	}
	// envtest stops only the processes it started, and removes their
	// directories.
	for _, c := range []Component{ComponentAPIServer, ComponentEtcd} {
		if p := e.restartedCP[c]; p != nil {
			_ = p.Stop(10 * time.Second)
		}
	}
	if e.testEnv != nil {
		_ = e.testEnv.Stop()
	}
}

// CredentialsSecret is a Secret with the fake's credentials, as a user
// makes from the files of the API-credentials guide.
func (e *Env) CredentialsSecret(namespace, name string) (*corev1.Secret, error) {
	return credentialsSecret(e.CredentialsDir, namespace, name)
}

func credentialsSecret(dir, namespace, name string) (*corev1.Secret, error) {
	data := map[string][]byte{}
	for file, key := range map[string]string{
		"apiKey": credentials.KeyAPIKey, "apiSecret": credentials.KeyAPISecret,
		"tls.crt": credentials.KeyCertificate, "tls.key": credentials.KeyPrivateKey,
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, err
		}
		data[key] = b
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Data: data}, nil
}

// CABundle is the CA of the fake's server certificate, for spec.caBundle.
func (e *Env) CABundle() ([]byte, error) {
	return os.ReadFile(filepath.Join(e.CredentialsDir, "ca.crt"))
}

// IssuerSpec points an issuer at the fake.
func (e *Env) IssuerSpec(secretName string) (v1alpha1.AtlasIssuerSpec, error) {
	return issuerSpec(e.CredentialsDir, e.FakeURL, secretName)
}

func issuerSpec(credDir, url, secretName string) (v1alpha1.AtlasIssuerSpec, error) {
	ca, err := os.ReadFile(filepath.Join(credDir, "ca.crt"))
	if err != nil {
		return v1alpha1.AtlasIssuerSpec{}, err
	}
	return v1alpha1.AtlasIssuerSpec{URL: url, AuthSecretName: secretName, CABundle: ca}, nil
}
