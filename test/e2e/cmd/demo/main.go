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

// Command demo is `make demo`: it builds what it needs, starts a local
// control plane, cert-manager's own controllers, the fake Atlas and the
// atlas-issuer manager, applies the sample Secret, AtlasIssuer and
// Certificate from config/samples, waits for the certificate and shows it.
// DEMO_KEEP=1 keeps everything running for exploration with bin/kubectl.
package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

const namespace = "demo"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("==> "+format+"\n", args...)
}

func run(ctx context.Context) error {
	start := time.Now()
	root, err := framework.RepoRoot()
	if err != nil {
		return err
	}
	work := filepath.Join(root, "bin", "demo")
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	// The samples ask for an ECDSA key, so the fake's account takes ECDSA.
	env, err := framework.Setup(ctx, framework.Options{WorkDir: work, FakeArgs: []string{"--ecdsa"}, Logf: step})
	if err != nil {
		return err
	}
	defer func() {
		step("stopping")
		env.Teardown()
	}()
	step("fake Atlas at %s; logs in %s", env.FakeURL, work)

	kubectl := func(stdin string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), append([]string{"--kubeconfig", env.Kubeconfig}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}

	if _, err := kubectl("", "create", "namespace", namespace); err != nil {
		return err
	}
	samples := filepath.Join(root, "config", "samples")
	secretYAML, err := fillSecret(filepath.Join(samples, "atlas_credentials_secret.yaml"), env)
	if err != nil {
		return err
	}
	issuerYAML, err := pointIssuer(filepath.Join(samples, "hvca_v1alpha1_atlasissuer.yaml"), env)
	if err != nil {
		return err
	}
	certYAML, err := os.ReadFile(filepath.Join(samples, "cert-manager_v1_certificate.yaml"))
	if err != nil {
		return err
	}
	for _, o := range []struct{ what, yaml string }{
		{"the sample Secret, filled with the fake's credentials", secretYAML},
		{"the sample AtlasIssuer, pointed at the fake", issuerYAML},
		{"the sample Certificate", string(certYAML)},
	} {
		step("applying %s", o.what)
		out, err := kubectl(o.yaml, "apply", "-n", namespace, "-f", "-")
		if err != nil {
			return err
		}
		fmt.Print("    ", out)
	}

	var cert cmapi.Certificate
	if err := yaml.Unmarshal(certYAML, &cert); err != nil {
		return err
	}
	step("waiting for Certificate %s to be Ready", cert.Name)
	deadline := time.Now().Add(3 * time.Minute)
	last := ""
	for {
		got := &cmapi.Certificate{}
		if err := env.Get(ctx, namespace, cert.Name, got); err == nil {
			if framework.IsReady(got) {
				break
			}
			if msg := progress(ctx, env, got); msg != last {
				fmt.Println("    " + msg)
				last = msg
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("certificate not Ready after 3 minutes; see the logs in %s", work)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}

	step("issued; kubectl get atlasissuers,certificates,certificaterequests -n %s -o wide", namespace)
	out, err := kubectl("", "get", "atlasissuers,certificates,certificaterequests", "-n", namespace, "-o", "wide")
	if err != nil {
		return err
	}
	fmt.Print(out)

	sec := &corev1.Secret{}
	if err := env.Get(ctx, namespace, cert.Spec.SecretName, sec); err != nil {
		return err
	}
	chain, err := framework.ParseCerts(sec.Data[corev1.TLSCertKey])
	if err != nil {
		return err
	}
	roots, err := framework.ParseCerts(sec.Data["ca.crt"])
	if err != nil {
		return err
	}
	leaf := chain[0]
	step("the certificate in Secret %s/%s", namespace, cert.Spec.SecretName)
	fmt.Printf("    subject:   %s\n", leaf.Subject)
	fmt.Printf("    SANs:      %s\n", strings.Join(leaf.DNSNames, ", "))
	fmt.Printf("    issuer:    %s\n", leaf.Issuer)
	fmt.Printf("    validity:  %s to %s (%s)\n", leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), leaf.NotAfter.Sub(leaf.NotBefore))
	fmt.Printf("    serial:    %X\n", leaf.SerialNumber.Bytes())
	fmt.Printf("    key:       %s\n", leaf.PublicKeyAlgorithm)
	fmt.Printf("    chain:     tls.crt holds %d certificates (leaf, then %s); ca.crt holds %s\n", len(chain), subjects(chain[1:]), subjects(roots))
	fmt.Printf("\n%s\n", sec.Data[corev1.TLSCertKey])

	if os.Getenv("DEMO_KEEP") == "1" {
		step("everything keeps running (DEMO_KEEP=1); explore with:")
		fmt.Printf("    export KUBECONFIG=%s\n    %s get atlasissuers,certificates -A\n", env.Kubeconfig, filepath.Join(root, "bin", "kubectl"))
		fmt.Println("    press Ctrl-C to stop")
		<-ctx.Done()
		return nil
	}
	step("done in %s", time.Since(start).Round(time.Second))
	return nil
}

func subjects(certs []*x509.Certificate) string {
	var s []string
	for _, c := range certs {
		s = append(s, c.Subject.CommonName)
	}
	return strings.Join(s, ", ")
}

// progress says what the Certificate is waiting for, in one line.
func progress(ctx context.Context, env *framework.Env, crt *cmapi.Certificate) string {
	iss := &v1alpha1.AtlasIssuer{}
	if err := env.Get(ctx, namespace, crt.Spec.IssuerRef.Name, iss); err == nil && !framework.IssuerReady(iss.Status.Conditions) {
		for _, c := range iss.Status.Conditions {
			if c.Type == "Ready" {
				return "issuer: " + c.Reason + ": " + c.Message
			}
		}
		return "issuer: not checked yet"
	}
	for _, c := range crt.Status.Conditions {
		if c.Type == cmapi.CertificateConditionIssuing {
			return "certificate: " + c.Message
		}
	}
	return "certificate: waiting for cert-manager"
}

// fillSecret fills the sample Secret with the fake's credentials, as a
// user fills it with the files Atlas gave them.
func fillSecret(path string, env *framework.Env) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var sample corev1.Secret
	if err := yaml.Unmarshal(b, &sample); err != nil {
		return "", err
	}
	creds, err := env.CredentialsSecret(namespace, sample.Name)
	if err != nil {
		return "", err
	}
	sample.StringData = nil
	sample.Data = creds.Data
	out, err := yaml.Marshal(&sample)
	return string(out), err
}

// pointIssuer points the sample AtlasIssuer at the fake.
func pointIssuer(path string, env *framework.Env) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var iss v1alpha1.AtlasIssuer
	if err := yaml.Unmarshal(b, &iss); err != nil {
		return "", err
	}
	ca, err := env.CABundle()
	if err != nil {
		return "", err
	}
	iss.Spec.URL = env.FakeURL
	iss.Spec.CABundle = ca
	iss.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AtlasIssuer"}
	out, err := yaml.Marshal(&iss)
	return string(out), err
}
