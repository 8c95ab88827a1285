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

package chart

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/credentials"
)

// TestManagerIssuesUnderChartRBAC runs the real manager binary, with the
// arguments of the chart's Deployment, as the chart's ServiceAccount (by
// impersonation), and issues a certificate end to end. It proves the
// chart's RBAC is enough, in the default and the least-privilege mode, and
// that an issuer whose Secret lies outside the allowed namespaces is told
// so instead of failing with a raw Forbidden.
func TestManagerIssuesUnderChartRBAC(t *testing.T) {
	admin := cluster(t)
	manager := filepath.Join(t.TempDir(), "manager")
	build := exec.Command("go", "build", "-o", manager, ".")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build manager: %v\n%s", err, out)
	}
	srv, err := fake.Start(fake.Options{Policy: fake.DefaultECDSAPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	for _, mode := range []struct {
		name      string
		helmArgs  []string
		denied    string // a namespace whose Secrets the manager must not read
		allowedNS string
	}{
		{name: "cluster-wide", allowedNS: "mgr-team-a"},
		{name: "least-privilege", helmArgs: []string{"--set", "secrets.namespaces={mgr-team-b}"}, allowedNS: "mgr-team-b", denied: "mgr-team-c"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			ns := "mgr-" + mode.name
			// The chart's per-namespace Secret Roles need their namespaces.
			ensureNamespaces(t, newClient(t, admin), mode.allowedNS)
			identity := installChart(t, admin, "mgr-"+mode.name, ns, mode.helmArgs...)
			args := deploymentArgs(t, "mgr-"+mode.name, ns, mode.helmArgs...)
			kubeconfig := writeKubeconfig(t, identity)
			// Later flags win: no ports, since several managers may run.
			// The fake Atlas listens on the loopback address, which the
			// chart's default allowlist rightly refuses.
			args = append(args, "--kubeconfig", kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0", "--allowed-atlas-urls=127.0.0.1")
			cmd := exec.Command(manager, args...)
			cmd.Env = append(os.Environ(), "POD_NAMESPACE="+ns)
			logPath := filepath.Join(t.TempDir(), "manager.log")
			logFile, err := os.Create(logPath)
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = logFile, logFile
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				if t.Failed() {
					b, _ := os.ReadFile(logPath)
					t.Logf("manager log:\n%s", b)
				}
			}()

			c := newClient(t, admin)
			cr := issueThrough(t, c, srv, mode.allowedNS, "www."+mode.allowedNS+".example.com")
			if len(cr.Status.Certificate) == 0 {
				t.Fatal("no certificate")
			}
			if mode.denied != "" {
				ensureNamespaces(t, c, mode.denied)
				createIssuer(t, c, srv, mode.denied)
				waitIssuer(t, c, mode.denied, func(cond metav1.Condition) bool {
					return cond.Status == metav1.ConditionFalse && strings.Contains(cond.Message, credentials.ReasonSecretNotAllowed)
				})
			}
		})
	}
}

// deploymentArgs are the manager's arguments in the chart's Deployment.
func deploymentArgs(t *testing.T, release, namespace string, helmArgs ...string) []string {
	t.Helper()
	deps := ofKind(render(t, release, namespace, helmArgs...), "Deployment")
	if len(deps) != 1 {
		t.Fatalf("rendered %d Deployments", len(deps))
	}
	containers, _, _ := unstructuredSlice(deps[0].Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		t.Fatal("Deployment without containers")
	}
	raw, _ := containers[0].(map[string]any)["args"].([]any)
	var args []string
	for _, a := range raw {
		args = append(args, a.(string))
	}
	if len(args) == 0 {
		t.Fatal("the chart passes the manager no arguments")
	}
	return args
}

func unstructuredSlice(obj map[string]any, path ...string) ([]any, bool, error) {
	cur := any(obj)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[p]
	}
	s, ok := cur.([]any)
	return s, ok, nil
}

// writeKubeconfig turns an impersonating rest.Config into a kubeconfig the
// manager binary can load.
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["chart-sa"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken,
		Impersonate: cfg.Impersonate.UserName,
	}
	kc.Contexts["chart-sa"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "chart-sa"}
	kc.CurrentContext = "chart-sa"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func createIssuer(t *testing.T, c client.Client, srv *fake.Server, ns string) {
	t.Helper()
	ctx := context.Background()
	creds := srv.Credentials()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atlas-credentials"}, Data: map[string][]byte{
		credentials.KeyAPIKey: []byte(creds.APIKey), credentials.KeyAPISecret: []byte(creds.APISecret),
		credentials.KeyCertificate: creds.CertPEM, credentials.KeyPrivateKey: creds.KeyPEM,
	}}
	if err := c.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	iss := &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atlas"},
		Spec: v1alpha1.AtlasIssuerSpec{URL: srv.URL(), AuthSecretName: sec.Name, CABundle: creds.ServerCAPEM}}
	if err := c.Create(ctx, iss); err != nil {
		t.Fatal(err)
	}
}

func waitIssuer(t *testing.T, c client.Client, ns string, ok func(metav1.Condition) bool) {
	t.Helper()
	var last metav1.Condition
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		var iss v1alpha1.AtlasIssuer
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "atlas"}, &iss); err != nil {
			return false, nil
		}
		for _, cond := range iss.Status.Conditions {
			if cond.Type == "Ready" {
				last = cond
				return ok(cond), nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("issuer %s/atlas: last Ready condition %+v", ns, last)
	}
}

// issueThrough creates an issuer in ns and an approved CertificateRequest
// for it, and waits until the manager has signed it.
func issueThrough(t *testing.T, c client.Client, srv *fake.Server, ns, dnsName string) *cmapi.CertificateRequest {
	t.Helper()
	ctx := context.Background()
	ensureNamespaces(t, c, ns)
	createIssuer(t, c, srv, ns)
	waitIssuer(t, c, ns, func(cond metav1.Condition) bool { return cond.Status == metav1.ConditionTrue })

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: dnsName}, DNSNames: []string{dnsName}}, key)
	if err != nil {
		t.Fatal(err)
	}
	cr := &cmapi.CertificateRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "www"},
		Spec: cmapi.CertificateRequestSpec{
			Request:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "AtlasIssuer", Name: "atlas"},
			Duration:  &metav1.Duration{Duration: 24 * time.Hour},
			Usages:    []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageServerAuth},
		},
	}
	if err := c.Create(ctx, cr); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	cr.Status.Conditions = []cmapi.CertificateRequestCondition{{
		Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue,
		Reason: "chart-test", Message: "approved by the chart test", LastTransitionTime: &now,
	}}
	if err := c.Status().Update(ctx, cr); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cr), cr); err != nil {
			return false, nil
		}
		for _, cond := range cr.Status.Conditions {
			if cond.Type == cmapi.CertificateRequestConditionReady && cond.Status == cmmeta.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("request not signed: %+v", cr.Status.Conditions)
	}
	return cr
}
