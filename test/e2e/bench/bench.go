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

// Package bench measures the issuer on the end-to-end setup (envtest,
// cert-manager's real controllers, the fake Atlas, our manager as its own
// process) and compares it with cert-manager's in-tree CA issuer run by the
// same controllers on the same control plane. `make bench` runs it through
// cmd/bench; docs/performance.md explains the figures.
package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// Phases in run order, by what they measure:
//
//	side-by-side  Certificates through the CA issuer and ours at 0 ms: time
//	              ratio (P1), Atlas calls and duplicates (P3), API writes
//	              (P6) and CPU (P7) per certificate
//	start         manager start to issuer Ready (P5)
//	latency       the fake at 250 ms: the issuer alone against the latency
//	              limit and the pipeline against the CA issuer (P2)
//	plot          throughput against --max-concurrent-requests
//	memory        peak RSS with many requests and Secrets (P4), and RSS and
//	              live heap against the requests held (P8)
var Phases = []string{"side-by-side", "start", "latency", "plot", "memory"}

// phaseAliases lets BENCH_ONLY name a phase by the goal it measures.
var phaseAliases = map[string]string{
	"p1": "side-by-side", "p3": "side-by-side", "p6": "side-by-side", "p7": "side-by-side",
	"p5": "start", "p2": "latency", "p4": "memory", "p8": "memory",
}

// PhaseName is the phase a BENCH_ONLY word names, or "" when it names none.
func PhaseName(s string) string {
	if a, ok := phaseAliases[s]; ok {
		return a
	}
	if slices.Contains(Phases, s) {
		return s
	}
	return ""
}

// Config selects the size of a run.
type Config struct {
	// Quick is BENCH_QUICK=1: smaller counts, within 10 minutes.
	Quick bool
	// OutDir receives report.json, report.md, throughput.png and work/.
	OutDir string
	// Only runs these phases (see Phases); empty runs all.
	Only []string
	// Pprof saves a heap profile and runtime.MemStats at the end of the
	// memory phase's burst; PprofEvery also saves them every 10 s while it
	// signs (that perturbs the RSS it measures). The manager's pprof
	// endpoints are on either way: the memory phase reads the live heap
	// from them.
	Pprof, PprofEvery bool
	// CPUProfile saves a 20 s CPU profile of the manager from the start
	// of every run of the side-by-side phase, both paths (BENCH_PPROF=cpu).
	CPUProfile bool
	// ManagerEnv are extra environment variables for the manager alone,
	// for investigations (GODEBUG=gctrace=1); a run that sets them says so
	// in the report.
	ManagerEnv []string
	// Environment records the environment the benchmark's processes ran
	// with, for the report.
	Environment Environment
	Logf        func(format string, args ...any)
}

// Sizes are the counts of a run.
type Sizes struct {
	// SideBySideN Certificates per run, SideBySideRounds rounds of one run
	// per path.
	SideBySideN, SideBySideRounds int
	// LatencyCertificates and LatencyRequests are the runs at
	// LatencyPerCall with LatencyConcurrency Atlas slots.
	LatencyCertificates, LatencyRequests int
	LatencyPerCall                       time.Duration
	LatencyConcurrency                   int
	Warmup                               int
	PlotN                                map[int]int
	PlotConcurrency                      []int
	// MemoryRequests are signed at once with MemorySecrets unrelated
	// Secrets of MemorySecretBytes in the cluster; MemoryMore are further
	// batches after it, each followed by a memory point.
	MemoryRequests, MemorySecrets, MemorySecretBytes int
	MemoryMore                                       []int
	StartRepeats                                     int
	ReadyTimeout, MemorySignTimeout                  time.Duration
}

// SizesFor returns the counts of the issue: 500 Certificates and 5,000
// requests, or 200 and 2,000 in quick mode.
func SizesFor(quick bool) Sizes {
	s := Sizes{
		SideBySideN: 500, SideBySideRounds: 4, LatencyCertificates: 500, LatencyRequests: 500, Warmup: 10,
		PlotN:          map[int]int{1: 30, 4: 100, 16: 300, 64: 500},
		MemoryRequests: 5000, MemorySecrets: 2000, MemorySecretBytes: 2048,
		// 5,000 + 5,000 + 10,000: a point at 20,000 requests.
		MemoryMore:   []int{5000, 10000},
		StartRepeats: 5, ReadyTimeout: 10 * time.Minute, MemorySignTimeout: 20 * time.Minute,
		PlotConcurrency: []int{1, 4, 16, 64}, LatencyPerCall: 250 * time.Millisecond, LatencyConcurrency: 16,
	}
	if quick {
		s.SideBySideN, s.LatencyCertificates, s.LatencyRequests = 200, 200, 200
		s.PlotN = map[int]int{1: 12, 4: 40, 16: 150, 64: 200}
		s.MemoryRequests, s.MemoryMore, s.StartRepeats = 2000, []int{1000}, 3
		s.ReadyTimeout, s.MemorySignTimeout = 4*time.Minute, 6*time.Minute
	}
	return s
}

type bench struct {
	cfg   Config
	sz    Sizes
	env   *framework.Env
	cs    cmclient.Interface
	rc    rest.Interface // kube-apiserver's /metrics
	rep   *Report
	csrs  *csrMaker
	pprof string // host:port of the manager's pprof endpoints
	logf  func(string, ...any)
	nsSeq int
	// namespaces are those this run created, for cleanup.
	namespaces []string
}

// Run sets up the environment, runs the phases and writes the report. It
// returns the report even when a phase failed; the error names the
// failure.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	start := time.Now()
	sz := SizesFor(cfg.Quick)
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	rep := &Report{Quick: cfg.Quick, Started: start, Machine: machine(), ManagerEnv: cfg.ManagerEnv, Environment: cfg.Environment}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	work := filepath.Join(cfg.OutDir, "work")
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	// What an earlier run left must not pass for this run's output.
	old, _ := filepath.Glob(filepath.Join(cfg.OutDir, "p4-*"))
	cpu, _ := filepath.Glob(filepath.Join(cfg.OutDir, "cpu-*.pprof"))
	old = append(old, cpu...)
	for _, f := range append(old, "report.json", "report.md", "throughput.png") {
		if !filepath.IsAbs(f) {
			f = filepath.Join(cfg.OutDir, f)
		}
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	b := &bench{cfg: cfg, sz: sz, rep: rep, logf: logf}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	b.pprof = addr
	// Each run measures one issuer against the whole pool of slots, so it
	// may hold all of them.
	env, err := framework.Setup(ctx, framework.Options{WorkDir: work, ManagerArgs: []string{"--pprof-bind-address", addr, "--max-issuer-share=1"}, Logf: logf})
	if err != nil {
		return nil, err
	}
	defer env.Teardown()
	b.env = env
	if b.cs, err = cmclient.NewForConfig(env.RESTConfig); err != nil {
		return nil, err
	}
	kc, err := kubernetes.NewForConfig(env.RESTConfig)
	if err != nil {
		return nil, err
	}
	b.rc = kc.CoreV1().RESTClient()

	want := func(p string) bool { return len(cfg.Only) == 0 || slices.Contains(cfg.Only, p) }
	var errs []string
	phase := func(name string, f func(context.Context) error) {
		if (name != "warmup" && !want(name)) || ctx.Err() != nil {
			return
		}
		logf("== %s", name)
		t := time.Now()
		if err := f(ctx); err != nil {
			logf("%s failed: %v (logs in %s)", name, err, work)
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			return
		}
		logf("%s done in %s", name, time.Since(t).Round(time.Second))
	}
	if want("side-by-side") || want("latency") {
		phase("warmup", b.warmup)
	}
	phase("side-by-side", b.sideBySide)
	phase("start", b.startToReadyPhase)
	phase("latency", b.latency)
	phase("plot", b.plot)
	phase("memory", b.memory)

	rep.Errors = errs
	rep.Seconds = round(time.Since(start).Seconds(), 1)
	rep.Machine.LoadAvgEnd = loadAvg()
	rep.setGoals()
	if err := rep.write(cfg.OutDir); err != nil {
		return rep, err
	}
	if len(rep.Concurrency) > 0 {
		if err := writePlot(filepath.Join(cfg.OutDir, "throughput.png"), rep.Concurrency, sz.LatencyPerCall); err != nil {
			return rep, err
		}
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("%d phase(s) failed: %s", len(errs), strings.Join(errs, "; "))
	}
	return rep, nil
}

// loadAvg1 is the one-minute load average: how busy the machine was, for
// the record, since other work on it slows every path.
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func machine() Machine {
	return Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadAvg: loadAvg()}
}

// loadAvg is /proc/loadavg's three load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// namespace returns a fresh namespace name: every run gets its own, so no
// run sees another's objects in its informers.
func (b *bench) namespace(what string) string {
	b.nsSeq++
	ns := fmt.Sprintf("bench-%s-%d", what, b.nsSeq)
	b.namespaces = append(b.namespaces, ns)
	return ns
}

// cleanup deletes the Certificates, CertificateRequests and certificate
// Secrets earlier phases left behind, so that P4 counts exactly its own
// requests and Secrets. envtest runs no garbage collector or namespace
// controller, so deleting a namespace would leave its objects in place.
func (b *bench) cleanup(ctx context.Context) error {
	keep := map[string]bool{"atlas-credentials": true, "ca-ca": true}
	for _, ns := range b.namespaces {
		if err := b.env.Client.DeleteAllOf(ctx, &cmapi.Certificate{}, client.InNamespace(ns)); err != nil {
			return err
		}
		if err := b.env.Client.DeleteAllOf(ctx, &cmapi.CertificateRequest{}, client.InNamespace(ns)); err != nil {
			return err
		}
		var secs metav1.PartialObjectMetadataList
		secs.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
		if err := b.env.Client.List(ctx, &secs, client.InNamespace(ns)); err != nil {
			return err
		}
		for i := range secs.Items {
			if !keep[secs.Items[i].Name] {
				if err := client.IgnoreNotFound(b.env.Client.Delete(ctx, &secs.Items[i])); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// atlasNamespace makes ns with the fake's credentials and an AtlasIssuer
// "atlas", and waits until it is Ready.
func (b *bench) atlasNamespace(ctx context.Context, ns string) error {
	if err := b.env.CreateNamespace(ctx, ns); err != nil {
		return err
	}
	_, err := b.waitAtlasIssuer(ctx, ns, time.Minute, 100*time.Millisecond)
	return err
}

// waitAtlasIssuer polls an AtlasIssuer until it is Ready and returns when
// that was first seen.
func (b *bench) waitAtlasIssuer(ctx context.Context, ns string, timeout, every time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		iss := &v1alpha1.AtlasIssuer{}
		if err := b.env.Get(ctx, ns, "atlas", iss); err == nil && framework.IssuerReady(iss.Status.Conditions) {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("AtlasIssuer %s/atlas not Ready after %s: %+v", ns, timeout, iss.Status.Conditions)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(every):
		}
	}
}

// deleteAtlasIssuer removes an issuer once its run is over, so that the
// periodic re-check of idle issuers does not add Atlas calls to later runs.
func (b *bench) deleteAtlasIssuer(ctx context.Context, ns string) error {
	return client.IgnoreNotFound(b.env.Client.Delete(ctx, &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atlas"}}))
}

func (b *bench) caNamespace(ctx context.Context, ns string) error {
	if err := b.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	if err := b.env.CreateCAIssuer(ctx, ns, "ca"); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ok, err := b.env.CAIssuerReady(ctx, ns, "ca")
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("CA Issuer %s/ca not Ready after a minute (%w)", ns, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// certificates builds n Certificates named prefix-i in ns for one path.
func certificates(ns, prefix, path string, n int) []client.Object {
	out := make([]client.Object, n)
	for i := range out {
		name := fmt.Sprintf("%s-%d", prefix, i)
		dns := name + "." + ns + ".bench.example.com"
		if path == pathCA {
			out[i] = framework.CACertificate(ns, name, "ca", dns)
		} else {
			out[i] = framework.Certificate(ns, name, "AtlasIssuer", "atlas", dns)
		}
	}
	return out
}

const (
	pathCA    = "ca-issuer"
	pathAtlas = "atlas-issuer"
)

// burst creates objs at once and waits until all are Ready, timing from
// the first create to the last Ready; it returns how many became Ready.
func (b *bench) burst(ctx context.Context, ns, kind string, objs []client.Object) (int, time.Duration, error) {
	n, first, last, err := b.burstFrom(ctx, ns, kind, objs)
	return n, last.Sub(first), err
}

// burstFrom is burst that returns the times of the first create and the
// last Ready.
func (b *bench) burstFrom(ctx context.Context, ns, kind string, objs []client.Object) (n int, first, last time.Time, err error) {
	var t *tracker
	if kind == "Certificates" {
		t, err = trackCertificates(ctx, b.cs, ns, "b-", len(objs))
	} else {
		t, err = trackRequests(ctx, b.cs, ns, "b-", len(objs))
	}
	if err != nil {
		return 0, first, last, err
	}
	defer t.close()
	done := make(chan struct{})
	go b.progress(t, done)
	defer close(done)
	if first, err = createAll(ctx, b.env.Client, objs); err != nil {
		return 0, first, last, err
	}
	if last, err = t.wait(ctx, b.sz.ReadyTimeout); err != nil {
		return 0, first, last, err
	}
	return t.count(), first, last, nil
}

func (b *bench) progress(t *tracker, done <-chan struct{}) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			b.logf("  %s: %d/%d Ready after %s", t.what, t.count(), t.want, time.Since(start).Round(time.Second))
		}
	}
}

// warmup issues a few certificates through both paths first, so that
// neither timed run pays for first-use costs (connections, informers,
// the fake's first login) the other does not.
func (b *bench) warmup(ctx context.Context) error {
	ns := b.namespace("warmup")
	if err := b.caNamespace(ctx, ns); err != nil {
		return err
	}
	sec, err := b.env.CredentialsSecret(ns, "atlas-credentials")
	if err != nil {
		return err
	}
	if err := b.env.Client.Create(ctx, sec); err != nil {
		return err
	}
	spec, err := b.env.IssuerSpec("atlas-credentials")
	if err != nil {
		return err
	}
	if err := b.env.Client.Create(ctx, &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atlas"}, Spec: spec}); err != nil {
		return err
	}
	if _, err := b.waitAtlasIssuer(ctx, ns, time.Minute, 100*time.Millisecond); err != nil {
		return err
	}
	objs := certificates(ns, "b-ca", pathCA, b.sz.Warmup)
	objs = append(objs, certificates(ns, "b-atlas", pathAtlas, b.sz.Warmup)...)
	if _, _, err := b.burst(ctx, ns, "Certificates", objs); err != nil {
		return err
	}
	return b.deleteAtlasIssuer(ctx, ns)
}

// runCertificates is one timed run of n Certificates on one path in a
// fresh namespace. For the Atlas path the fake's counters are reset before
// the issuer is created, so its Check counts too.
func (b *bench) runCertificates(ctx context.Context, path, what string, n int) (Burst, error) {
	ns := b.namespace(what)
	run := Burst{Path: path, Kind: "Certificates", Namespace: ns, N: n}
	if path == pathCA {
		if err := b.caNamespace(ctx, ns); err != nil {
			return run, err
		}
	} else {
		if err := b.env.Admin.Reset(ctx); err != nil {
			return run, err
		}
		if err := b.atlasNamespace(ctx, ns); err != nil {
			return run, err
		}
	}
	b.logf("  %d Certificates through the %s in %s", n, path, ns)
	// cert-manager sometimes creates a second request for a Certificate
	// when its caches lag under load, and deletes it soon after as an old
	// revision: an informer sees them all.
	requests, err := trackRequests(ctx, b.cs, ns, "b-", math.MaxInt)
	if err != nil {
		return run, err
	}
	defer requests.close()
	// Both paths: the CA issuer's runs show what the manager spends on
	// requests that are not its own, part of every AtlasIssuer run too.
	if b.cfg.CPUProfile && what == "side" {
		go func() {
			_ = fetch("http://"+b.pprof+"/debug/pprof/profile?seconds=20", filepath.Join(b.cfg.OutDir, "cpu-"+ns+".pprof"))
		}()
	}
	if err := b.measured(ctx, &run, func() (int, time.Duration, error) {
		return b.burst(ctx, ns, "Certificates", certificates(ns, "b", path, n))
	}); err != nil {
		return run, err
	}
	run.Requests = requests.seenCount()
	if run.Duplicates != nil {
		b.rep.Duplicates = new(*run.Duplicates + deref(b.rep.Duplicates))
	}
	if path == pathAtlas {
		if err := b.deleteAtlasIssuer(ctx, ns); err != nil {
			return run, err
		}
	}
	b.logf("  %s: %d in %.2f s (%.1f/s)%s", path, n, run.Seconds, run.PerSecond, run.costs())
	return run, nil
}

// measured runs one burst and records around it what the run cost: the
// load average, the CPU time of every process and the API writes, from
// just before the first create until the late calls have settled, and for
// the Atlas path the fake's counters.
func (b *bench) measured(ctx context.Context, run *Burst, burst func() (int, time.Duration, error)) error {
	run.LoadBefore = loadAvg1()
	cpu0, err := readCPU()
	if err != nil {
		return err
	}
	w0, err := apiWrites(ctx, b.rc)
	if err != nil {
		return err
	}
	calls0, busy0 := 0, 0.0
	if run.Path == pathAtlas {
		st, err := b.env.Admin.Stats(ctx)
		if err != nil {
			return err
		}
		calls0, busy0 = st.TotalCalls, st.Busy.Seconds
	}
	t0 := time.Now()
	ready, d, err := burst()
	if err != nil {
		return err
	}
	run.LoadAfter = loadAvg1()
	run.Ready = ready
	run.Seconds = round(d.Seconds(), 3)
	run.PerSecond = round(float64(run.N)/d.Seconds(), 2)
	settled, err := b.settle(ctx, run.Path == pathAtlas)
	if err != nil {
		return err
	}
	run.SettleSeconds = round(settled.Seconds(), 1)
	cpu1, err := readCPU()
	if err != nil {
		return err
	}
	w1, err := apiWrites(ctx, b.rc)
	if err != nil {
		return err
	}
	run.WindowSeconds = round(time.Since(t0).Seconds(), 2)
	run.CPUSeconds = cpuSince(cpu0, cpu1)
	run.APIWrites, run.APIWritesTotal = writesSince(w0, w1)
	if ready > 0 {
		run.APIWritesPerItem = round(float64(run.APIWritesTotal)/float64(ready), 3)
	}
	if run.Path != pathAtlas {
		return nil
	}
	st, err := b.env.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	run.AtlasCalls, run.TotalCalls, run.Issued, run.PeakInFlight = st.Calls, st.TotalCalls, st.Issued, st.PeakInFlight
	run.AtlasBusySeconds = round(st.Busy.Seconds-busy0, 2)
	if run.Kind == "Certificates" {
		// Each Certificate has its own key, so a key issued for twice
		// is a duplicate issuance. CertificateRequest runs share a small
		// pool of keys and cannot tell.
		run.Duplicates = &st.Duplicates
	}
	if ready > 0 {
		run.CallsPerReady = round(float64(run.TotalCalls)/float64(ready), 4)
		run.SigningCallsPerReady = round(float64(run.TotalCalls-calls0)/float64(ready), 4)
	}
	return nil
}

// settleAtLeast is how long every run waits after its last Ready before its
// costs are read, whichever the path: cert-manager's and the issuer's last
// status writes and events come after the Ready condition.
const settleAtLeast = 3 * time.Second

// settleAtMost bounds the wait for quiet: a run whose writes never stop is
// read then, with what it has written so far.
const settleAtMost = 60 * time.Second

// settle waits settleAtLeast and then until a second has passed with no
// API write but lease renewals and, on the Atlas path, no call to the fake.
// cert-manager writes its events from a queue that drains well after the
// last Ready of a burst of hundreds; read earlier, a run's writes and CPU
// counted in the next run's window. It gives up waiting at settleAtMost.
func (b *bench) settle(ctx context.Context, atlas bool) (time.Duration, error) {
	start := time.Now()
	if err := sleepCtx(ctx, settleAtLeast); err != nil {
		return 0, err
	}
	calls, writes := -1, map[string]int(nil)
	for time.Since(start) < settleAtMost {
		w, err := apiWrites(ctx, b.rc)
		if err != nil {
			return 0, err
		}
		quiet := writes != nil && quietWrites(writes, w)
		writes = w
		if atlas {
			st, err := b.env.Admin.Stats(ctx)
			if err != nil {
				return 0, err
			}
			quiet = quiet && st.TotalCalls == calls
			calls = st.TotalCalls
		}
		if quiet {
			break
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// quietWrites reports whether nothing but leases was written between two
// readings of kube-apiserver's write counts: the manager and cert-manager's
// controllers renew their leader leases every few seconds, idle or not.
func quietWrites(before, after map[string]int) bool {
	for k, v := range after {
		if v != before[k] && !strings.HasSuffix(k, " leases") {
			return false
		}
	}
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// sideBySide runs rounds of one CA run and one Atlas run back to back, the
// order alternating (CA-Atlas, Atlas-CA, ...), so that a drifting machine
// load favours neither. The number of rounds is even so that each path goes
// first equally often: the runs drift slower as the cluster fills with
// their objects (envtest collects none), and with three rounds the CA
// issuer went first in two; the first run after the warm-up was the
// fastest in every benchmark recorded. P1 is the median of the rounds'
// ratios: one round slowed by a burst of load from outside the benchmark
// does not decide it. P3, P6 and P7 come from the same runs, pooled.
func (b *bench) sideBySide(ctx context.Context) error {
	raw := &P1Raw{N: b.sz.SideBySideN, WarmupPerPathN: b.sz.Warmup, CreateGoroutines: createWorkers}
	b.rep.P1 = raw
	var runs []Burst
	for r := range b.sz.SideBySideRounds {
		order := []string{pathCA, pathAtlas}
		if r%2 == 1 {
			order = []string{pathAtlas, pathCA}
		}
		var ca, atlas float64
		for _, path := range order {
			run, err := b.runCertificates(ctx, path, "side", b.sz.SideBySideN)
			if err != nil {
				return err
			}
			raw.Runs = append(raw.Runs, run)
			runs = append(runs, run)
			if path == pathCA {
				ca = run.Seconds
				raw.CASeconds += run.Seconds
			} else {
				atlas = run.Seconds
				raw.AtlasSeconds += run.Seconds
			}
		}
		raw.RoundRatios = append(raw.RoundRatios, round(atlas/ca, 3))
	}
	raw.CASeconds, raw.AtlasSeconds = round(raw.CASeconds, 3), round(raw.AtlasSeconds, 3)
	rounds := float64(b.sz.SideBySideRounds)
	raw.CAPerSecond = round(rounds*float64(raw.N)/raw.CASeconds, 2)
	raw.AtlasPerSecond = round(rounds*float64(raw.N)/raw.AtlasSeconds, 2)
	raw.TotalRatio = round(raw.AtlasSeconds/raw.CASeconds, 3)
	b.rep.P1RatioVsCAIssuer = new(median(raw.RoundRatios))

	ca, atlas := pool(runs, pathCA), pool(runs, pathAtlas)
	b.rep.P3 = &P3Raw{
		Source: "every AtlasIssuer run of the side-by-side phase at 0 ms, each with a new issuer whose Check is counted; " +
			"all their calls divided by all their Ready Certificates",
		Calls: atlas.calls, Ready: atlas.ready, Requests: atlas.requests,
	}
	b.rep.P3AtlasCallsPerReadyCert = new(round(float64(atlas.calls)/float64(atlas.ready), 4))
	b.rep.P6 = &P6Raw{
		CAPerCert: perItem(ca.writes, ca.ready), AtlasPerCert: perItem(atlas.writes, atlas.ready),
		CATotalPerCert: round(float64(ca.writesTotal)/float64(ca.ready), 3), AtlasTotalPerCert: round(float64(atlas.writesTotal)/float64(atlas.ready), 3),
	}
	b.rep.P6ExtraAPIWritesPerCert = new(round(b.rep.P6.AtlasTotalPerCert-b.rep.P6.CATotalPerCert, 3))
	b.rep.P7 = &P7Raw{CAMsPerCert: msPerItem(ca.cpu, ca.ready), AtlasMsPerCert: msPerItem(atlas.cpu, atlas.ready)}
	b.rep.P7ManagerCPUMsPerCert = new(b.rep.P7.AtlasMsPerCert["manager"])
	return nil
}

// pooled is the sum of one path's runs.
type pooled struct {
	ready, requests, calls, writesTotal int
	writes                              map[string]int
	cpu                                 map[string]float64
}

func pool(runs []Burst, path string) pooled {
	p := pooled{writes: map[string]int{}, cpu: map[string]float64{}}
	for _, r := range runs {
		if r.Path != path {
			continue
		}
		p.ready += r.Ready
		p.requests += r.Requests
		p.calls += r.TotalCalls
		p.writesTotal += r.APIWritesTotal
		for k, v := range r.APIWrites {
			p.writes[k] += v
		}
		for k, v := range r.CPUSeconds {
			p.cpu[k] += v
		}
	}
	p.ready = max(p.ready, 1)
	return p
}

func perItem(m map[string]int, n int) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		out[k] = round(float64(v)/float64(n), 3)
	}
	return out
}

func msPerItem(m map[string]float64, n int) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		out[k] = round(1000*v/float64(n), 2)
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// median of a non-empty list; the mean of the middle two for an even count.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return round((s[len(s)/2-1]+s[len(s)/2])/2, 4)
}

// setLatency sets the fake's per-call latency.
func (b *bench) setLatency(ctx context.Context, latency time.Duration) error {
	return b.env.Admin.SetFaults(ctx, fake.Faults{Latency: latency})
}

func (b *bench) restartManager(concurrency int) error {
	return b.stopped(b.env.RestartManagerWithEnv(b.cfg.ManagerEnv, "--max-concurrent-requests="+strconv.Itoa(concurrency)))
}

// stopped turns a manager that had to be killed on shutdown into a finding
// in the report instead of a failed phase: the replacement runs.
func (b *bench) stopped(err error) error {
	if framework.IsStopTimeout(err) {
		b.logf("  warning: %v", err)
		b.rep.Findings = append(b.rep.Findings, err.Error())
		return nil
	}
	return err
}

// waitManagerIdle waits until the manager used less than 20 ms of CPU in
// a second, for at most 30 s.
func (b *bench) waitManagerIdle(ctx context.Context) error {
	pid := b.env.Manager().Pid()
	last := -1.0
	for start := time.Now(); time.Since(start) < 30*time.Second; {
		st, err := readStat(pid)
		if err != nil {
			return err
		}
		if last >= 0 && st.cpu-last < 0.02 {
			return nil
		}
		last = st.cpu
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
	}
	b.logf("  the manager was still busy 30 s after its start")
	return nil
}

// latencyLimit is what the fake's latency allows: slots calls at once,
// each latency long, callsPerItem of them per certificate. The callers
// pass the calls made from the first create on: the issuer's Check is done
// before the clock starts.
func latencyLimit(slots int, latency time.Duration, callsPerItem float64) float64 {
	if callsPerItem <= 0 {
		callsPerItem = 2
	}
	return round(float64(slots)/(callsPerItem*latency.Seconds()), 2)
}

// latency puts the fake at 250 ms per call with 16 Atlas slots. The issuer
// alone (CertificateRequests with ready CSRs) is held to the limit that
// latency sets; Certificates, which on two cores cert-manager's own
// pipeline bounds, are held to the CA issuer's Certificates at 0 ms, timed
// just before and just after them.
func (b *bench) latency(ctx context.Context) error {
	c := b.sz.LatencyConcurrency
	raw := &P2Raw{LatencyMS: int(b.sz.LatencyPerCall / time.Millisecond), MaxConcurrentRequests: c}
	b.rep.P2 = raw
	if err := b.setLatency(ctx, b.sz.LatencyPerCall); err != nil {
		return err
	}
	defer func() { _ = b.setLatency(context.Background(), 0) }()
	if err := b.restartManager(c); err != nil {
		return err
	}
	// A manager just started lists every request in the cluster; the CA
	// run that follows must not share the cores with that.
	if err := b.waitManagerIdle(ctx); err != nil {
		return err
	}
	var caSeconds float64
	for _, path := range []string{pathCA, pathAtlas, pathCA} {
		run, err := b.runCertificates(ctx, path, "latency-cert", b.sz.LatencyCertificates)
		if err != nil {
			return err
		}
		if path == pathCA {
			raw.CACertificates = append(raw.CACertificates, run)
			caSeconds += run.Seconds
			continue
		}
		raw.Certificates = run
		raw.CertificatesLimit = latencyLimit(c, b.sz.LatencyPerCall, run.SigningCallsPerReady)
		raw.CertificatesFractionOfLimit = round(run.PerSecond/raw.CertificatesLimit, 3)
	}
	raw.CAPerSecond = round(2*float64(b.sz.LatencyCertificates)/caSeconds, 2)
	b.rep.P2PipelineRatioVsCAIssuer = new(round(raw.Certificates.PerSecond/raw.CAPerSecond, 3))

	req, err := b.runRequests(ctx, "latency-req", b.sz.LatencyRequests, c)
	if err != nil {
		return err
	}
	raw.Requests = req
	raw.RequestsLimit = latencyLimit(c, b.sz.LatencyPerCall, req.SigningCallsPerReady)
	b.rep.P2IssuerFractionOfLatencyLimit = new(round(req.PerSecond/raw.RequestsLimit, 3))
	return nil
}

// runRequests times n CertificateRequests with ready CSRs through a fresh
// AtlasIssuer, the issuer without cert-manager's key generation, and reads
// from the fake how its calls filled the manager's slots.
func (b *bench) runRequests(ctx context.Context, what string, n, slots int) (Burst, error) {
	ns := b.namespace(what)
	run := Burst{Path: pathAtlas, Kind: "CertificateRequests", Namespace: ns, N: n}
	if err := b.ensureCSRs(); err != nil {
		return run, err
	}
	objs, err := b.csrs.requests(ns, "b", n)
	if err != nil {
		return run, err
	}
	if err := b.env.Admin.Reset(ctx); err != nil {
		return run, err
	}
	if err := b.atlasNamespace(ctx, ns); err != nil {
		return run, err
	}
	b.logf("  %d CertificateRequests through the %s in %s", n, pathAtlas, ns)
	var first time.Time
	if err := b.measured(ctx, &run, func() (int, time.Duration, error) {
		ready, f, last, err := b.burstFrom(ctx, ns, "CertificateRequests", objs)
		first = f
		return ready, last.Sub(f), err
	}); err != nil {
		return run, err
	}
	spans, err := b.env.Admin.Spans(ctx)
	if err != nil {
		return run, err
	}
	run.SlotUse = slotUse(spans, first, slots)
	b.logf("  requests: %d in %.2f s (%.1f/s)%s", n, run.Seconds, run.PerSecond, run.costs())
	return run, b.deleteAtlasIssuer(ctx, ns)
}

func (b *bench) ensureCSRs() error {
	if b.csrs != nil {
		return nil
	}
	var err error
	b.csrs, err = newCSRMaker(8)
	return err
}

// plot measures throughput at each concurrency, fake at 250 ms, for the
// PNG: Certificates (the whole pipeline) and CertificateRequests (the
// issuer alone).
func (b *bench) plot(ctx context.Context) error {
	if err := b.setLatency(ctx, b.sz.LatencyPerCall); err != nil {
		return err
	}
	defer func() { _ = b.setLatency(context.Background(), 0) }()
	for _, c := range b.sz.PlotConcurrency {
		if err := b.restartManager(c); err != nil {
			return err
		}
		n := b.sz.PlotN[c]
		run, err := b.runRequests(ctx, fmt.Sprintf("plot-req-c%d", c), n, c)
		if err != nil {
			return err
		}
		limit := latencyLimit(c, b.sz.LatencyPerCall, run.SigningCallsPerReady)
		b.rep.Concurrency = append(b.rep.Concurrency, ConcurrencyPoint{Concurrency: c, Kind: "CertificateRequests", N: n, Seconds: run.Seconds, PerSecond: run.PerSecond, LimitPerSecond: limit})
		crun, err := b.runCertificates(ctx, pathAtlas, fmt.Sprintf("plot-cert-c%d", c), n)
		if err != nil {
			return err
		}
		b.rep.Concurrency = append(b.rep.Concurrency, ConcurrencyPoint{Concurrency: c, Kind: "Certificates", N: n, Seconds: crun.Seconds, PerSecond: crun.PerSecond, LimitPerSecond: limit})
	}
	return b.restartManager(16)
}

// startToReadyPhase starts the manager with a new issuer already present
// and polls the issuer every 50 ms until it is Ready, several times; P5 is
// the slowest.
func (b *bench) startToReadyPhase(ctx context.Context) error {
	raw := &P5Raw{}
	var crs metav1.PartialObjectMetadataList
	crs.SetGroupVersionKind(cmapi.SchemeGroupVersion.WithKind("CertificateRequestList"))
	if err := b.env.Client.List(ctx, &crs); err != nil {
		return err
	}
	raw.CRsInCluster = len(crs.Items)
	b.rep.P5 = raw
	for i := range b.sz.StartRepeats {
		d, err := b.startToReady(ctx, fmt.Sprintf("start-%d", i))
		if err != nil {
			return err
		}
		raw.Seconds = append(raw.Seconds, round(d.Seconds(), 3))
	}
	raw.Median = median(raw.Seconds)
	raw.Max = slices.Max(raw.Seconds)
	b.rep.P5IssuerReadySecondsMax = new(raw.Max)
	return nil
}

// startToReady stops the manager, creates an issuer, starts the manager
// and times until the issuer is Ready.
func (b *bench) startToReady(ctx context.Context, what string) (time.Duration, error) {
	if err := b.stopped(b.env.StopManager(framework.ManagerStopTimeout)); err != nil {
		return 0, err
	}
	ns := b.namespace(what)
	if err := b.env.CreateNamespace(ctx, ns); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := b.env.StartManagerWithEnv(b.cfg.ManagerEnv); err != nil {
		return 0, err
	}
	ready, err := b.waitAtlasIssuer(ctx, ns, time.Minute, 50*time.Millisecond)
	if err != nil {
		return 0, err
	}
	d := ready.Sub(start)
	b.logf("  %s: issuer Ready %.2f s after the manager started", ns, d.Seconds())
	return d, b.deleteAtlasIssuer(ctx, ns)
}

// memory measures the manager's memory with many CertificateRequests and
// many unrelated Secrets in the cluster. P4 is the peak RSS while it signs
// MemoryRequests at once, or when it restarts with all of them present,
// whichever is larger. P8 restarts the manager at several counts of
// settled requests (none, MemoryRequests, then each further batch) and
// fits its settled RSS and live heap against the count: what each request
// the cluster holds costs the manager, apart from the transient of a burst.
func (b *bench) memory(ctx context.Context) error {
	raw := &P4Raw{Requests: b.sz.MemoryRequests, UnrelatedSecrets: b.sz.MemorySecrets, SecretBytes: b.sz.MemorySecretBytes}
	b.rep.P4 = raw
	p8 := &P8Raw{}
	b.rep.P8 = p8
	if err := b.ensureCSRs(); err != nil {
		return err
	}
	if err := b.cleanup(ctx); err != nil {
		return fmt.Errorf("delete earlier phases' objects: %w", err)
	}
	if err := b.setLatency(ctx, 0); err != nil {
		return err
	}
	secNS := b.namespace("memory-secrets")
	if err := b.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: secNS}}); err != nil {
		return err
	}
	b.logf("  %d unrelated Secrets in %s", raw.UnrelatedSecrets, secNS)
	if _, err := createAll(ctx, b.env.Client, secrets(secNS, raw.UnrelatedSecrets, raw.SecretBytes)); err != nil {
		return err
	}
	// The first point restarts the manager: a fresh VmHWM for the burst.
	if err := b.memoryPoint(ctx, p8); err != nil {
		return err
	}

	sampler := b.sampleRSS()
	defer sampler.stop()
	sampler.setPhase("sign")
	ns := b.namespace("memory")
	d, err := b.signBatch(ctx, ns, raw.Requests)
	if err != nil {
		return err
	}
	raw.SignSeconds = round(d.Seconds(), 1)
	if err := sleepCtx(ctx, 2*time.Second); err != nil { // the last status patches and events
		return err
	}
	mem, err := framework.ReadProcMemory(b.env.Manager().Pid())
	if err != nil {
		return err
	}
	raw.SignPeakMiB, raw.SignEndMiB = mib(mem.HWM), mib(mem.RSS)
	b.logf("  signing: peak %.1f MiB, now %.1f MiB", raw.SignPeakMiB, raw.SignEndMiB)
	if b.cfg.Pprof {
		p := filepath.Join(b.cfg.OutDir, "p4-heap.pprof")
		if err := fetch("http://"+b.pprof+"/debug/pprof/heap", p); err != nil {
			b.logf("  heap profile: %v", err)
		} else {
			raw.HeapProfile = p
		}
		// The text form ends with runtime.MemStats: heap in use, idle and
		// released, stacks, GC target.
		_ = fetch("http://"+b.pprof+"/debug/pprof/heap?debug=1", filepath.Join(b.cfg.OutDir, "p4-heap.txt"))
	}

	// A restart lists every request and Secret at once.
	sampler.setPhase("restart")
	if err := b.memoryPoint(ctx, p8); err != nil {
		return err
	}
	pt := p8.Points[len(p8.Points)-1]
	raw.RestartPeakMiB, raw.RestartSettledMiB, raw.RestartReadySeconds = pt.PeakRSSMiB, pt.RSSMiB, pt.ReadySeconds
	raw.Samples = sampler.stop()
	raw.RequestsInCluster = pt.Requests
	var secs metav1.PartialObjectMetadataList
	secs.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := b.env.Client.List(ctx, &secs); err == nil {
		raw.SecretsInCluster = len(secs.Items)
	}
	b.rep.P4RSSMiB = new(max(raw.SignPeakMiB, raw.RestartPeakMiB))

	for i, n := range b.sz.MemoryMore {
		bd, err := b.signBatch(ctx, b.namespace(fmt.Sprintf("memory-more-%d", i)), n)
		if err != nil {
			return err
		}
		mem, err := framework.ReadProcMemory(b.env.Manager().Pid())
		if err != nil {
			return err
		}
		p8.Batches = append(p8.Batches, MemoryBatch{Requests: n, Seconds: round(bd.Seconds(), 1), PeakRSSMiB: mib(mem.HWM)})
		if err := b.memoryPoint(ctx, p8); err != nil {
			return err
		}
	}
	var xs, rss, heap []float64
	for _, p := range p8.Points {
		xs = append(xs, float64(p.Requests)/1000)
		rss = append(rss, p.RSSMiB)
		heap = append(heap, p.LiveHeapMiB)
		if p.Requests >= 20000 {
			b.rep.P8RSSMiBAt20k = new(p.PeakRSSMiB)
		}
	}
	p8.RSSMiBPer1k = round(slope(xs, rss), 2)
	p8.LiveHeapMiBPer1k = round(slope(xs, heap), 2)
	b.rep.P8RSSMiBPer1kRequests = new(p8.RSSMiBPer1k)
	return nil
}

// signBatch creates n CertificateRequests at once in a new namespace with
// a Ready AtlasIssuer and waits until all are signed.
func (b *bench) signBatch(ctx context.Context, ns string, n int) (time.Duration, error) {
	b.logf("  preparing %d CSRs", n)
	objs, err := b.csrs.requests(ns, "b", n)
	if err != nil {
		return 0, err
	}
	if err := b.atlasNamespace(ctx, ns); err != nil {
		return 0, err
	}
	b.logf("  %d CertificateRequests in %s", n, ns)
	stopProfiles := b.profileEvery(10*time.Second, "p4-sign")
	defer stopProfiles()
	sz := b.sz
	sz.ReadyTimeout = b.sz.MemorySignTimeout
	saved := b.sz
	b.sz = sz
	defer func() { b.sz = saved }()
	_, d, err := b.burst(ctx, ns, "CertificateRequests", objs)
	return d, err
}

// memoryPoint restarts the manager with what the cluster holds, waits until
// a new issuer is Ready and one more request is signed (the initial
// reconcile of everything present is then behind it) and a further 5 s,
// and reads its RSS, peak RSS since the restart and live heap.
func (b *bench) memoryPoint(ctx context.Context, p8 *P8Raw) error {
	var crs metav1.PartialObjectMetadataList
	crs.SetGroupVersionKind(cmapi.SchemeGroupVersion.WithKind("CertificateRequestList"))
	if err := b.env.Client.List(ctx, &crs); err != nil {
		return err
	}
	pt := MemoryPoint{Requests: len(crs.Items)}
	d, err := b.startToReady(ctx, fmt.Sprintf("memory-point-%d", len(p8.Points)))
	if err != nil {
		return err
	}
	pt.ReadySeconds = round(d.Seconds(), 3)
	extraNS := b.namespace("memory-extra")
	if err := b.atlasNamespace(ctx, extraNS); err != nil {
		return err
	}
	extra, err := b.csrs.requests(extraNS, "b", 1)
	if err != nil {
		return err
	}
	if _, _, err := b.burst(ctx, extraNS, "CertificateRequests", extra); err != nil {
		return err
	}
	if err := sleepCtx(ctx, 5*time.Second); err != nil {
		return err
	}
	mem, err := framework.ReadProcMemory(b.env.Manager().Pid())
	if err != nil {
		return err
	}
	pt.RSSMiB, pt.PeakRSSMiB = mib(mem.RSS), mib(mem.HWM)
	heap, err := liveHeap(ctx, b.pprof)
	if err != nil {
		return err
	}
	pt.LiveHeapMiB = mib(heap)
	p8.Points = append(p8.Points, pt)
	b.logf("  %d requests in the cluster: RSS %.1f MiB (peak %.1f since the restart), live heap %.1f MiB",
		pt.Requests, pt.RSSMiB, pt.PeakRSSMiB, pt.LiveHeapMiB)
	return nil
}

// profileEvery saves a heap profile of the manager every interval, when
// pprof is on: the peak of a burst is rarely where it ends.
func (b *bench) profileEvery(every time.Duration, prefix string) (stop func()) {
	if b.pprof == "" || !b.cfg.PprofEvery {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			case <-t.C:
			}
			_ = fetch("http://"+b.pprof+"/debug/pprof/heap?debug=1", filepath.Join(b.cfg.OutDir, fmt.Sprintf("%s-%03d.txt", prefix, i*int(every/time.Second))))
			_ = fetch("http://"+b.pprof+"/debug/pprof/heap", filepath.Join(b.cfg.OutDir, fmt.Sprintf("%s-%03d.pprof", prefix, i*int(every/time.Second))))
		}
	}()
	return func() { close(done) }
}

func mib(bytes int64) float64 { return round(float64(bytes)/(1<<20), 1) }

func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close() // the copy error is the one to report
		return err
	}
	return f.Close()
}

// rssSampler reads the current manager's RSS every 250 ms.
type rssSampler struct {
	b       *bench
	mu      sync.Mutex
	phase   string
	samples []Sample
	done    chan struct{}
	stopped bool
}

func (b *bench) sampleRSS() *rssSampler {
	s := &rssSampler{b: b, done: make(chan struct{})}
	start := time.Now()
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
			}
			p := b.env.Manager()
			if p == nil {
				continue
			}
			m, err := framework.ReadProcMemory(p.Pid())
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.samples = append(s.samples, Sample{Seconds: round(time.Since(start).Seconds(), 2), MiB: mib(m.RSS), Phase: s.phase})
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *rssSampler) setPhase(p string) {
	s.mu.Lock()
	s.phase = p
	s.mu.Unlock()
}

// stop ends sampling and returns the samples, thinned to at most 400.
func (s *rssSampler) stop() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.stopped = true
		close(s.done)
	}
	out := s.samples
	if step := len(out)/400 + 1; step > 1 {
		var thin []Sample
		for i := 0; i < len(out); i += step {
			thin = append(thin, out[i])
		}
		out = thin
	}
	return out
}
