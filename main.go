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
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/globalsign/atlas-issuer/controllers"
	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/failpoint"
	"github.com/globalsign/atlas-issuer/internal/signing"
	"github.com/globalsign/atlas-issuer/internal/version"
)

// memoryLimitEnv names the environment variable that holds the container's
// memory limit in bytes; the chart sets it from limits.memory with a
// resourceFieldRef.
const memoryLimitEnv = "CONTAINER_MEMORY_LIMIT"

// serviceAccountNamespace is where Kubernetes mounts the pod's namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "atlas-issuer:", err)
		os.Exit(1)
	}
}

// options are the manager's command-line settings.
type options struct {
	metrics                 controllers.MetricsOptions
	probeAddr               string
	pprofAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	secretNamespaces        string
	memoryLimitFraction     float64
	showVersion             bool
	controllers             controllers.Options
	zap                     zap.Options
}

// AddFlags registers every setting on fs.
func (o *options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.metrics.BindAddress, "metrics-bind-address", ":8443", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	fs.BoolVar(&o.metrics.Secure, "metrics-secure", true, "Serve metrics over HTTPS to callers the API server authenticates and authorizes for GET /metrics; false serves plain HTTP to anyone.")
	fs.StringVar(&o.metrics.CertDir, "metrics-cert-dir", "", "Directory with the metrics endpoint's tls.crt and tls.key, reloaded on change; empty: a self-signed certificate made at start.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the healthz and readyz endpoints bind to.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "", "Address the Go pprof endpoints (/debug/pprof/) bind to, for profiling; empty or 0 disables them.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election Lease (default: the pod's namespace).")
	fs.StringVar(&o.controllers.ClusterResourceNamespace, "cluster-resource-namespace", "", "Namespace AtlasClusterIssuer Secrets are read from (default: the pod's namespace).")
	fs.IntVar(&o.controllers.MaxConcurrentRequests, "max-concurrent-requests", 16, "Requests signed against Atlas at once, across all issuers and request kinds.")
	fs.DurationVar(&o.controllers.MaxRetryDuration, "max-retry-duration", 30*time.Minute, "How long a request is retried on transient errors before it fails.")
	fs.DurationVar(&o.controllers.RecheckInterval, "issuer-recheck-interval", 5*time.Minute, "How often every issuer's credentials, quota and policy are checked again; 0 disables it.")
	fs.DurationVar(&o.controllers.AtlasTimeout, "atlas-timeout", 30*time.Second, "Timeout of one HTTP call to Atlas.")
	fs.DurationVar(&o.controllers.LookupGrace, "lookup-grace", 2*time.Minute, "After a restart, how long to look for a certificate submitted before the restart before submitting again.")
	fs.DurationVar(&o.controllers.ResubmitUndecidedAfter, "resubmit-undecided-after", 0, "When the restart lookup cannot decide whether a submission reached Atlas (the issued-stats lookup fails or lists nothing it can trust), submit the request again once this long has passed since it was first submitted, with a ResubmittedUndecided warning event: a second paid certificate may result. 0 (the default) never does; the request waits and says why.")
	fs.Float64Var(&o.controllers.IssuerShare, "max-issuer-share", signing.DefaultIssuerShare, "Share of the --max-concurrent-requests slots the AtlasIssuers of one namespace, or one AtlasClusterIssuer, may hold, in (0, 1]: at most max(1, ceil(n*share)), even while the others are free.")
	fs.DurationVar(&o.controllers.SignTimeout, "sign-timeout", signing.DefaultSignTimeout, "Deadline of one signing attempt of a request; a request waiting for an Atlas slot is Pending, not in an attempt.")
	fs.DurationVar(&o.controllers.CheckTimeout, "check-timeout", signing.DefaultCheckTimeout, "Deadline of one issuer check.")
	fs.IntVar(&o.controllers.IssuerWorkers, "issuer-check-workers", 4, "Issuers of each kind checked at once.")
	fs.StringVar(&o.controllers.AllowedAtlasURLs, "allowed-atlas-urls", atlas.DefaultAllowedURLs, "Comma-separated Atlas URLs issuers may use: hosts (atlas.example.com, optionally :port), host globs (*.hvca.globalsign.com), https URL prefixes (https://atlas.example.com:8443/v2), or * for any; credentials are never sent elsewhere.")
	fs.StringVar(&o.secretNamespaces, "secret-namespaces", "", "Comma-separated namespaces the controller may read Secrets in (least-privilege mode); empty: every namespace.")
	fs.Float64Var(&o.memoryLimitFraction, "memory-limit-fraction", 0.9, "Share of the container's memory limit (the "+memoryLimitEnv+" environment variable, in bytes) the manager sets as the Go runtime's soft memory limit at start, in [0, 1]; 0 leaves the runtime's limit alone, and so does a GOMEMLIMIT in the environment.")
	fs.BoolVar(&o.showVersion, "version", false, "Print the version and exit.")
	o.zap.BindFlags(fs)
}

// Complete fills in the settings whose defaults depend on where the
// manager runs.
func (o *options) Complete() {
	if o.controllers.ClusterResourceNamespace == "" {
		o.controllers.ClusterResourceNamespace = podNamespace()
	}
	o.controllers.SecretNamespaces = strings.Split(o.secretNamespaces, ",")
}

// Validate reports every setting the manager cannot run with: the
// controllers' (controllers.Options.Validate) and the process's own.
func (o *options) Validate() error {
	var errs []error
	if err := o.controllers.Validate(); err != nil {
		errs = append(errs, err)
	}
	if f := o.memoryLimitFraction; f < 0 || f > 1 {
		errs = append(errs, fmt.Errorf("--memory-limit-fraction must be in [0, 1], got %g", f))
	}
	return errors.Join(errs...)
}

func run() error {
	var o options
	o.AddFlags(flag.CommandLine)
	flag.Parse()
	if o.showVersion {
		fmt.Println(version.String("atlas-issuer"))
		return nil
	}
	o.Complete()
	if err := o.Validate(); err != nil {
		return err
	}
	memLimit, err := memoryLimit(os.Getenv, o.memoryLimitFraction)
	if err != nil {
		return err
	}
	if memLimit > 0 {
		debug.SetMemoryLimit(memLimit)
	}
	ctx := ctrl.SetupSignalHandler()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap)))
	setupLog := ctrl.Log.WithName("setup")

	crashAt, err := failpoint.Parse(os.Getenv(failpoint.EnvVar), nil, func(name string) {
		setupLog.Info("failpoint fired: crashing", "failpoint", name)
		// SIGKILL, not exit: a crash runs no deferred code and flushes nothing.
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", failpoint.EnvVar, err)
	}
	mgr, err := o.newManager(ctx, setupLog)
	if err != nil {
		return err
	}
	issuers := &controllers.IssuerController{Options: o.controllers, Registry: ctrlmetrics.Registry, Failpoint: crashAt}
	if err := issuers.SetupWithManager(ctx, mgr); err != nil {
		return fmt.Errorf("controllers: %w", err)
	}
	setupLog.Info("starting manager", "version", version.Version, "revision", version.Revision, "clusterResourceNamespace", o.controllers.ClusterResourceNamespace,
		"maxConcurrentRequests", o.controllers.MaxConcurrentRequests, "maxIssuerShare", o.controllers.IssuerShare, "maxRetryDuration", o.controllers.MaxRetryDuration,
		"allowedAtlasURLs", o.controllers.AllowedAtlasURLs, "goMemoryLimit", debug.SetMemoryLimit(-1))
	return mgr.Start(ctx)
}

// newManager builds the manager: the controllers' cache and client shape
// plus this process's listen addresses, leader election and probes.
func (o *options) newManager(ctx context.Context, log logr.Logger) (ctrl.Manager, error) {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	if err := controllers.WaitForAPIServer(ctx, cfg, log); err != nil {
		return nil, fmt.Errorf("wait for the API server: %w", err)
	}
	mgrOpts, err := o.controllers.ManagerOptions()
	if err != nil {
		return nil, err
	}
	mgrOpts.Metrics = o.metrics.ServerOptions()
	mgrOpts.HealthProbeBindAddress = o.probeAddr
	mgrOpts.PprofBindAddress = o.pprofAddr
	mgrOpts.LeaderElection = o.leaderElect
	mgrOpts.LeaderElectionID = "atlas-issuer.hvca.globalsign.com"
	mgrOpts.LeaderElectionNamespace = o.leaderElectionNamespace
	mgrOpts.LeaderElectionReleaseOnCancel = true
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err)
	}
	return mgr, errors.Join(
		mgr.AddHealthzCheck("healthz", healthz.Ping),
		mgr.AddReadyzCheck("readyz", healthz.Ping),
	)
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

// memoryLimit is the soft memory limit the manager gives the Go runtime:
// fraction of the container's memory limit, which env reads from
// memoryLimitEnv. The collector then works harder as the heap nears the
// container's limit instead of the container being killed for passing it,
// and the rest of the limit is left for what the runtime does not count
// (the binary's pages, stacks, fragmentation). It is 0, for no change,
// when GOMEMLIMIT is set (the runtime has applied it), the fraction is 0,
// or no container limit is known.
func memoryLimit(env func(string) string, fraction float64) (int64, error) {
	raw := env(memoryLimitEnv)
	if env("GOMEMLIMIT") != "" || fraction == 0 || raw == "" {
		return 0, nil
	}
	limit, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || limit <= 0 {
		return 0, fmt.Errorf("%s=%q: want the container's memory limit in bytes", memoryLimitEnv, raw)
	}
	return int64(float64(limit) * fraction), nil
}
