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

// Command manager runs the atlas-issuer controllers: AtlasIssuer and
// AtlasClusterIssuer reconcilers and the CertificateRequest and Kubernetes
// CSR signers, built on cert-manager's issuer-lib.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/controllers"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/credentials"
	"github.com/globalsign/atlas-issuer/internal/failpoint"
	"github.com/globalsign/atlas-issuer/internal/signing"
	"github.com/globalsign/atlas-issuer/internal/version"
)

// defaultGCPercent is the GOGC the manager runs with unless the
// environment sets one (see run).
const defaultGCPercent = 25

// serviceAccountNamespace is where Kubernetes mounts the pod's namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "atlas-issuer:", err)
		os.Exit(1)
	}
}

func run() error { //nolint:funlen // split into an options struct by the entry-point change that follows
	var (
		metricsAddr              string
		probeAddr                string
		pprofAddr                string
		leaderElect              bool
		leaderElectionNamespace  string
		clusterResourceNamespace string
		maxConcurrentRequests    int
		maxRetryDuration         time.Duration
		recheckInterval          time.Duration
		atlasTimeout             time.Duration
		lookupGrace              time.Duration
		secretNamespaces         string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the healthz and readyz endpoints bind to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Address the Go pprof endpoints (/debug/pprof/) bind to, for profiling; empty or 0 disables them.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's namespace).")
	flag.StringVar(&clusterResourceNamespace, "cluster-resource-namespace", "", "Namespace AtlasClusterIssuer Secrets are read from (default: the pod's namespace).")
	flag.IntVar(&maxConcurrentRequests, "max-concurrent-requests", 16, "Requests signed against Atlas at once, across all issuers and request kinds.")
	flag.DurationVar(&maxRetryDuration, "max-retry-duration", 30*time.Minute, "How long a request is retried on transient errors before it fails.")
	flag.DurationVar(&recheckInterval, "issuer-recheck-interval", 5*time.Minute, "How often every issuer's credentials, quota and policy are checked again; 0 disables it.")
	flag.DurationVar(&atlasTimeout, "atlas-timeout", 30*time.Second, "Timeout of one HTTP call to Atlas.")
	flag.DurationVar(&lookupGrace, "lookup-grace", 2*time.Minute, "After a restart, how long to look for a certificate submitted before the restart before submitting again.")
	flag.StringVar(&secretNamespaces, "secret-namespaces", "", "Comma-separated namespaces the controller may read Secrets in (least-privilege mode); empty: every namespace.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	showVersion := flag.Bool("version", false, "Print the version and exit.")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.String("atlas-issuer"))
		return nil
	}
	if maxConcurrentRequests < 1 {
		return fmt.Errorf("--max-concurrent-requests must be at least 1, got %d", maxConcurrentRequests)
	}

	// The manager's live heap is small (about 30 MiB with 5,000 requests in
	// flight) and most of what it allocates is short-lived: decoded watch
	// events and API answers. At Go's default GOGC=100 the heap grows to
	// twice the live heap between collections, and a burst of 5,000
	// requests peaked at 94 MiB RSS, well over the chart's 64Mi request;
	// GOGC=25 kept it at 73 MiB for a GC share of the manager's CPU of
	// 6.4% instead of 1.6% during the burst, and nothing extra when idle
	// (make bench, P4; docs/performance.md). GOGC in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}

	logger := zap.New(zap.UseFlagOptions(&zapOpts))
	ctrl.SetLogger(logger)
	setupLog := ctrl.Log.WithName("setup")

	if clusterResourceNamespace == "" {
		clusterResourceNamespace = podNamespace()
	}

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, cmapi.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}

	cacheOpts := cache.Options{
		// managedFields are never read here and are a large share of every
		// cached CertificateRequest.
		DefaultTransform: cache.TransformStripManagedFields(),
	}
	allowed := map[string]bool{}
	for ns := range strings.SplitSeq(secretNamespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			allowed[ns] = true
		}
	}
	if len(allowed) > 0 {
		allowed[clusterResourceNamespace] = true
		nsConfig := map[string]cache.Config{}
		for ns := range allowed {
			nsConfig[ns] = cache.Config{}
		}
		// Also scopes the metadata-only Secret watch, which is keyed by the
		// same kind.
		cacheOpts.ByObject = map[client.Object]cache.ByObject{&corev1.Secret{}: {Namespaces: nsConfig}}
	}
	if cacheOpts.ByObject == nil {
		cacheOpts.ByObject = map[client.Object]cache.ByObject{}
	}
	// Settled CertificateRequests are cached without their CSR and
	// certificates (see TrimSettledRequests): they are most of the
	// manager's memory in a cluster with thousands of requests.
	cacheOpts.ByObject[&cmapi.CertificateRequest{}] = cache.ByObject{Transform: controllers.TrimSettledRequests}

	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	// Requests are cached apart (controllers.RequestsApart) so that
	// issuers are checked without waiting for every request in the cluster
	// to be listed.
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         cacheOpts,
		NewCache:                      controllers.RequestsApart(),
		Metrics:                       metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:        probeAddr,
		PprofBindAddress:              pprofAddr,
		LeaderElection:                leaderElect,
		LeaderElectionID:              "atlas-issuer.hvca.globalsign.com",
		LeaderElectionNamespace:       leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		// Secret data is read uncached, on demand; only Secret metadata is
		// watched. This keeps memory flat however many Secrets exist.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}

	atlasMetrics := atlas.NewMetrics(ctrlmetrics.Registry)
	clientCache := credentials.NewCache(atlas.Config{
		Timeout: atlasTimeout,
		Metrics: atlasMetrics,
		Logger:  ctrl.Log.WithName("atlas"),
	})
	loader := &credentials.Loader{Cache: clientCache, Metadata: mgr.GetCache(), API: mgr.GetAPIReader(), Namespaces: allowed}
	s := signing.New(loader, controllers.Annotator{Client: mgr.GetClient()}, signing.NewMetrics(ctrlmetrics.Registry))
	s.LookupGrace = lookupGrace
	s.Limiter = signing.NewLimiter(maxConcurrentRequests)
	if s.Failpoint, err = failpoint.Parse(os.Getenv(failpoint.EnvVar), nil, func(name string) {
		setupLog.Info("failpoint fired: crashing", "failpoint", name)
		// SIGKILL, not exit: a crash runs no deferred code and flushes nothing.
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}); err != nil {
		return fmt.Errorf("%s: %w", failpoint.EnvVar, err)
	}
	a := &controllers.Atlas{
		Signer:                   s,
		Client:                   mgr.GetClient(),
		Recorder:                 mgr.GetEventRecorder("atlas-issuer"),
		ClusterResourceNamespace: clusterResourceNamespace,
	}

	ctx := ctrl.SetupSignalHandler()
	if err := controllers.Setup(ctx, mgr, a, controllers.Options{
		MaxConcurrentRequests: maxConcurrentRequests,
		MaxRetryDuration:      maxRetryDuration,
		RecheckInterval:       recheckInterval,
	}); err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	setupLog.Info("starting manager", "version", version.Version, "revision", version.Revision, "clusterResourceNamespace", clusterResourceNamespace,
		"maxConcurrentRequests", maxConcurrentRequests, "maxRetryDuration", maxRetryDuration)
	return mgr.Start(ctx)
}

// podNamespace is the namespace the manager runs in, "default" outside a pod.
func podNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespace); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return "default"
}
