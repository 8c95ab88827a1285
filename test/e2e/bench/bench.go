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
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// Phases in run order. P3 is counted during P1.
var Phases = []string{"p1", "p5", "p2", "plot", "p4"}

// Config selects the size of a run.
type Config struct {
	// Quick is BENCH_QUICK=1: smaller counts, within 10 minutes.
	Quick bool
	// OutDir receives report.json, report.md, throughput.png and work/.
	OutDir string
	// Only runs these phases (see Phases); empty runs all.
	Only []string
	// Pprof serves the manager's pprof endpoints and saves a heap profile
	// and runtime.MemStats at the end of P4; PprofEvery also saves them
	// every 10 s while P4 signs (that perturbs the RSS it measures).
	Pprof, PprofEvery bool
	// ManagerEnv are extra environment variables for the manager alone,
	// for investigations (GODEBUG=gctrace=1); a run that sets them says so
	// in the report.
	ManagerEnv []string
	Logf       func(format string, args ...any)
}

// Sizes are the counts of a run.
type Sizes struct {
	P1N, P1Rounds    int
	P2N, P2Requests  int
	Warmup           int
	PlotN            map[int]int
	P4Requests       int
	P4Secrets        int
	P4SecretBytes    int
	P5Repeats        int
	ReadyTimeout     time.Duration
	P4SignTimeout    time.Duration
	PlotConcurrency  []int
	LatencyPerCall   time.Duration
	P2MaxConcurrency int
}

// SizesFor returns the counts of the issue: 500 Certificates and 5,000
// requests, or 200 and 2,000 in quick mode.
func SizesFor(quick bool) Sizes {
	s := Sizes{
		P1N: 500, P1Rounds: 4, P2N: 500, P2Requests: 500, Warmup: 10,
		PlotN:      map[int]int{1: 30, 4: 100, 16: 300, 64: 500},
		P4Requests: 5000, P4Secrets: 2000, P4SecretBytes: 2048,
		P5Repeats: 5, ReadyTimeout: 10 * time.Minute, P4SignTimeout: 20 * time.Minute,
		PlotConcurrency: []int{1, 4, 16, 64}, LatencyPerCall: 250 * time.Millisecond, P2MaxConcurrency: 16,
	}
	if quick {
		s.P1N, s.P2N, s.P2Requests = 200, 200, 200
		s.PlotN = map[int]int{1: 12, 4: 40, 16: 150, 64: 200}
		s.P4Requests, s.P5Repeats = 2000, 3
		s.ReadyTimeout, s.P4SignTimeout = 4*time.Minute, 6*time.Minute
	}
	return s
}

type bench struct {
	cfg    Config
	sz     Sizes
	env    *framework.Env
	cs     cmclient.Interface
	rep    *Report
	csrs   *csrMaker
	pprof  string // host:port of the manager's pprof endpoints, when on
	logf   func(string, ...any)
	nsSeq  int
	caRate float64
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
	rep := &Report{Quick: cfg.Quick, Started: start, Machine: machine(), ManagerEnv: cfg.ManagerEnv}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	work := filepath.Join(cfg.OutDir, "work")
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	// What an earlier run left must not pass for this run's output.
	old, _ := filepath.Glob(filepath.Join(cfg.OutDir, "p4-*"))
	for _, f := range append(old, "report.json", "report.md", "throughput.png") {
		if !filepath.IsAbs(f) {
			f = filepath.Join(cfg.OutDir, f)
		}
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	b := &bench{cfg: cfg, sz: sz, rep: rep, logf: logf}
	var managerArgs []string
	if cfg.Pprof {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		b.pprof = addr
		managerArgs = append(managerArgs, "--pprof-bind-address", addr)
	}
	env, err := framework.Setup(ctx, framework.Options{WorkDir: work, ManagerArgs: managerArgs, Logf: logf})
	if err != nil {
		return nil, err
	}
	defer env.Teardown()
	b.env = env
	if b.cs, err = cmclient.NewForConfig(env.RESTConfig); err != nil {
		return nil, err
	}

	measured := map[string]bool{}
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
		switch name {
		case "p1":
			measured["p1_ratio_vs_ca_issuer"], measured["p3_atlas_calls_per_cert"] = true, true
		case "p2":
			measured["p2_fraction_of_latency_limit"] = true
		case "p4":
			measured["p4_rss_mib"] = true
		case "p5":
			measured["p5_issuer_ready_seconds"] = true
		}
	}
	if want("p1") || want("p2") {
		phase("warmup", b.warmup)
	}
	phase("p1", b.p1)
	phase("p5", b.p5)
	phase("p2", b.p2)
	phase("plot", b.plot)
	phase("p4", b.p4)

	rep.Errors = errs
	rep.Seconds = round(time.Since(start).Seconds(), 1)
	rep.setGoals(measured)
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
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return m
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
// the first create to the last Ready.
func (b *bench) burst(ctx context.Context, ns, kind string, objs []client.Object) (time.Duration, error) {
	var t *tracker
	var err error
	if kind == "Certificates" {
		t, err = trackCertificates(ctx, b.cs, ns, "b-", len(objs))
	} else {
		t, err = trackRequests(ctx, b.cs, ns, "b-", len(objs))
	}
	if err != nil {
		return 0, err
	}
	defer t.close()
	done := make(chan struct{})
	go b.progress(t, done)
	defer close(done)
	first, err := createAll(ctx, b.env.Client, objs)
	if err != nil {
		return 0, err
	}
	last, err := t.wait(ctx, b.sz.ReadyTimeout)
	if err != nil {
		return 0, err
	}
	return last.Sub(first), nil
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
	if _, err := b.burst(ctx, ns, "Certificates", objs); err != nil {
		return err
	}
	return b.deleteAtlasIssuer(ctx, ns)
}

// runCertificates is one timed P1/P2 run of n Certificates on one path in
// a fresh namespace. For the Atlas path the fake's counters are reset
// before the issuer is created, so its Check counts too.
func (b *bench) runCertificates(ctx context.Context, path, what string, n int) (Burst, error) {
	ns := b.namespace(what)
	run := Burst{Path: path, Namespace: ns, N: n}
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
	run.LoadBefore = loadAvg1()
	d, err := b.burst(ctx, ns, "Certificates", certificates(ns, "b", path, n))
	if err != nil {
		return run, err
	}
	run.LoadAfter = loadAvg1()
	run.Requests = requests.seenCount()
	run.Seconds = round(d.Seconds(), 3)
	run.PerSecond = round(float64(n)/d.Seconds(), 2)
	if path == pathAtlas {
		if err := b.countCalls(ctx, &run); err != nil {
			return run, err
		}
		if err := b.deleteAtlasIssuer(ctx, ns); err != nil {
			return run, err
		}
	}
	b.logf("  %s: %d in %.2f s (%.1f/s)", path, n, run.Seconds, run.PerSecond)
	return run, nil
}

func (b *bench) countCalls(ctx context.Context, run *Burst) error {
	st, err := b.env.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	run.AtlasCalls, run.TotalCalls, run.Issued, run.PeakInFlight = st.Calls, st.TotalCalls, st.Issued, st.PeakInFlight
	return nil
}

// p1 runs rounds of one CA run and one Atlas run back to back, the order
// alternating (CA-Atlas, Atlas-CA, ...), so that a drifting machine load
// favours neither. The number of rounds is even so that each path goes
// first equally often: the runs drift slower as the cluster fills with
// their objects (envtest collects none), and with three rounds the CA
// issuer went first in two; the first run after the warm-up was the
// fastest in every benchmark recorded. The headline is the median of the
// rounds' ratios: one round slowed by a burst of load from outside the
// benchmark does not decide it. P3 comes from the same Atlas runs.
func (b *bench) p1(ctx context.Context) error {
	raw := &P1Raw{N: b.sz.P1N, WarmupPerPathN: b.sz.Warmup, CreateGoroutines: createWorkers}
	var p3 []Burst
	for r := range b.sz.P1Rounds {
		order := []string{pathCA, pathAtlas}
		if r%2 == 1 {
			order = []string{pathAtlas, pathCA}
		}
		var ca, atlas float64
		for _, path := range order {
			run, err := b.runCertificates(ctx, path, "p1", b.sz.P1N)
			if err != nil {
				return err
			}
			raw.Runs = append(raw.Runs, run)
			if path == pathCA {
				ca = run.Seconds
				raw.CASeconds += run.Seconds
			} else {
				atlas = run.Seconds
				raw.AtlasSeconds += run.Seconds
				p3 = append(p3, run)
			}
		}
		raw.RoundRatios = append(raw.RoundRatios, round(atlas/ca, 3))
	}
	raw.CASeconds, raw.AtlasSeconds = round(raw.CASeconds, 3), round(raw.AtlasSeconds, 3)
	runs := float64(b.sz.P1Rounds)
	raw.CAPerSecond = round(runs*float64(raw.N)/raw.CASeconds, 2)
	raw.AtlasPerSecond = round(runs*float64(raw.N)/raw.AtlasSeconds, 2)
	raw.TotalRatio = round(raw.AtlasSeconds/raw.CASeconds, 3)
	b.caRate = raw.CAPerSecond
	b.rep.P1 = raw
	b.rep.P1RatioVsCAIssuer = median(raw.RoundRatios)

	p3raw := &P3Raw{Source: "P1's AtlasIssuer runs at 0 ms, each with a new issuer whose Check is counted; the headline is their median"}
	var perCert []float64
	for _, run := range p3 {
		if run.Issued == 0 {
			continue
		}
		v := round(float64(run.TotalCalls)/float64(run.Issued), 4)
		perCert = append(perCert, v)
		p3raw.Runs = append(p3raw.Runs, P3Run{Namespace: run.Namespace, Calls: run.AtlasCalls, TotalCalls: run.TotalCalls, Issued: run.Issued, Requests: run.Requests, CallsPerCert: v})
	}
	b.rep.P3 = p3raw
	b.rep.P3AtlasCallsPerCert = median(perCert)
	return nil
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

// setLatency sets the fake's per-call latency and restarts the manager
// with the given concurrency.
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

// p2 runs the P1 burst at 250 ms per call with 16 concurrent requests,
// then the issuer alone with CertificateRequests.
func (b *bench) p2(ctx context.Context) error {
	c := b.sz.P2MaxConcurrency
	limit := float64(c) / (2 * b.sz.LatencyPerCall.Seconds())
	raw := &P2Raw{LatencyMS: int(b.sz.LatencyPerCall / time.Millisecond), MaxConcurrentRequests: c, LimitPerSecond: limit}
	if err := b.setLatency(ctx, b.sz.LatencyPerCall); err != nil {
		return err
	}
	defer func() { _ = b.setLatency(context.Background(), 0) }()
	if err := b.restartManager(c); err != nil {
		return err
	}
	run, err := b.runCertificates(ctx, pathAtlas, "p2", b.sz.P2N)
	if err != nil {
		return err
	}
	raw.Certificates = run
	b.rep.P2FractionOfLatencyLimit = round(run.PerSecond/limit, 3)
	if b.rep.P3 != nil && run.Issued > 0 {
		b.rep.P3.At250msCallsPerCert = round(float64(run.TotalCalls)/float64(run.Issued), 4)
	}
	if b.caRate > 0 {
		raw.CertificatesCAPerSecond = b.caRate
		raw.PipelineFractionOfLimit = round(b.caRate/limit, 3)
		if raw.PipelineFractionOfLimit < 1 {
			raw.CertificatesFractionNote = fmt.Sprintf("cert-manager's own pipeline bounds the Certificates figure on this machine: "+
				"with its CA issuer and no Atlas latency at all it issued %.1f certificates/s in P1, %.2f of this limit.", b.caRate, raw.PipelineFractionOfLimit)
		}
	}
	if b.sz.P2Requests > 0 {
		req, err := b.runRequests(ctx, "p2r", b.sz.P2Requests)
		if err != nil {
			return err
		}
		raw.Requests = req
		raw.RequestsFractionOfLimit = round(req.PerSecond/limit, 3)
	}
	b.rep.P2 = raw
	return nil
}

// runRequests times n CertificateRequests with ready CSRs through a fresh
// AtlasIssuer: the issuer without cert-manager's key generation.
func (b *bench) runRequests(ctx context.Context, what string, n int) (Burst, error) {
	ns := b.namespace(what)
	run := Burst{Path: pathAtlas, Namespace: ns, N: n}
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
	run.LoadBefore = loadAvg1()
	d, err := b.burst(ctx, ns, "CertificateRequests", objs)
	if err != nil {
		return run, err
	}
	run.LoadAfter = loadAvg1()
	run.Seconds = round(d.Seconds(), 3)
	run.PerSecond = round(float64(n)/d.Seconds(), 2)
	if err := b.countCalls(ctx, &run); err != nil {
		return run, err
	}
	b.logf("  requests: %d in %.2f s (%.1f/s)", n, run.Seconds, run.PerSecond)
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
		limit := float64(c) / (2 * b.sz.LatencyPerCall.Seconds())
		n := b.sz.PlotN[c]
		run, err := b.runRequests(ctx, fmt.Sprintf("plot-c%d", c), n)
		if err != nil {
			return err
		}
		b.rep.Concurrency = append(b.rep.Concurrency, ConcurrencyPoint{Concurrency: c, Kind: "CertificateRequests", N: n, Seconds: run.Seconds, PerSecond: run.PerSecond, LimitPerSecond: limit})
		crun, err := b.runCertificates(ctx, pathAtlas, fmt.Sprintf("plot-cert-c%d", c), n)
		if err != nil {
			return err
		}
		b.rep.Concurrency = append(b.rep.Concurrency, ConcurrencyPoint{Concurrency: c, Kind: "Certificates", N: n, Seconds: crun.Seconds, PerSecond: crun.PerSecond, LimitPerSecond: limit})
	}
	return b.restartManager(16)
}

// p5 starts the manager with a new issuer already present and polls the
// issuer every 50 ms until it is Ready.
func (b *bench) p5(ctx context.Context) error {
	raw := &P5Raw{}
	var crs cmapi.CertificateRequestList
	if err := b.env.Client.List(ctx, &crs); err != nil {
		return err
	}
	raw.CRsInCluster = len(crs.Items)
	for i := range b.sz.P5Repeats {
		d, err := b.startToReady(ctx, fmt.Sprintf("p5-%d", i))
		if err != nil {
			return err
		}
		raw.Seconds = append(raw.Seconds, round(d.Seconds(), 3))
	}
	s := slices.Clone(raw.Seconds)
	sort.Float64s(s)
	raw.Median = s[len(s)/2]
	b.rep.P5 = raw
	b.rep.P5IssuerReadySeconds = raw.Median
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

// p4 measures the manager's peak RSS while it signs many
// CertificateRequests with many unrelated Secrets in the cluster, and again
// when it restarts with all of them present.
func (b *bench) p4(ctx context.Context) error {
	raw := &P4Raw{Requests: b.sz.P4Requests, UnrelatedSecrets: b.sz.P4Secrets, SecretBytes: b.sz.P4SecretBytes}
	b.rep.P4 = raw
	if err := b.ensureCSRs(); err != nil {
		return err
	}
	if err := b.cleanup(ctx); err != nil {
		return fmt.Errorf("delete earlier phases' objects: %w", err)
	}
	ns := b.namespace("p4")
	b.logf("  preparing %d CSRs", raw.Requests)
	objs, err := b.csrs.requests(ns, "b", raw.Requests)
	if err != nil {
		return err
	}
	if err := b.setLatency(ctx, 0); err != nil {
		return err
	}
	if err := b.restartManager(16); err != nil { // a fresh VmHWM
		return err
	}
	sampler := b.sampleRSS()
	defer sampler.stop()

	sampler.setPhase("secrets")
	secNS := b.namespace("p4-secrets")
	if err := b.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: secNS}}); err != nil {
		return err
	}
	b.logf("  %d unrelated Secrets in %s", raw.UnrelatedSecrets, secNS)
	if _, err := createAll(ctx, b.env.Client, secrets(secNS, raw.UnrelatedSecrets, raw.SecretBytes)); err != nil {
		return err
	}
	sampler.setPhase("sign")
	if err := b.atlasNamespace(ctx, ns); err != nil {
		return err
	}
	b.logf("  %d CertificateRequests in %s", raw.Requests, ns)
	stopProfiles := b.profileEvery(10*time.Second, "p4-sign")
	sz := b.sz
	sz.ReadyTimeout = b.sz.P4SignTimeout
	saved := b.sz
	b.sz = sz
	d, err := b.burst(ctx, ns, "CertificateRequests", objs)
	b.sz = saved
	stopProfiles()
	if err != nil {
		return err
	}
	raw.SignSeconds = round(d.Seconds(), 1)
	time.Sleep(2 * time.Second) // let the last status patches and events settle
	mem, err := framework.ReadProcMemory(b.env.Manager().Pid())
	if err != nil {
		return err
	}
	raw.SignPeakMiB, raw.SignEndMiB = mib(mem.HWM), mib(mem.RSS)
	b.logf("  signing: peak %.1f MiB, now %.1f MiB", raw.SignPeakMiB, raw.SignEndMiB)
	if b.pprof != "" {
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
	d, err = b.startToReady(ctx, "p4-restart")
	if err != nil {
		return err
	}
	raw.RestartReadySeconds = round(d.Seconds(), 3)
	// One more request after the restart: when it is Ready, the initial
	// reconcile of everything present is behind us.
	extraNS := b.namespace("p4-extra")
	if err := b.atlasNamespace(ctx, extraNS); err != nil {
		return err
	}
	extra, err := b.csrs.requests(extraNS, "b", 1)
	if err != nil {
		return err
	}
	if _, err := b.burst(ctx, extraNS, "CertificateRequests", extra); err != nil {
		return err
	}
	time.Sleep(5 * time.Second)
	mem, err = framework.ReadProcMemory(b.env.Manager().Pid())
	if err != nil {
		return err
	}
	raw.RestartPeakMiB, raw.RestartSettledMiB = mib(mem.HWM), mib(mem.RSS)
	b.logf("  restart: peak %.1f MiB, now %.1f MiB", raw.RestartPeakMiB, raw.RestartSettledMiB)
	raw.Samples = sampler.stop()

	var crs metav1.PartialObjectMetadataList
	crs.SetGroupVersionKind(cmapi.SchemeGroupVersion.WithKind("CertificateRequestList"))
	if err := b.env.Client.List(ctx, &crs); err == nil {
		raw.RequestsInCluster = len(crs.Items)
	}
	var secs metav1.PartialObjectMetadataList
	secs.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := b.env.Client.List(ctx, &secs); err == nil {
		raw.SecretsInCluster = len(secs.Items)
	}
	b.rep.P4RSSMiB = max(raw.SignPeakMiB, raw.RestartPeakMiB)
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

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
