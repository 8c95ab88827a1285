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
	"crypto/tls"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// burstSize is how many Certificates a burst creates at once.
const burstSize = 50

// burst creates n Certificates for the AtlasClusterIssuer in a new
// namespace, calling during() after the first half.
func burst(ctx context.Context, st *stack, namespace string, n int, during func() error) error {
	if err := st.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		return err
	}
	for i := range n {
		if i == n/2 && during != nil {
			if err := during(); err != nil {
				return err
			}
		}
		crt := framework.Certificate(namespace, fmt.Sprintf("c%02d", i), "AtlasClusterIssuer", "atlas", fmt.Sprintf("c%02d.%s.example.com", i, namespace))
		if err := st.c.Create(ctx, crt); err != nil {
			return err
		}
	}
	return nil
}

// readyCerts counts the Ready Certificates in namespace, waiting up to d
// for all want of them.
func readyCerts(ctx context.Context, st *stack, namespace string, want int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		list := &cmapi.CertificateList{}
		ready := 0
		if err := st.c.List(ctx, list, client.InNamespace(namespace)); err == nil {
			for _, c := range list.Items {
				for _, cond := range c.Status.Conditions {
					if cond.Type == cmapi.CertificateConditionReady && cond.Status == cmmeta.ConditionTrue {
						ready++
					}
				}
			}
		}
		if ready >= want || time.Now().After(deadline) {
			return ready
		}
		time.Sleep(time.Second)
	}
}

// leader is the pod that holds the manager's leader Lease.
func leader(ctx context.Context, st *stack) (string, error) {
	lease, err := managerLease(ctx, st)
	if err != nil {
		return "", err
	}
	pod, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
	return pod, nil
}

// verifySecrets checks every Certificate's Secret in namespace: tls.crt's
// chain verifies by signature up to the root in ca.crt for the
// Certificate's first DNS name (framework.VerifySecret), and tls.key is
// the leaf's key. It returns how many pass.
func verifySecrets(ctx context.Context, t *testing.T, st *stack, namespace string) int {
	t.Helper()
	list := &cmapi.CertificateList{}
	if err := st.c.List(ctx, list, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	ok := 0
	for i := range list.Items {
		crt := &list.Items[i]
		if err := verifyCertificateSecret(ctx, st, crt); err != nil {
			t.Errorf("Certificate %s/%s: %v", namespace, crt.Name, err)
			continue
		}
		ok++
	}
	return ok
}

// verifyCertificateSecret checks one Certificate's Secret as
// verifySecrets does.
func verifyCertificateSecret(ctx context.Context, st *stack, crt *cmapi.Certificate) error {
	sec := &corev1.Secret{}
	if err := st.c.Get(ctx, client.ObjectKey{Namespace: crt.Namespace, Name: crt.Spec.SecretName}, sec); err != nil {
		return err
	}
	return verifyIssued(crt, sec)
}

// verifyIssued checks crt's Secret sec as verifySecrets does.
func verifyIssued(crt *cmapi.Certificate, sec *corev1.Secret) error {
	if len(crt.Spec.DNSNames) == 0 {
		return fmt.Errorf("names no DNS name to verify its certificate for")
	}
	if _, err := framework.VerifySecret(sec, crt.Spec.DNSNames[0]); err != nil {
		return fmt.Errorf("Secret %s: %w", sec.Name, err)
	}
	if _, err := tls.X509KeyPair(sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey]); err != nil {
		return fmt.Errorf("Secret %s: tls.key is not the leaf's key: %w", sec.Name, err)
	}
	return nil
}

// duplicates is the fake's count of certificates issued twice for one
// request.
func duplicates(ctx context.Context, t *testing.T, st *stack) int {
	stats, err := st.admin.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return stats.Duplicates
}

// scenarioFailover: the leader pod is deleted during a burst; every
// Certificate still becomes Ready, and none is issued twice.
func (s *suite) scenarioFailover(st *stack) func(*testing.T) {
	return func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var old string
		err := burst(ctx, st, "atlas-failover", burstSize, func() error {
			var err error
			if old, err = leader(ctx, st); err != nil {
				return err
			}
			_, err = s.kubectl(ctx, nil, "-n", releaseNamespace, "delete", "pod", old, "--wait=false")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		s.rep.FailoverTotal = burstSize
		s.rep.FailoverReady = readyCerts(ctx, st, "atlas-failover", burstSize, 3*time.Minute)
		if s.rep.FailoverReady != burstSize {
			t.Errorf("%d/%d Certificates Ready after the leader %s was deleted", s.rep.FailoverReady, burstSize, old)
		}
		verifySecrets(ctx, t, st, "atlas-failover")
		if now, err := leader(ctx, st); err != nil || now == old {
			t.Errorf("leader after failover: %q (%v), was %q", now, err, old)
		}
		if d := duplicates(ctx, t, st); d != 0 {
			t.Errorf("%d duplicate issuances at the fake", d)
		}
	}
}

// scenarioUpgrade: helm upgrade to a second image tag during a burst fails
// no request and issues none twice; helm rollback then brings back the
// pods of the first install's image, by digest, and they issue.
func (s *suite) scenarioUpgrade(st *stack) func(*testing.T) {
	return func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		const ns = "atlas-upgrade"
		upgraded := make(chan error, 1)
		err := burst(ctx, st, ns, burstSize, func() error {
			go func() {
				upgraded <- s.helm(ctx, "upgrade", release, filepath.Join(s.root, "charts", "atlas-issuer"),
					"--namespace", releaseNamespace, "--reuse-values", "--set", "image.tag=dev2", "--wait", "--timeout", "3m")
			}()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-upgraded; err != nil {
			t.Fatal(err)
		}
		if img := s.deploymentImage(ctx, t); img != imageRepo+":dev2" {
			t.Errorf("image after upgrade: %s", img)
		}
		ready := readyCerts(ctx, st, ns, burstSize, 3*time.Minute)
		s.rep.UpgradeFailed = burstSize - ready
		if ready != burstSize {
			t.Errorf("%d/%d Certificates Ready across the upgrade", ready, burstSize)
		}
		verifySecrets(ctx, t, st, ns)
		if d := duplicates(ctx, t, st); d != 0 {
			t.Errorf("%d duplicate issuances at the fake", d)
		}
		// The second image is another digest: the rollback's check below
		// can tell the two apart.
		s.waitImage(ctx, t, st, "the second image", func(id string) bool { return id != st.imageID })

		s.saveManagerLogs(ctx, t, st, "upgraded")
		if err := s.helm(ctx, "rollback", release, "1", "--namespace", releaseNamespace, "--wait", "--timeout", "3m"); err != nil {
			t.Fatal(err)
		}
		if img := s.deploymentImage(ctx, t); img != imageRepo+":dev" {
			t.Errorf("image after rollback: %s", img)
		}
		// The tag in the Deployment could name another image than the one
		// the pods run; the digest the pods report cannot.
		pods := s.waitImage(ctx, t, st, "the first install's image "+st.imageID, func(id string) bool { return id == st.imageID })

		crt := framework.Certificate(ns, "after-rollback", "AtlasClusterIssuer", "atlas", "after-rollback."+ns+".example.com")
		if err := st.c.Create(ctx, crt); err != nil {
			t.Fatal(err)
		}
		if ready := readyCerts(ctx, st, ns, burstSize+1, 2*time.Minute); ready != burstSize+1 {
			t.Fatalf("the Certificate made after the rollback is not Ready (%d/%d Ready)", ready, burstSize+1)
		}
		if err := verifyCertificateSecret(ctx, st, crt); err != nil {
			t.Errorf("after the rollback: %v", err)
		}
		if l, err := leader(ctx, st); err != nil || !slices.Contains(pods, l) {
			t.Errorf("leader after the rollback: %q (%v), want one of the rolled-back pods %v", l, err, pods)
		}
	}
}

// waitImage waits until the release runs 2 Ready manager pods, none being
// deleted, whose image ID (the digest Pod status reports) satisfies want,
// and returns their names.
func (s *suite) waitImage(ctx context.Context, t *testing.T, st *stack, what string, want func(imageID string) bool) []string {
	t.Helper()
	var names []string
	eventually(t, 2*time.Minute, "manager pods of "+what, func() error {
		ids, err := managerImageIDs(ctx, st)
		if err != nil {
			return err
		}
		names = names[:0]
		for pod, id := range ids {
			if id == "" || !want(id) {
				return fmt.Errorf("pod %s runs %q", pod, id)
			}
			names = append(names, pod)
		}
		if len(names) != 2 {
			return fmt.Errorf("%d Ready manager pods, want 2", len(names))
		}
		return nil
	})
	return names
}

// containerStatus is the status of pod p's container name.
func containerStatus(p *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	for _, c := range p.Status.ContainerStatuses {
		if c.Name == name {
			return c, true
		}
	}
	return corev1.ContainerStatus{}, false
}

// managerImageIDs maps each manager pod not being deleted to the image ID
// of its manager container, and fails while one is not Ready.
func managerImageIDs(ctx context.Context, st *stack) (map[string]string, error) {
	pods := &corev1.PodList{}
	if err := st.c.List(ctx, pods, client.InNamespace(releaseNamespace), client.MatchingLabels{"app.kubernetes.io/instance": release}); err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		cs, ok := containerStatus(p, "manager")
		if !ok || !cs.Ready {
			return nil, fmt.Errorf("pod %s is not Ready", p.Name)
		}
		ids[p.Name] = cs.ImageID
	}
	return ids, nil
}

func (s *suite) deploymentImage(ctx context.Context, t *testing.T) string {
	out, err := s.kubectl(ctx, nil, "-n", releaseNamespace, "get", "deploy", release, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// scenarioObservability: the pods' probes pass, the metrics Service is
// scraped from a pod in the cluster, and the logs carry the version line.
func (s *suite) scenarioObservability(st *stack) func(*testing.T) {
	return func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if _, err := s.kubectl(ctx, nil, "-n", releaseNamespace, "rollout", "status", "deploy/"+release, "--timeout=120s"); err != nil {
			t.Fatal(err)
		}
		pods := &corev1.PodList{}
		if err := st.c.List(ctx, pods, client.InNamespace(releaseNamespace), client.MatchingLabels{"app.kubernetes.io/instance": release}); err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			running++
			for _, c := range p.Status.ContainerStatuses {
				if !c.Ready || c.RestartCount != 0 {
					t.Errorf("pod %s: container %s ready=%v restarts=%d", p.Name, c.Name, c.Ready, c.RestartCount)
				}
			}
		}
		if running != 2 {
			t.Errorf("%d manager pods, want 2", running)
		}

		if _, err := s.kubectl(ctx, []byte(scrapePods), "apply", "-f", "-"); err != nil {
			t.Fatal(err)
		}
		// Each pod succeeds only when its scrape gets the status it expects:
		// 200 for the metrics reader, 401 without a token, 403 for a
		// ServiceAccount that is not a reader.
		for _, pod := range []string{"scrape-reader", "scrape-anonymous", "scrape-outsider"} {
			eventually(t, time.Minute, pod+" to finish", func() error {
				p := &corev1.Pod{}
				if err := st.c.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: pod}, p); err != nil {
					return err
				}
				if p.Status.Phase == corev1.PodFailed {
					t.Fatalf("%s failed: %s", pod, s.logs(ctx, t, testNamespace, "pod/"+pod))
				}
				if p.Status.Phase != corev1.PodSucceeded {
					return fmt.Errorf("phase %s", p.Status.Phase)
				}
				return nil
			})
		}
		if out := s.logs(ctx, t, testNamespace, "pod/scrape-reader"); !strings.Contains(out, "atlas_issuer_sign_in_flight") {
			t.Errorf("the metrics scraped in the cluster have no atlas_issuer_sign_in_flight:\n%.2000s", out)
		}
		if out := s.logs(ctx, t, releaseNamespace, "deploy/"+release); !strings.Contains(out, `"version":"cluster-test"`) {
			t.Errorf("kubectl logs shows no version line:\n%.2000s", out)
		}
	}
}

func (s *suite) logs(ctx context.Context, t *testing.T, namespace, what string) string {
	out, err := s.kubectl(ctx, nil, "-n", namespace, "logs", what)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// scenarioLeastPrivilege: with secrets.namespaces set, an issuer in a
// namespace not listed reports SecretNotAllowed and one in a listed
// namespace becomes Ready.
func (s *suite) scenarioLeastPrivilege(st *stack) func(*testing.T) {
	return func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		if err := s.helm(ctx, "upgrade", release, filepath.Join(s.root, "charts", "atlas-issuer"),
			"--namespace", releaseNamespace, "--reuse-values", "--set", "secrets.namespaces={"+testNamespace+"}",
			"--wait", "--timeout", "3m"); err != nil {
			t.Fatal(err)
		}
		other := "atlas-unlisted"
		for _, o := range []client.Object{
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}},
			st.credentialsSecret(other, "atlas-credentials"),
			&v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "atlas"}, Spec: st.spec("atlas-credentials")},
			&v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: testNamespace, Name: "listed"}, Spec: st.spec("atlas-credentials")},
		} {
			if err := st.c.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, 2*time.Minute, "SecretNotAllowed outside the list", func() error {
			iss := &v1alpha1.AtlasIssuer{}
			if err := st.c.Get(ctx, client.ObjectKey{Namespace: other, Name: "atlas"}, iss); err != nil {
				return err
			}
			c := apimeta.FindStatusCondition(iss.Status.Conditions, "Ready")
			// issuer-lib keeps the reason Pending while it retries; the
			// manager's reason is in the message.
			if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, credentials.ReasonSecretNotAllowed) {
				return fmt.Errorf("Ready condition %+v", c)
			}
			return nil
		})
		eventually(t, 2*time.Minute, "the listed namespace's issuer Ready", func() error {
			iss := &v1alpha1.AtlasIssuer{}
			if err := st.c.Get(ctx, client.ObjectKey{Namespace: testNamespace, Name: "listed"}, iss); err != nil {
				return err
			}
			return readyCondition(iss.Status.Conditions)
		})
	}
}

// metricsReader is the ServiceAccount the chart binds to the metrics
// reader role.
const metricsReader = "metrics-reader"

// scrapePods read the manager's metrics through its Service from inside
// the cluster, over HTTPS: as the metrics reader, without a token, and as
// a ServiceAccount the chart did not bind. Each succeeds only when its
// scrape gets the status it expects.
var scrapePods = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: metrics-reader, namespace: atlas-test}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: outsider, namespace: atlas-test}
` + scrapePod("scrape-reader", "serviceAccountName: metrics-reader", "--token-file="+saToken) +
	scrapePod("scrape-anonymous", "automountServiceAccountToken: false", "--want-status=401") +
	scrapePod("scrape-outsider", "serviceAccountName: outsider", "--token-file="+saToken, "--want-status=403")

// saToken is where a pod's ServiceAccount token is mounted.
const saToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// scrapePod is a restricted pod that runs the scrape image once against
// the metrics Service with args before the URL; identity is its
// ServiceAccount line.
func scrapePod(name, identity string, args ...string) string {
	args = append(args, "--insecure-skip-verify", "https://atlas-issuer-metrics.atlas-system.svc:8443/metrics")
	return fmt.Sprintf(`---
apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: atlas-test}
spec:
  %s
  restartPolicy: Never
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: scrape
      image: atlas.test/scrape:dev
      imagePullPolicy: Never
      args: [%s]
      securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
`, name, identity, strings.Join(args, ", "))
}
