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

package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// Config sizes a chaos run. The defaults are the issue's: 500 Certificates
// under faults, 200 under at least 20 kills.
type Config struct {
	WorkDir     string
	FaultCerts  int
	CrashCerts  int
	MinKills    int
	LeaderKills int
	// TenantCerts is the well-behaved tenant's Certificates per half of
	// the hostile-tenant phase (alone, then beside the hostile tenant).
	TenantCerts  int
	FaultTimeout time.Duration
	CrashTimeout time.Duration
	// Seed makes the random choices (kill moments) repeatable; the fake's
	// fault draws are not.
	Seed uint64
	// Skip names phases not to run, for development (a run that skips
	// one misses its goals): badinput, faults, tenants, crash, lookup,
	// controlplane.
	Skip map[string]bool
	Logf func(format string, args ...any)
}

// Defaults fills zero fields.
func (c *Config) Defaults() {
	if c.FaultCerts == 0 {
		c.FaultCerts = 500
	}
	if c.CrashCerts == 0 {
		c.CrashCerts = 200
	}
	if c.MinKills == 0 {
		c.MinKills = 20
	}
	if c.LeaderKills == 0 {
		c.LeaderKills = 4
	}
	if c.TenantCerts == 0 {
		c.TenantCerts = 40
	}
	if c.FaultTimeout == 0 {
		c.FaultTimeout = 9 * time.Minute
	}
	if c.CrashTimeout == 0 {
		c.CrashTimeout = 8 * time.Minute
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Namespaces of the runs.
const (
	nsFaults   = "chaos-faults"
	nsCrash    = "chaos-crash"
	nsBadInput = "chaos-badinput"
	// crashIssuer is the AtlasClusterIssuer of the crash run.
	crashIssuer = "chaos-crash"
)

// run is the state of one chaos run.
type run struct {
	cfg      Config
	env      *framework.Env
	rnd      *mrand.Rand
	logf     func(string, ...any)
	canaries *canaries
	report   *Report
	watch    cache.Cache
	// requests is every CertificateRequest the watch saw over the run.
	requests *requestLedger

	// fakes are the fake Atlases besides the setup's, whose tokens are
	// canaries too.
	fakes []*framework.Fake
	// resubmittedKeys are the key fingerprints of the requests the
	// --resubmit-undecided-after bound let a manager submit again.
	resubmittedKeys []string
	// plantedDuplicate is the key of the request whose CSR the harness
	// posted straight to its fake once more: the duplicate count's control.
	plantedDuplicate string

	mu        sync.Mutex
	processes []*framework.Process
}

// Managers' flags for every chaos process: the most verbose logs (the
// leak scan reads them), a short lookup grace so that requests whose
// submission was cut short are resubmitted within the run, and frequent
// issuer rechecks so that checks run under faults too.
var managerArgs = []string{
	"--zap-log-level=10",
	"--lookup-grace=20s",
	"--issuer-recheck-interval=30s",
	"--max-concurrent-requests=16",
}

// Run performs the whole chaos run and returns its report. An error means
// the harness itself failed; missed goals are in Report.Goals.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.Defaults()
	start := time.Now()
	r := &run{cfg: cfg, rnd: mrand.New(mrand.NewPCG(cfg.Seed, cfg.Seed^0x5eed)), logf: cfg.Logf,
		report: &Report{Details: Details{Seed: cfg.Seed}}}
	var err error
	if r.canaries, err = newCanaries(); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(cfg.WorkDir); err != nil {
		return nil, err
	}
	r.env, err = framework.Setup(ctx, framework.Options{
		WorkDir:     cfg.WorkDir,
		ManagerArgs: managerArgs,
		FakeArgs:    []string{"--api-key", r.canaries.apiKey, "--api-secret", r.canaries.apiSecret},
		Logf:        cfg.Logf,
	})
	if err != nil {
		return nil, err
	}
	defer r.teardown()
	if err := r.canaries.readCredentials(r.env); err != nil {
		return nil, err
	}
	for _, ns := range []string{nsFaults, nsCrash, nsBadInput} {
		if err := r.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return nil, err
		}
	}
	if r.watch, err = r.env.WatchCache(ctx, []client.ObjectList{&cmapi.CertificateList{}, &cmapi.CertificateRequestList{}},
		watchedNamespaces()...); err != nil {
		return nil, err
	}
	r.requests = newRequestLedger()
	crInformer, err := r.watch.GetInformer(ctx, &cmapi.CertificateRequest{})
	if err != nil {
		return nil, err
	}
	if _, err := crInformer.AddEventHandler(r.requests.handler()); err != nil {
		return nil, err
	}

	for _, phase := range []struct {
		name, what string
		run        func(context.Context) error
	}{
		{"badinput", "bad input", r.badInput},
		{"faults", "fault matrix", r.faultMatrix},
		{"tenants", "tenants", r.tenants},
		{"crash", "crashes", r.crashes},
		{"lookup", "lookup failures", r.lookupPhases},
		{"controlplane", "control plane", r.controlPlane},
	} {
		if cfg.Skip[phase.name] {
			r.logf("skipping %s", phase.what)
			continue
		}
		if err := phase.run(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", phase.what, err)
		}
	}
	// Every manager has stopped by now but the setup's, if the crash run
	// was skipped: nothing may rewrite the leak scan's control status.
	if err := r.env.Manager().Stop(15 * time.Second); err != nil {
		return nil, err
	}
	if err := r.countOrphans(ctx); err != nil {
		return nil, fmt.Errorf("orphans: %w", err)
	}
	if err := r.verifyCertificates(ctx); err != nil {
		return nil, err
	}
	if err := r.scanLeaks(ctx); err != nil {
		return nil, fmt.Errorf("leak scan: %w", err)
	}
	if err := r.countDuplicates(ctx); err != nil {
		return nil, err
	}
	r.report.Details.WallSeconds = time.Since(start).Seconds()
	r.report.Judge(cfg.MinKills)
	return r.report, nil
}

func (r *run) track(p *framework.Process) {
	r.mu.Lock()
	r.processes = append(r.processes, p)
	r.mu.Unlock()
}

func (r *run) teardown() {
	r.mu.Lock()
	ps := r.processes
	r.mu.Unlock()
	for _, p := range ps {
		_ = p.Stop(10 * time.Second)
	}
	r.env.Teardown()
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// createCertificates creates Certificates name-0..name-(n-1) with 16
// workers, each for <name>-<i>.<namespace>.chaos.example, spread over
// spread (zero: as fast as possible).
func (r *run) createCertificates(ctx context.Context, namespace, prefix, issuerKind, issuer string, from, to int, spread time.Duration) error {
	jobs := make(chan int)
	errc := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range jobs {
				name := fmt.Sprintf("%s-%03d", prefix, i)
				crt := framework.Certificate(namespace, name, issuerKind, issuer, dnsName(namespace, name))
				if err := r.env.Client.Create(ctx, crt); err != nil {
					select {
					case errc <- fmt.Errorf("create %s/%s: %w", namespace, name, err):
					default:
					}
					return
				}
			}
		})
	}
	var gap time.Duration
	if n := to - from; n > 0 && spread > 0 {
		gap = spread / time.Duration(n)
	}
	for i := from; i < to; i++ {
		select {
		case jobs <- i:
		case err := <-errc:
			close(jobs)
			wg.Wait()
			return err
		case <-ctx.Done():
			close(jobs)
			wg.Wait()
			return ctx.Err()
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func dnsName(namespace, name string) string {
	return name + "." + namespace + ".chaos.example"
}

// progress is a snapshot of one run's Certificates and requests.
type progress struct {
	total, ready int
	// reissued counts Certificates cert-manager issued more than once.
	reissued int
	notReady []string
	requests int
	failed   []string
}

// snapshot reads the watch cache.
func (r *run) snapshot(ctx context.Context, namespace string) (progress, error) {
	var p progress
	var certs cmapi.CertificateList
	if err := r.watch.List(ctx, &certs, client.InNamespace(namespace)); err != nil {
		return p, err
	}
	p.total = len(certs.Items)
	for i := range certs.Items {
		if rev := certs.Items[i].Status.Revision; rev != nil && *rev > 1 {
			p.reissued++
		}
		if framework.IsReady(&certs.Items[i]) {
			p.ready++
		} else {
			p.notReady = append(p.notReady, certs.Items[i].Name)
		}
	}
	var crs cmapi.CertificateRequestList
	if err := r.watch.List(ctx, &crs, client.InNamespace(namespace)); err != nil {
		return p, err
	}
	p.requests = len(crs.Items)
	for _, cr := range crs.Items {
		for _, c := range cr.Status.Conditions {
			if c.Type == cmapi.CertificateRequestConditionReady && c.Status == cmmeta.ConditionFalse && c.Reason == cmapi.CertificateRequestReasonFailed {
				p.failed = append(p.failed, cr.Name+": "+c.Message)
			}
		}
	}
	sort.Strings(p.notReady)
	sort.Strings(p.failed)
	return p, nil
}

// waitReady follows a namespace until every one of want Certificates is
// Ready or the deadline passes; tick runs every poll (kills, token
// expiry) and may end the wait early with an error.
func (r *run) waitReady(ctx context.Context, namespace string, want int, deadline time.Time, tick func() error) (progress, error) {
	last := time.Time{}
	for {
		p, err := r.snapshot(ctx, namespace)
		if err != nil {
			return p, err
		}
		if time.Since(last) > 15*time.Second {
			r.logf("%s: %d/%d Certificates Ready, %d requests, %d failed", namespace, p.ready, want, p.requests, len(p.failed))
			last = time.Now()
		}
		if (p.total >= want && p.ready >= want) || time.Now().After(deadline) {
			return p, nil
		}
		if tick != nil {
			if err := tick(); err != nil {
				return p, err
			}
		}
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// issuerReady waits for an issuer of ours to be Ready.
// readyIssuer creates the canary credentials Secret and an AtlasIssuer
// "atlas" in ns, and waits until the issuer is Ready.
func (r *run) readyIssuer(ctx context.Context, ns string, encryptedKey bool) (*v1alpha1.AtlasIssuer, error) {
	sec, err := r.canaries.secret(r.env, ns, "atlas-credentials", encryptedKey)
	if err != nil {
		return nil, err
	}
	if err := r.env.Client.Create(ctx, sec); err != nil {
		return nil, err
	}
	spec, err := r.env.IssuerSpec(sec.Name)
	if err != nil {
		return nil, err
	}
	iss := &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atlas"}, Spec: spec}
	if err := r.env.Client.Create(ctx, iss); err != nil {
		return nil, err
	}
	return iss, r.issuerReady(ctx, iss, 2*time.Minute)
}

func (r *run) issuerReady(ctx context.Context, obj client.Object, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := r.env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err == nil {
			var conds []metav1.Condition
			switch o := obj.(type) {
			case *v1alpha1.AtlasIssuer:
				conds = o.Status.Conditions
			case *v1alpha1.AtlasClusterIssuer:
				conds = o.Status.Conditions
			}
			if framework.IssuerReady(conds) {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("issuer %s not Ready after %s: %+v", obj.GetName(), timeout, conds)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// watchedNamespaces are the namespaces of the runs the watch cache
// follows.
func watchedNamespaces() []string {
	out := []string{nsFaults, nsCrash, nsGood, nsHostile}
	for _, ns := range lookupNamespaces {
		out = append(out, ns)
	}
	for _, name := range cpNames {
		out = append(out, cpNamespace(name))
	}
	return out
}

// countDuplicates sorts the certificates every fake Atlas of the run
// issued for a key that already had one (accountDuplicates): the report's
// duplicates are the issuer's, certificates beyond one per request, less
// the planted control and those the resubmission bound explains (the
// second certificate, at most one, of each request it let be submitted
// again). Each control-plane scenario's duplicates are counted the same
// way over its namespace, at the end of the run, so that cert-manager's
// late requests in one scenario's namespace are not another's.
func (r *run) countDuplicates(ctx context.Context) error {
	issued := map[string][]fake.IssuedCertificate{}
	r.report.Details.DuplicatesByFake = map[string]int{}
	for _, f := range r.allFakes() {
		st, err := f.admin.Stats(ctx)
		if err != nil {
			return err
		}
		r.report.Details.DuplicatesByFake[f.name] = st.Duplicates
		if f.admin == r.env.Admin {
			st.IssuedPerKey = nil // one entry per certificate: too long for the report
			r.report.Details.FakeStats = &st
		}
		if issued[f.name], err = f.admin.Issued(ctx); err != nil {
			return err
		}
	}
	recs := r.requests.records()
	// The shared account's seeded history is other clients' certificates,
	// all for one key.
	d := accountDuplicates(issued, recs, func(c fake.IssuedCertificate) bool { return !seeded(c) })
	beyond := map[string]int{}
	for _, k := range d.Keys {
		beyond[k.Fingerprint] += k.IssuerDuplicates
	}
	if r.plantedDuplicate != "" && beyond[r.plantedDuplicate] > 0 {
		r.report.DuplicateControlCounted = true
		beyond[r.plantedDuplicate]--
	}
	for _, fp := range r.resubmittedKeys {
		if beyond[fp] > 0 {
			r.report.DuplicatesByBound++
			beyond[fp]--
		}
	}
	r.report.Duplicates = sumValues(beyond)
	r.report.SameKeyCertificates = d.SameKey
	r.report.Details.Duplicates = &d
	for name, c := range r.report.ControlPlane {
		ns := cpNamespace(name)
		cd := accountDuplicates(issued, recs, inNamespaceOnly(ns))
		c.Duplicates, c.SameKeyCertificates = cd.Issuer, cd.SameKey
	}
	return nil
}

// inNamespaceOnly matches the certificates for a name of the run in ns.
func inNamespaceOnly(ns string) func(fake.IssuedCertificate) bool {
	match := inNamespace(ns)
	return func(c fake.IssuedCertificate) bool { return match("", c) }
}

// verifyCertificates checks every Ready Certificate's Secret the way a TLS
// client would.
func (r *run) verifyCertificates(ctx context.Context) error {
	for _, ns := range watchedNamespaces() {
		if ns == nsGood || ns == nsHostile {
			continue
		}
		var certs cmapi.CertificateList
		if err := r.watch.List(ctx, &certs, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, c := range certs.Items {
			if !framework.IsReady(&c) {
				continue
			}
			sec := &corev1.Secret{}
			if err := r.env.Get(ctx, ns, c.Spec.SecretName, sec); err != nil {
				r.report.InvalidCertificates++
				r.logf("certificate %s/%s: secret: %v", ns, c.Name, err)
				continue
			}
			if _, err := framework.VerifySecret(sec, c.Spec.DNSNames[0]); err != nil {
				r.report.InvalidCertificates++
				r.logf("certificate %s/%s: %v", ns, c.Name, err)
			}
		}
	}
	return nil
}

// managerLogs returns the paths of every manager log of the run.
func (r *run) managerLogs() []string {
	logs, _ := filepath.Glob(filepath.Join(r.env.WorkDir, "manager*.log"))
	return logs
}

// countInLogs counts lines containing s over every manager log.
func (r *run) countInLogs(s string) int {
	n := 0
	for _, l := range r.managerLogs() {
		b, err := os.ReadFile(l)
		if err == nil {
			n += strings.Count(string(b), s)
		}
	}
	return n
}
