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

package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/controllers"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// clusterResourceNamespace is where AtlasClusterIssuer Secrets live, the
// --cluster-resource-namespace of the manager under test.
const clusterResourceNamespace = "atlas-system"

var (
	testEnv   *envtest.Environment
	restCfg   *rest.Config
	k8s       client.Client
	clientset kubernetes.Interface
	scheme    = runtime.NewScheme()
	atlasFake *fake.Server
	running   *managerRun
)

// defaultOptions are the controller settings of most specs: the manager's
// flag defaults but for these. 4 slots, of which the AtlasIssuers of a
// namespace may hold 2; a recheck interval short enough for specs to watch
// a periodic re-check happen; and the fake's loopback address allowed.
func defaultOptions() controllers.Options {
	return controllers.Options{
		ClusterResourceNamespace: clusterResourceNamespace,
		MaxConcurrentRequests:    4,
		MaxRetryDuration:         5 * time.Minute,
		RecheckInterval:          2 * time.Second,
		AtlasTimeout:             30 * time.Second,
		LookupGrace:              2 * time.Minute,
		IssuerShare:              0.5,
		SignTimeout:              2 * time.Minute,
		CheckTimeout:             30 * time.Second,
		IssuerWorkers:            4,
		AllowedAtlasURLs:         "127.0.0.1",
	}
}

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "atlas-issuer integration")
}

var _ = BeforeSuite(func() {
	ctrl.SetLogger(zap.New(zap.WriteTo(controllerLogs), zap.UseDevMode(true),
		zap.Level(logLevel()), zap.StacktraceLevel(zapcore.DPanicLevel)))

	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, cmapi.AddToScheme, v1alpha1.AddToScheme} {
		Expect(add(scheme)).To(Succeed())
	}

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases"), certManagerCRDs()},
		ErrorIfCRDPathMissing: true,
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		testEnv.BinaryAssetsDirectory = filepath.Join("..", "..", "bin", "k8s")
	}
	var err error
	restCfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { Expect(testEnv.Stop()).To(Succeed()) })

	k8s, err = client.New(restCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	clientset, err = kubernetes.NewForConfig(restCfg)
	Expect(err).NotTo(HaveOccurred())
	Expect(k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clusterResourceNamespace}})).To(Succeed())

	atlasFake, err = fake.Start(fake.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(atlasFake.Close)

	running = startManager(defaultOptions())
	// Registered after the fake's and envtest's cleanups, so it runs first:
	// the manager stops before what it talks to goes away.
	DeferCleanup(func() { running.stop() })
})

// certManagerCRDs is the directory of cert-manager's CRDs: $CERT_MANAGER_CRDS,
// or deploy/crds of the cert-manager module this module requires, so the
// CRDs always match the API types the code is built against.
func certManagerCRDs() string {
	if dir := os.Getenv("CERT_MANAGER_CRDS"); dir != "" {
		return dir
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager").Output()
	Expect(err).NotTo(HaveOccurred(), "locate the cert-manager module; set CERT_MANAGER_CRDS to skip this")
	dir := strings.TrimSpace(string(out))
	Expect(dir).NotTo(BeEmpty(), "the cert-manager module is not in the module cache; run go mod download")
	return filepath.Join(dir, "deploy", "crds")
}

// logLevel is debug (logr V(1), where issuer-lib says why it waits) unless
// INTEGRATION_LOG_LEVEL names another zap level, such as info or -2.
func logLevel() zapcore.Level {
	var l zapcore.Level
	if err := l.UnmarshalText([]byte(os.Getenv("INTEGRATION_LOG_LEVEL"))); err != nil || os.Getenv("INTEGRATION_LOG_LEVEL") == "" {
		return zapcore.DebugLevel
	}
	return l
}

// specLog holds the controller logs of the running spec. They are printed
// only when the spec fails: with -ginkgo.v, GinkgoWriter would stream the
// logs of every passing spec too, and the expected errors of the negative
// specs would drown the report.
type specLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// maxSpecLog bounds the memory a long spec's logs take; the end of the log
// is the part that explains a timeout.
const maxSpecLog = 4 << 20

func (l *specLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len()+len(p) > maxSpecLog {
		keep := l.buf.Bytes()[l.buf.Len()/2:]
		l.buf = *bytes.NewBuffer(append([]byte("[earlier log lines dropped]\n"), keep...))
	}
	return l.buf.Write(p)
}

func (l *specLog) take() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := bytes.Clone(l.buf.Bytes())
	l.buf.Reset()
	return out
}

var controllerLogs = &specLog{}

var _ = BeforeEach(func() {
	controllerLogs.take()
})

var _ = AfterEach(func() {
	logs := controllerLogs.take()
	if CurrentSpecReport().Failed() {
		GinkgoWriter.Printf("\n--- controller logs of the failed spec ---\n%s--- end of controller logs ---\n", logs)
	}
})

// managerRun is one in-process manager, from start to stop.
type managerRun struct {
	cancel  context.CancelFunc
	done    chan error
	stopped bool
	// registry holds this run's metrics.
	registry *prometheus.Registry
}

// startManager builds the manager through the same code as main.go
// (controllers.Options.ManagerOptions and IssuerController), with these
// deliberate differences: metrics and probes are off; controller name
// validation is skipped, since a restarted manager registers controllers
// with the names of the previous one in the same process; and each run gets
// its own Prometheus registry, since the issuer's collectors would
// otherwise be registered twice after a restart.
func startManager(opts controllers.Options) *managerRun {
	GinkgoHelper()
	mgrOpts, err := opts.ManagerOptions()
	Expect(err).NotTo(HaveOccurred())
	mgrOpts.Metrics = metricsserver.Options{BindAddress: "0"}
	mgrOpts.HealthProbeBindAddress = "0"
	mgrOpts.Controller = config.Controller{SkipNameValidation: new(true)}
	mgr, err := ctrl.NewManager(restCfg, mgrOpts)
	Expect(err).NotTo(HaveOccurred())
	registry := prometheus.NewRegistry()
	issuers := &controllers.IssuerController{Options: opts, Registry: registry}

	ctx, cancel := context.WithCancel(context.Background())
	Expect(issuers.SetupWithManager(ctx, mgr)).To(Succeed())
	run := &managerRun{cancel: cancel, done: make(chan error, 1), registry: registry}
	go func() {
		defer GinkgoRecover()
		run.done <- mgr.Start(ctx)
	}()
	syncCtx, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	defer syncCancel()
	Expect(mgr.GetCache().WaitForCacheSync(syncCtx)).To(BeTrue(), "manager caches did not sync")
	return run
}

// stop cancels the manager and waits until Start has returned, so that no
// reconcile of this run is still writing when the caller goes on.
func (r *managerRun) stop() {
	GinkgoHelper()
	if r.stopped {
		return
	}
	r.stopped = true
	r.cancel()
	Eventually(r.done).WithTimeout(time.Minute).Should(Receive(BeNil()), "manager did not stop cleanly")
}

// restartManager replaces the running manager with a fresh one: new caches,
// new Atlas clients, nothing remembered in memory, as after a pod restart.
func restartManager(opts controllers.Options) {
	GinkgoHelper()
	running.stop()
	running = startManager(opts)
}
