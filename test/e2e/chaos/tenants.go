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
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// Goals of the hostile-tenant phase.
const (
	// maxIsolationRatio bounds how much slower the well-behaved tenant's
	// issuance p95 may get with a hostile tenant beside it.
	maxIsolationRatio = 1.5
)

// Namespaces and issuers of the hostile-tenant phase.
const (
	nsGood    = "chaos-tenant-good"
	nsHostile = "chaos-tenant-hostile"
	// sharedFakeName is the shared issuer's fake Atlas.
	sharedFakeName = "fake-atlas-shared"
	// sharedIssuer is an AtlasClusterIssuer both tenants may use, on an
	// Atlas account of its own: the account whose certificates the forged
	// serial annotations point at.
	sharedIssuer = "chaos-shared"
	// victims are normal issuances through the shared issuer: the
	// certificates the forged requests try to obtain, and the baseline of
	// a normal issuance's Atlas calls.
	victims = 3
	// forgedWindow is how long the forged requests are watched: long
	// enough for a lookup and a few retries, short enough that a request
	// polled forever shows up as calls rather than as a stalled run.
	forgedWindow = 45 * time.Second
	// hostileGrace is how much longer the hostile phase may go on for
	// every hostile behaviour to have happened at least once.
	hostileGrace = 90 * time.Second
)

// hostileFaults is the hostile tenant's Atlas: slow, rate limiting with a
// long Retry-After, padding answers to megabytes and sending a trust chain
// of thousands of certificates. The validation policy and the quota, which
// an issuer check asks for before the trust chain, are left alone: padded,
// they are refused for their size first, and the huge chain would go
// untried.
var hostileFaults = fake.Faults{
	Latency:         3 * time.Second,
	RateLimitRate:   0.5,
	RetryAfter:      10 * time.Second,
	OversizeBytes:   4 << 20,
	TrustChainExtra: 4000,
	Operations: []string{fake.OpLogin, fake.OpTrustChain,
		fake.OpRequestCertificate, fake.OpRetrieveCertificate, fake.OpStatsIssued},
}

// TenantsDetail describes the hostile-tenant phase.
type TenantsDetail struct {
	// Certificates is the well-behaved tenant's count per half.
	Certificates    int     `json:"certificates_per_half"`
	AloneP50        float64 `json:"alone_p50_seconds"`
	AloneP95        float64 `json:"alone_p95_seconds"`
	HostileP50      float64 `json:"with_hostile_p50_seconds"`
	HostileP95      float64 `json:"with_hostile_p95_seconds"`
	AloneNotReady   int     `json:"alone_not_ready"`
	HostileNotReady int     `json:"with_hostile_not_ready"`
	HostileCerts    int     `json:"hostile_certificates"`
	HostileReady    int     `json:"hostile_ready"`
	MemoryLimitMiB  float64 `json:"memory_limit_mib"`
	// PeakReset says the manager's VmHWM was reset when the hostile half
	// began (/proc/<pid>/clear_refs); otherwise the peak is the process's
	// since it started, an upper bound of the hostile half's.
	PeakReset bool `json:"peak_reset"`
	// HostileFaults and HostileFaultsObserved: what the hostile fake was
	// asked to do and what it counted doing.
	HostileFaults         fake.Faults    `json:"hostile_faults"`
	HostileFaultsObserved map[string]int `json:"hostile_faults_observed"`
	HostileCalls          map[string]int `json:"hostile_atlas_calls"`
	// NormalCalls are the shared account's calls for Victims normal
	// issuances. BaselineCalls are its calls for the forged requests'
	// copies without the forged annotations (BaselineRequests, of which
	// BaselineEnded ended within the window), run before the tenants are
	// timed, and ForgedCalls those for the forged requests, run beside the
	// hostile tenant; each run has the account to itself until every
	// request ended.
	Victims            int            `json:"normal_issuances"`
	SeededCertificates int            `json:"shared_account_history"`
	NormalCalls        map[string]int `json:"normal_atlas_calls"`
	BaselineRequests   int            `json:"baseline_requests"`
	BaselineEnded      int            `json:"baseline_ended"`
	BaselineCalls      map[string]int `json:"baseline_atlas_calls"`
	ForgedCalls        map[string]int `json:"forged_atlas_calls"`
	ForgedRequests     int            `json:"forged_requests"`
	Forged             []ForgedCase   `json:"forged"`
	// The same for the good tenant's CertificateRequests, from when the
	// watch first saw each to when it became Ready: the issuer's part of
	// an issuance, without cert-manager's key generation and Secret
	// writes, which share the machine's cores with the hostile tenant.
	RequestsAloneP95      float64 `json:"requests_alone_p95_seconds"`
	RequestsHostileP95    float64 `json:"requests_with_hostile_p95_seconds"`
	RequestIsolationRatio float64 `json:"request_isolation_ratio"`
	// MisissueControls say the misissuance check flags, against a forged
	// request, another request's certificate and a certificate for the
	// request's very names with another key; MisissueControl that it
	// flags both: it can see a misissuance.
	MisissueControls map[string]bool `json:"misissue_check_controls"`
	MisissueControl  bool            `json:"misissue_check_control"`
	Seconds          float64         `json:"seconds"`
}

// ForgedCase is one request with forged annotations and what became of it.
type ForgedCase struct {
	Name      string `json:"name"`
	Forgery   string `json:"forgery"`
	Outcome   string `json:"outcome"`
	Misissued string `json:"misissued,omitempty"`
}

// readyTimes records when objects of the good tenant first became Ready,
// as the watch saw it, against when they began: Certificates from when the
// harness created them (observe), CertificateRequests from when the watch
// first saw them (observeRequest).
type readyTimes struct {
	mu      sync.Mutex
	created map[string]time.Time
	ready   map[string]time.Time
}

func (t *readyTimes) markCreated(name string) {
	t.mu.Lock()
	t.created[name] = time.Now()
	t.mu.Unlock()
}

func (t *readyTimes) observe(obj any) {
	c, ok := obj.(*cmapi.Certificate)
	if !ok || c.Namespace != nsGood || !framework.IsReady(c) {
		return
	}
	t.mu.Lock()
	if _, seen := t.ready[c.Name]; !seen {
		t.ready[c.Name] = time.Now()
	}
	t.mu.Unlock()
}

// durations are the issuance times of names; one never Ready counts
// until now, so that a stalled tenant shows in the percentile.
func (t *readyTimes) durations(names []string) (ds []time.Duration, notReady int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range names {
		c, ok := t.created[n]
		if !ok {
			continue
		}
		r, ok := t.ready[n]
		if !ok {
			r = time.Now()
			notReady++
		}
		ds = append(ds, r.Sub(c))
	}
	return ds, notReady
}

// observeRequest records a good tenant's CertificateRequest: when the
// watch first saw it and when it first became Ready.
func (t *readyTimes) observeRequest(obj any) {
	cr, ok := obj.(*cmapi.CertificateRequest)
	if !ok || cr.Namespace != nsGood {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, seen := t.created[cr.Name]; !seen {
		t.created[cr.Name] = now
	}
	if _, seen := t.ready[cr.Name]; !seen && requestReady(cr) {
		t.ready[cr.Name] = now
	}
}

func requestReady(cr *cmapi.CertificateRequest) bool {
	for _, c := range cr.Status.Conditions {
		if c.Type == cmapi.CertificateRequestConditionReady {
			return c.Status == cmmeta.ConditionTrue
		}
	}
	return false
}

// firstRequests names the first CertificateRequest of each Certificate:
// cert-manager names it after the Certificate and its revision, 1.
func firstRequests(certs []string) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = c + "-1"
	}
	return out
}

func (t *readyTimes) allReady(names []string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range names {
		if _, ok := t.ready[n]; !ok {
			return false
		}
	}
	return true
}

// tenantSetup is what the phase runs against.
type tenantSetup struct {
	hostile, shared *framework.Fake
	times           *readyTimes
	// requests times the good tenant's CertificateRequests.
	requests *readyTimes
}

// tenants runs the hostile-tenant phase: the well-behaved tenant issues
// TenantCerts Certificates alone, then as many again while the hostile
// tenant's issuer talks to a hostile Atlas and its forged requests go
// through the shared cluster issuer.
func (r *run) tenants(ctx context.Context) error {
	start := time.Now()
	d := &TenantsDetail{Certificates: r.cfg.TenantCerts, HostileFaults: hostileFaults, Victims: victims}
	r.report.Details.Tenants = d
	values, err := os.ReadFile(chartValues(r.env.Root))
	if err != nil {
		return err
	}
	if d.MemoryLimitMiB, err = chartMemoryLimitMiB(values); err != nil {
		return err
	}
	ts, err := r.tenantIssuers(ctx)
	if err != nil {
		return err
	}
	victim, err := r.victims(ctx, ts, d)
	if err != nil {
		return err
	}
	forged, baseline, err := forgedRequests(victim, d)
	if err != nil {
		return err
	}
	if err := r.forgedBaseline(ctx, ts, d, baseline); err != nil {
		return err
	}

	r.logf("tenants: %d Certificates of the well-behaved tenant alone", r.cfg.TenantCerts)
	alone, err := r.goodCertificates(ctx, ts.times, "alone", r.cfg.TenantCerts)
	if err != nil {
		return err
	}
	aloneD, aloneNR := ts.times.durations(alone)

	r.logf("tenants: again, beside the hostile tenant (%+v)", hostileFaults)
	if err := ts.hostile.Admin.SetFaults(ctx, hostileFaults); err != nil {
		return err
	}
	hostileBefore, err := ts.hostile.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	pid := r.env.Manager().Pid()
	d.PeakReset = resetPeak(pid) == nil
	hostileDone, err := r.hostileTenant(ctx, ts, d, victim, forged)
	if err != nil {
		return err
	}
	beside, err := r.goodCertificates(ctx, ts.times, "beside", r.cfg.TenantCerts)
	forgedErr := <-hostileDone
	if err == nil && forgedErr == nil {
		err = r.untilHostile(ctx, ts.hostile)
	}
	if err != nil {
		return err
	}
	mem, err := framework.ReadProcMemory(pid)
	if err != nil {
		return fmt.Errorf("the manager's peak memory: %w", err)
	}
	if forgedErr != nil {
		return forgedErr
	}
	besideD, besideNR := ts.times.durations(beside)
	_ = ts.hostile.Admin.SetFaults(ctx, fake.Faults{})
	hostileAfter, err := ts.hostile.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	d.HostileCalls = callsSince(hostileBefore, hostileAfter)
	d.HostileFaultsObserved = countsSince(hostileBefore.FaultsInjected, hostileAfter.FaultsInjected)
	d.AloneP50, d.AloneP95 = percentile(aloneD, 50).Seconds(), percentile(aloneD, 95).Seconds()
	d.HostileP50, d.HostileP95 = percentile(besideD, 50).Seconds(), percentile(besideD, 95).Seconds()
	d.AloneNotReady, d.HostileNotReady = aloneNR, besideNR
	r.report.TenantIsolationRatio = isolationRatio(aloneD, besideD)
	reqAlone, _ := ts.requests.durations(firstRequests(alone))
	reqBeside, _ := ts.requests.durations(firstRequests(beside))
	d.RequestsAloneP95, d.RequestsHostileP95 = percentile(reqAlone, 95).Seconds(), percentile(reqBeside, 95).Seconds()
	if ratio := isolationRatio(reqAlone, reqBeside); !math.IsInf(ratio, 0) {
		d.RequestIsolationRatio = ratio
	}
	if math.IsInf(r.report.TenantIsolationRatio, 0) {
		return fmt.Errorf("no issuance measured: %d alone, %d beside the hostile tenant", len(aloneD), len(besideD))
	}
	r.report.HostilePeakRSSMiB = float64(mem.HWM) / (1 << 20)
	if err := r.hostileReady(ctx, d); err != nil {
		return err
	}
	d.Seconds = time.Since(start).Seconds()
	r.logf("tenants: p95 %.2fs alone, %.2fs beside the hostile tenant (ratio %.2f; requests alone %.2fs, beside %.2fs, ratio %.2f); manager VmHWM %.1f MiB (reset %v); %d misissued, %d Atlas calls from %d forged requests beyond the same unforged",
		d.AloneP95, d.HostileP95, r.report.TenantIsolationRatio, d.RequestsAloneP95, d.RequestsHostileP95, d.RequestIsolationRatio,
		r.report.HostilePeakRSSMiB, d.PeakReset, r.report.ForgedMisissued, r.report.ForgedAtlasCalls, d.ForgedRequests)
	return r.cleanHostile(ctx)
}

// resetPeak resets a process's VmHWM to its resident set now (clear_refs
// 5), so that VmHWM read later is the peak since this moment.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0o200)
}

// untilHostile keeps the hostile phase (and the memory sampling) going
// until the hostile fake has injected every kind of hostileFaults, or
// hostileGrace has passed: issuer checks reach the trust chain only after
// login and the account calls, each slowed and rate limited.
func (r *run) untilHostile(ctx context.Context, hostile *framework.Fake) error {
	deadline := time.Now().Add(hostileGrace)
	for {
		st, err := hostile.Admin.Stats(ctx)
		if err != nil {
			return err
		}
		if len(unobserved(hostileFaults, st.FaultsInjected)) == 0 || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// tenantIssuers starts the hostile and shared fakes and makes the three
// issuers: the well-behaved tenant's on the setup's fake, the hostile
// tenant's on the hostile fake, and the shared cluster issuer.
func (r *run) tenantIssuers(ctx context.Context) (*tenantSetup, error) {
	ts := &tenantSetup{times: &readyTimes{created: map[string]time.Time{}, ready: map[string]time.Time{}},
		requests: &readyTimes{created: map[string]time.Time{}, ready: map[string]time.Time{}}}
	crInf, err := r.watch.GetInformer(ctx, &cmapi.CertificateRequest{})
	if err != nil {
		return nil, err
	}
	if _, err := crInf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    ts.requests.observeRequest,
		UpdateFunc: func(_, obj any) { ts.requests.observeRequest(obj) },
	}); err != nil {
		return nil, err
	}
	inf, err := r.watch.GetInformer(ctx, &cmapi.Certificate{})
	if err != nil {
		return nil, err
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    ts.times.observe,
		UpdateFunc: func(_, obj any) { ts.times.observe(obj) },
	}); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		to   **framework.Fake
	}{{"fake-atlas-hostile", &ts.hostile}, {sharedFakeName, &ts.shared}} {
		p, err := r.extraFake(ctx, f.name)
		if err != nil {
			return nil, err
		}
		*f.to = p
	}
	// The hostile tenant's Certificates have ECDSA keys: cert-manager makes
	// them in microseconds, where 32 RSA keys at once take its controllers
	// seconds of the CPU the good tenant's Certificates also need, which
	// would measure cert-manager rather than the issuer.
	if err := ts.hostile.Admin.SetPolicy(ctx, fake.DefaultECDSAPolicy()); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		ns string
		f  *framework.Fake
	}{{nsGood, nil}, {nsHostile, ts.hostile}} {
		if err := r.env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: t.ns}}); err != nil {
			return nil, err
		}
		if t.f == nil {
			if _, err := r.readyIssuer(ctx, t.ns, false); err != nil {
				return nil, err
			}
			continue
		}
		sec, err := t.f.CredentialsSecret(t.ns, "atlas-credentials")
		if err != nil {
			return nil, err
		}
		spec, err := t.f.IssuerSpec(sec.Name)
		if err != nil {
			return nil, err
		}
		if err := r.createIssuer(ctx, sec, &v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: t.ns, Name: "atlas"}, Spec: spec}); err != nil {
			return nil, err
		}
	}
	sec, err := ts.shared.CredentialsSecret(framework.ClusterResourceNamespace, sharedIssuer+"-credentials")
	if err != nil {
		return nil, err
	}
	spec, err := ts.shared.IssuerSpec(sec.Name)
	if err != nil {
		return nil, err
	}
	return ts, r.createIssuer(ctx, sec, &v1alpha1.AtlasClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: sharedIssuer}, Spec: spec})
}

// createIssuer creates a Secret and an issuer and waits until it is Ready.
func (r *run) createIssuer(ctx context.Context, sec client.Object, iss client.Object) error {
	if err := r.env.Client.Create(ctx, sec); err != nil {
		return err
	}
	if err := r.env.Client.Create(ctx, iss); err != nil {
		return err
	}
	return r.issuerReady(ctx, iss, 2*time.Minute)
}

// goodCertificates creates n Certificates of the well-behaved tenant, two
// a second, and waits until they are Ready or four minutes have passed.
func (r *run) goodCertificates(ctx context.Context, times *readyTimes, prefix string, n int) ([]string, error) {
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	errc := make(chan error, 1)
	go func() {
		for _, name := range names {
			crt := framework.Certificate(nsGood, name, "AtlasIssuer", "atlas", dnsName(nsGood, name))
			times.markCreated(name)
			if err := r.env.Client.Create(ctx, crt); err != nil {
				errc <- fmt.Errorf("create %s/%s: %w", nsGood, name, err)
				return
			}
			select {
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	deadline := time.Now().Add(4 * time.Minute)
	for !times.allReady(names) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return names, nil
}
