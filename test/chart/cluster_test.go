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
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// One API server serves every test of the package: starting one costs a
// few seconds, and releases with different names do not collide.
var shared struct {
	once sync.Once
	env  *envtest.Environment
	cfg  *rest.Config
	err  error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if shared.env != nil {
		if err := shared.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop envtest:", err)
		}
	}
	os.Exit(code)
}

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, cmapi.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// cluster returns a system:masters config for the shared envtest API
// server, started on first use with cert-manager's CRDs. Our own CRDs are
// not pre-installed: installChart applies the chart's.
func cluster(t *testing.T) *rest.Config {
	t.Helper()
	shared.once.Do(func() {
		assets := os.Getenv("KUBEBUILDER_ASSETS")
		if assets == "" {
			assets = filepath.Join(root, "bin", "k8s")
		}
		crds, err := certManagerCRDs(t)
		if err != nil {
			shared.err = err
			return
		}
		shared.env = &envtest.Environment{
			BinaryAssetsDirectory: assets,
			CRDDirectoryPaths:     []string{crds},
			ErrorIfCRDPathMissing: true,
		}
		shared.cfg, shared.err = shared.env.Start()
		if shared.cfg != nil {
			// The RBAC test asks a few hundred questions; client-go's
			// default 5 QPS would make it wait, not the API server.
			shared.cfg.QPS, shared.cfg.Burst = 200, 400
		}
	})
	if shared.err != nil {
		t.Fatalf("start envtest (KUBEBUILDER_ASSETS=bin/k8s, built by `make envtest`): %v", shared.err)
	}
	return shared.cfg
}

// certManagerCRDs is deploy/crds of the cert-manager module this module
// builds against, so the CRDs match the API types the manager uses.
func certManagerCRDs(t *testing.T) (string, error) {
	out, err := run(t, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager")
	if err != nil {
		return "", err
	}
	return filepath.Join(strings.TrimSpace(out), "deploy", "crds"), nil
}

func newClient(t *testing.T, cfg *rest.Config) client.WithWatch {
	t.Helper()
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ensureNamespaces(t *testing.T, c client.Client, names ...string) {
	t.Helper()
	for _, n := range names {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}
		if err := c.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

// installedKinds are what installChart applies: the API and the identity
// with its permissions. The workload (Deployment, Service, ServiceMonitor,
// PodDisruptionBudget) needs a kubelet or other CRDs and proves nothing
// about RBAC.
var installedKinds = map[string]bool{
	"CustomResourceDefinition": true,
	"ServiceAccount":           true,
	"ClusterRole":              true,
	"ClusterRoleBinding":       true,
	"Role":                     true,
	"RoleBinding":              true,
}

// installChart renders the chart as release name in namespace with helm
// args, creates the release namespace and the installedKinds objects, waits
// for the CRDs to be served, and returns the manager's identity: a config
// that impersonates the chart's ServiceAccount. A test that runs the real
// manager can hand that config to it.
func installChart(t *testing.T, admin *rest.Config, name, namespace string, args ...string) *rest.Config {
	t.Helper()
	ctx := context.Background()
	c := newClient(t, admin)
	ensureNamespaces(t, c, namespace)
	objs := render(t, name, namespace, args...)
	var sa string
	for _, o := range objs {
		if !installedKinds[o.GetKind()] {
			continue
		}
		if o.GetKind() == "ServiceAccount" {
			sa = o.GetName()
		}
		err := c.Create(ctx, o)
		// CRDs are cluster-wide and may come from another test's release.
		if apierrors.IsAlreadyExists(err) && o.GetKind() == "CustomResourceDefinition" {
			err = nil
		}
		if err != nil {
			t.Fatalf("create %s %s: %v", o.GetKind(), client.ObjectKeyFromObject(o), err)
		}
	}
	if sa == "" {
		t.Fatal("the chart rendered no ServiceAccount")
	}
	for _, crd := range ofKind(objs, "CustomResourceDefinition") {
		waitEstablished(t, admin, crd)
	}
	return impersonate(admin, namespace, sa)
}

// impersonate returns a copy of admin that acts as a ServiceAccount. The
// API server gives an impersonated ServiceAccount the same groups as its
// token would, so RBAC sees exactly the pod's identity.
func impersonate(admin *rest.Config, namespace, serviceAccount string) *rest.Config {
	cfg := rest.CopyConfig(admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: serviceAccountUser(namespace, serviceAccount)}
	return cfg
}

func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

func waitEstablished(t *testing.T, cfg *rest.Config, crd *unstructured.Unstructured) {
	t.Helper()
	c := newClient(t, cfg)
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var got apiextensionsv1.CustomResourceDefinition
		if err := c.Get(ctx, client.ObjectKey{Name: crd.GetName()}, &got); err != nil {
			return false, err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("CRD %s not established: %v", crd.GetName(), err)
	}
	// Discovery lags Established a little, and clients map kinds to
	// resources through discovery.
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	dc := discovery.NewDiscoveryClientForConfigOrDie(cfg)
	for _, v := range versions {
		name, _, _ := unstructured.NestedString(v.(map[string]any), "name")
		err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			list, err := dc.ServerResourcesForGroupVersion(group + "/" + name)
			if err != nil {
				return false, nil
			}
			return slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == plural }), nil
		})
		if err != nil {
			t.Fatalf("%s/%s %s not discoverable: %v", group, name, plural, err)
		}
	}
}
