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

// Command cm-controllers runs cert-manager v1.21.2's own controllers against
// a kubeconfig, without a cluster: the certificates controllers that turn a
// Certificate into CertificateRequests and a Secret, the approver, and the
// CA and self-signed issuers that benchmarks compare against, and
// ingress-shim, which turns an annotated Ingress into a Certificate. It
// stands in for the cert-manager Deployment in the end-to-end tests and
// `make demo`, and is that Deployment's image in the cluster suite, where it
// runs with the pod's in-cluster config.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"k8s.io/klog/v2"

	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cm-controllers:", err)
		os.Exit(1)
	}
}

func run() error {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server (empty: the pod's in-cluster config)")
	only := flag.String("controllers", "", "comma-separated controller names to run (default: every one linked in)")
	workers := flag.Int("workers", 16, "workers per controller")
	clusterNS := flag.String("cluster-resource-namespace", "cert-manager", "namespace of ClusterIssuer secrets")
	klog.InitFlags(nil)
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx = logf.NewContext(ctx, klog.Background())

	factory, err := controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         *kubeconfig,
		KubernetesAPIQPS:   1000,
		KubernetesAPIBurst: 2000,
		IssuerOptions:      controller.IssuerOptions{ClusterResourceNamespace: *clusterNS},
		// cert-manager's own defaults, for an Ingress that names an issuer
		// without its kind or group.
		IngressShimOptions: controller.IngressShimOptions{DefaultIssuerKind: "Issuer", DefaultIssuerGroup: "cert-manager.io"},
	})
	if err != nil {
		return fmt.Errorf("context: %w", err)
	}

	want := map[string]bool{}
	for n := range strings.SplitSeq(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var names []string
	for name := range controller.Known() {
		if len(want) == 0 || want[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)

	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for _, name := range names {
		c, err := controller.Known()[name](factory)
		if err != nil {
			return fmt.Errorf("construct %s: %w", name, err)
		}
		wg.Go(func() {
			if err := c.Run(*workers, ctx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		})
	}

	// Informers are registered by the constructors above; start them once
	// every controller has asked for the ones it needs.
	cctx, err := factory.Build()
	if err != nil {
		return err
	}
	cctx.KubeSharedInformerFactory.Start(ctx.Done())
	cctx.SharedInformerFactory.Start(ctx.Done())
	fmt.Printf("cm-controllers running: %s\n", strings.Join(names, ","))

	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return nil
}
