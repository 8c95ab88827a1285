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
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// The control-plane scenarios: a burst of Certificates while the API
// server, etcd, Atlas's sessions or Atlas's clock misbehave.
const (
	cpAPIServerOutage = "apiserver_outage"
	cpEtcdRestart     = "etcd_restart"
	cpTokenRevoked    = "token_revoked"
	cpSkewAhead       = "clock_skew_ahead"
	cpSkewBehind      = "clock_skew_behind"
	cpSlowAPIServer   = "slow_apiserver"
)

// cpNames are the control-plane scenarios, in the order they run.
var cpNames = []string{cpTokenRevoked, cpSkewAhead, cpSkewBehind, cpSlowAPIServer, cpEtcdRestart, cpAPIServerOutage}

// cpNamespace is a scenario's namespace.
func cpNamespace(name string) string {
	return "chaos-cp-" + strings.ReplaceAll(name, "_", "-")
}

// Sizes and timings of the control-plane scenarios.
const (
	// cpBurst is each scenario's Certificates.
	cpBurst = 30
	// apiserverOutage and etcdOutage are how long each is down.
	apiserverOutage = 30 * time.Second
	etcdOutage      = 10 * time.Second
	// clockSkew is how far Atlas's clock is off in the skew scenarios:
	// inside the fake's default policy's ten minutes of not_before skew.
	clockSkew = 5 * time.Minute
	// apiDelay is what the slow API server adds to every call.
	apiDelay = 500 * time.Millisecond
	// loginSlack is how many logins beyond one per issuer a token
	// revocation may cost: one login under way when the tokens are
	// revoked gets a token the revocation voids too.
	loginSlack = 1
	// cpAtlasLatency stretches each Atlas call of the bursts, so that a
	// disruption finds requests in flight.
	cpAtlasLatency = 500 * time.Millisecond
)

// ControlPlaneCase is what one control-plane scenario counted.
type ControlPlaneCase struct {
	Total int `json:"total"`
	Ready int `json:"ready"`
	// Duplicates are the issuer's (certificates beyond one per request)
	// in the scenario's namespace, counted at the end of the run;
	// SameKeyCertificates every certificate for a key that already had
	// one, cert-manager's second requests included.
	Duplicates          int `json:"duplicates"`
	SameKeyCertificates int `json:"same_key_certificates"`
	Lost                int `json:"lost"`
	Failed              int `json:"failed"`
	// ReadyAtDisruption is how many were Ready when the disruption began:
	// it began mid-burst when this is below Total.
	ReadyAtDisruption int     `json:"ready_at_disruption"`
	DisruptionSeconds float64 `json:"disruption_seconds,omitempty"`
	// ManagerExits are the manager processes that ended by themselves,
	// each started again as a pod's container would be; ManagerKills the
	// kills made on purpose mid-POST, and KilledMidPost the certificates
	// Atlas created for POSTs whose answer the killed manager never read.
	ManagerExits  []string `json:"manager_exits,omitempty"`
	ManagerKills  int      `json:"manager_kills,omitempty"`
	KilledMidPost int      `json:"killed_mid_post,omitempty"`
	// Issuers and the fake's logins before the revocation and after it
	// (token_revoked).
	Issuers      int `json:"issuers,omitempty"`
	LoginsBefore int `json:"logins_before,omitempty"`
	LoginsAfter  int `json:"logins_after_revocation,omitempty"`
	// ClockOffset is Atlas's clock against the manager's.
	ClockOffset string `json:"clock_offset,omitempty"`
	// ProxyRequests are the API calls the slow proxy passed on;
	// APIServerConns and ProxyConns the most connections the manager was
	// seen holding to the API server directly and to the proxy.
	ProxyRequests  int64 `json:"proxy_requests,omitempty"`
	APIServerConns int   `json:"manager_apiserver_connections"`
	ProxyConns     int   `json:"manager_proxy_connections,omitempty"`
	// IssuerConditions are the issuer conditions seen during the
	// scenario, in order, without repeats.
	IssuerConditions []string `json:"issuer_conditions,omitempty"`
	Seconds          float64  `json:"seconds"`
	FailedRequests   []string `json:"failed_requests,omitempty"`
	NotReady         []string `json:"not_ready,omitempty"`
}

// cpScenario is one control-plane scenario.
type cpScenario struct {
	name string
	// leaderElect runs the manager as the chart does, with a Lease.
	leaderElect bool
	// setup runs before the manager starts and returns its extra flags.
	setup func(ctx context.Context, st *cpState) ([]string, error)
	// disrupt runs once the burst is under way.
	disrupt func(ctx context.Context, st *cpState) error
	// teardown undoes setup.
	teardown func(ctx context.Context, st *cpState)
}

// cpState is a scenario's running state.
type cpState struct {
	ns  string
	f   *framework.Fake
	sup *supervisor
	c   *ControlPlaneCase
	// issuers are the scenario's issuers, the namespace's first.
	issuers []client.Object
	// proxy is the slow API server (slow_apiserver).
	proxy *framework.SlowProxy
	// sample runs every poll of the burst.
	sample func()
}

// controlPlane runs every control-plane scenario against a fake of their
// own.
func (r *run) controlPlane(ctx context.Context) error {
	// Only the phase's own manager may sign from here on.
	if err := r.env.Manager().Stop(15 * time.Second); err != nil {
		return err
	}
	f, err := r.extraFake(ctx, "fake-atlas-control")
	if err != nil {
		return err
	}
	r.report.ControlPlane = map[string]*ControlPlaneCase{}
	for _, sc := range r.cpScenarios() {
		if r.cfg.Skip[sc.name] {
			continue
		}
		if err := r.cpRun(ctx, f, sc); err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
	}
	return nil
}

func (r *run) cpScenarios() []cpScenario {
	return []cpScenario{
		{name: cpTokenRevoked, leaderElect: true,
			setup: func(ctx context.Context, st *cpState) ([]string, error) {
				// A second issuer with a Secret, and so an Atlas client, of
				// its own; no rechecks, whose logins would blur the count.
				sec, err := st.f.CredentialsSecret(framework.ClusterResourceNamespace, "chaos-cp-token-credentials")
				if err != nil {
					return nil, err
				}
				spec, err := st.f.IssuerSpec(sec.Name)
				if err != nil {
					return nil, err
				}
				if err := r.env.Client.Create(ctx, sec); err != nil {
					return nil, err
				}
				iss := &v1alpha1.AtlasClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "chaos-cp-token"}, Spec: spec}
				if err := r.env.Client.Create(ctx, iss); err != nil {
					return nil, err
				}
				st.issuers = append(st.issuers, iss)
				return []string{"--issuer-recheck-interval=0"}, nil
			},
			disrupt: func(ctx context.Context, st *cpState) error {
				s, err := st.f.Admin.Stats(ctx)
				if err != nil {
					return err
				}
				st.c.LoginsBefore = s.Calls[fake.OpLogin]
				st.c.Issuers = len(st.issuers)
				return st.f.Admin.ExpireTokens(ctx)
			}},
		{name: cpSkewAhead, setup: r.skewSetup(clockSkew), disrupt: r.killOnePost, teardown: r.skewTeardown},
		{name: cpSkewBehind, setup: r.skewSetup(-clockSkew), disrupt: r.killOnePost, teardown: r.skewTeardown},
		{name: cpSlowAPIServer, leaderElect: true,
			setup: func(ctx context.Context, st *cpState) ([]string, error) {
				p, err := r.env.StartSlowProxy("slow-apiserver", apiDelay)
				if err != nil {
					return nil, err
				}
				st.proxy = p
				apiPort, err := apiServerPort(r.env)
				if err != nil {
					return nil, err
				}
				var mu sync.Mutex
				st.sample = func() {
					pid := st.sup.process().Pid()
					peers, err := framework.TCPPeers(pid)
					if err != nil {
						return
					}
					mu.Lock()
					st.c.APIServerConns = max(st.c.APIServerConns, peers[apiPort])
					st.c.ProxyConns = max(st.c.ProxyConns, peers[p.Port()])
					mu.Unlock()
				}
				return []string{"--kubeconfig", p.Kubeconfig}, nil
			},
			teardown: func(_ context.Context, st *cpState) {
				st.c.ProxyRequests = st.proxy.Requests()
				st.proxy.Close()
			}},
		{name: cpEtcdRestart, leaderElect: true, disrupt: r.outage(framework.ComponentEtcd, etcdOutage)},
		{name: cpAPIServerOutage, leaderElect: true, disrupt: r.outage(framework.ComponentAPIServer, apiserverOutage)},
	}
}

// apiServerPort is the API server's port, which a manager that must go
// through the slow proxy must not be connected to.
func apiServerPort(env *framework.Env) (int, error) {
	u, err := url.Parse(env.RESTConfig.Host)
	if err != nil {
		return 0, err
	}
	_, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(port)
}

// outage stops a control-plane process for d and starts it again with the
// same arguments and data.
func (r *run) outage(c framework.Component, d time.Duration) func(context.Context, *cpState) error {
	return func(ctx context.Context, st *cpState) error {
		start := time.Now()
		stopped, err := r.env.StopComponent(c, 15*time.Second)
		if err != nil {
			return err
		}
		if err := sleepCtx(ctx, d-time.Since(start)); err != nil {
			return err
		}
		if err := stopped.Start(ctx, 2*time.Minute); err != nil {
			return err
		}
		st.c.DisruptionSeconds = time.Since(start).Seconds()
		r.logf("%s: %s was down for %s", st.ns, c, time.Since(start).Round(time.Second))
		return nil
	}
}

// skewSetup moves the fake's clock by offset before the scenario's manager
// starts.
func (r *run) skewSetup(offset time.Duration) func(context.Context, *cpState) ([]string, error) {
	return func(ctx context.Context, st *cpState) ([]string, error) {
		st.c.ClockOffset = offset.String()
		return nil, st.f.Admin.SetClockOffset(ctx, offset)
	}
}

func (r *run) skewTeardown(ctx context.Context, st *cpState) {
	_ = st.f.Admin.SetClockOffset(context.WithoutCancel(ctx), 0)
}

// killOnePost holds the next POSTs' answers, kills the manager once three
// certificates exist whose answers are held (or after 20 s with at least
// one), and lets later POSTs through: the restarted manager finds those
// certificates only by lookup, across the skew.
func (r *run) killOnePost(ctx context.Context, st *cpState) error {
	faults := cpFaults()
	held := faults
	held.SubmitHold = submitHold
	if err := st.f.Admin.SetFaults(ctx, held); err != nil {
		return err
	}
	// Certificates accepted from here on are held: counting from a list
	// read after the hold was set misses none that was answered.
	before, err := issuedIn(ctx, st.f, st.ns)
	if err != nil {
		return err
	}
	if err := waitHeld(ctx, st.f, st.ns, len(before)+3, 3, 20*time.Second); err != nil {
		if err := waitHeld(ctx, st.f, st.ns, len(before)+1, 1, 20*time.Second); err != nil {
			r.logf("%s: %v", st.ns, err)
		}
	}
	mid, err := issuedIn(ctx, st.f, st.ns)
	if err != nil {
		return err
	}
	if err := st.f.Admin.SetFaults(ctx, faults); err != nil {
		return err
	}
	st.sup.kill()
	st.c.ManagerKills++
	st.c.KilledMidPost += len(mid) - len(before)
	r.logf("%s: killed the manager with %d certificates created and unanswered", st.ns, len(mid)-len(before))
	return nil
}

// cpFaults is the control fake's latency on the calls of a signing.
func cpFaults() fake.Faults {
	return fake.Faults{Latency: cpAtlasLatency, Operations: []string{fake.OpRequestCertificate, fake.OpRetrieveCertificate}}
}

// cpRun runs one scenario: its issuer and manager, a burst of cpBurst
// Certificates, the disruption once requests are in flight, and the wait
// for every Certificate.
func (r *run) cpRun(ctx context.Context, f *framework.Fake, sc cpScenario) error {
	start := time.Now()
	ns := cpNamespace(sc.name)
	c := &ControlPlaneCase{Total: cpBurst}
	r.report.ControlPlane[sc.name] = c
	st := &cpState{ns: ns, f: f, c: c}
	if err := r.phaseIssuer(ctx, ns, f); err != nil {
		return err
	}
	st.issuers = []client.Object{&v1alpha1.AtlasIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "atlas"}}}
	if err := f.Admin.SetFaults(ctx, cpFaults()); err != nil {
		return err
	}
	defer func() { _ = f.Admin.SetFaults(context.WithoutCancel(ctx), fake.Faults{}) }()
	var extra []string
	if sc.setup != nil {
		var err error
		if extra, err = sc.setup(ctx, st); err != nil {
			return err
		}
	}
	if sc.teardown != nil {
		defer sc.teardown(ctx, st)
	}
	if sc.leaderElect {
		extra = append(extra, "--leader-elect", "--leader-election-namespace", framework.ClusterResourceNamespace)
	}
	sup, err := r.supervise("manager-"+ns, nil, extra...)
	if err != nil {
		return err
	}
	st.sup = sup
	defer sup.stop()
	for _, iss := range st.issuers {
		if err := r.issuerReady(ctx, iss, 2*time.Minute); err != nil {
			return err
		}
	}
	if st.sample != nil {
		st.sample()
	}
	conds := &conditionLog{}
	before, err := f.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	// The burst, spread over the issuers.
	per := cpBurst / len(st.issuers)
	for i, iss := range st.issuers {
		from, to := i*per, (i+1)*per
		if i == len(st.issuers)-1 {
			to = cpBurst
		}
		kind := "AtlasIssuer"
		if _, ok := iss.(*v1alpha1.AtlasClusterIssuer); ok {
			kind = "AtlasClusterIssuer"
		}
		if err := r.createCertificates(ctx, ns, "cp", kind, iss.GetName(), from, to, 0); err != nil {
			return err
		}
	}
	tick := func() error {
		if st.sample != nil {
			st.sample()
		}
		conds.read(ctx, r, st.issuers)
		return nil
	}
	if sc.disrupt != nil {
		c.ReadyAtDisruption, err = r.untilInFlight(ctx, ns, f)
		if err != nil {
			return err
		}
		r.logf("%s: disrupting with %d of %d Ready", ns, c.ReadyAtDisruption, cpBurst)
		if err := sc.disrupt(ctx, st); err != nil {
			return err
		}
	}
	prog, err := r.waitReady(ctx, ns, cpBurst, time.Now().Add(4*time.Minute), tick)
	if err != nil {
		return err
	}
	if sc.name == cpTokenRevoked {
		s, err := f.Admin.Stats(ctx)
		if err != nil {
			return err
		}
		c.LoginsAfter = s.Calls[fake.OpLogin] - c.LoginsBefore
	}
	after, err := f.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	c.Ready, c.Lost, c.Failed = prog.ready, cpBurst-prog.ready, len(prog.failed)
	// The issuer's duplicates are counted at the end of the run
	// (countDuplicates); this is the fake's count over the scenario.
	c.SameKeyCertificates = after.Duplicates - before.Duplicates
	c.FailedRequests, c.NotReady = head(prog.failed, 10), head(prog.notReady, 10)
	c.ManagerExits = sup.exited()
	c.IssuerConditions = conds.list()
	c.Seconds = time.Since(start).Seconds()
	r.report.Lost += c.Lost
	r.report.Failed += c.Failed
	r.logf("%s: %d/%d Ready, %d failed, %d same-key certificates, %d manager exits, in %s", ns, c.Ready, c.Total, c.Failed, c.SameKeyCertificates,
		len(c.ManagerExits), time.Since(start).Round(time.Second))
	return nil
}

// untilInFlight waits until the burst is under way, a few of its
// Certificates Ready and the fake serving a call of the others (or half of
// them Ready), and returns how many are Ready.
func (r *run) untilInFlight(ctx context.Context, ns string, f *framework.Fake) (int, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := r.snapshot(ctx, ns)
		if err != nil {
			return 0, err
		}
		st, err := f.Admin.Stats(ctx)
		if err != nil {
			return 0, err
		}
		inFlight := st.InFlightByOp[fake.OpRequestCertificate] + st.InFlightByOp[fake.OpRetrieveCertificate]
		if (inFlight > 0 && p.ready >= cpBurst/10) || p.ready >= cpBurst/2 || time.Now().After(deadline) {
			return p.ready, nil
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// conditionLog keeps the issuer conditions seen (Ready, Degraded), without
// repeats.
type conditionLog struct {
	seen []string
}

func (l *conditionLog) read(ctx context.Context, r *run, issuers []client.Object) {
	for _, iss := range issuers {
		obj := iss.DeepCopyObject().(client.Object)
		if err := r.env.Client.Get(ctx, client.ObjectKeyFromObject(iss), obj); err != nil {
			continue
		}
		var conds []metav1.Condition
		switch o := obj.(type) {
		case *v1alpha1.AtlasIssuer:
			conds = o.Status.Conditions
		case *v1alpha1.AtlasClusterIssuer:
			conds = o.Status.Conditions
		}
		for _, c := range conds {
			s := fmt.Sprintf("%s %s=%s/%s: %s", obj.GetName(), c.Type, c.Status, c.Reason, c.Message)
			if !slices.Contains(l.seen, s) {
				l.seen = append(l.seen, s)
			}
		}
	}
}

func (l *conditionLog) list() []string { return head(l.seen, 12) }

// judgeControlPlane checks each scenario against its goals.
func (r *Report) judgeControlPlane() {
	if r.ControlPlane == nil {
		r.Goals = append(r.Goals, "the control-plane scenarios did not run")
		return
	}
	for _, name := range cpNames {
		c := r.ControlPlane[name]
		if c == nil {
			r.Goals = append(r.Goals, "control-plane scenario "+name+" did not run")
			continue
		}
		key := "control_plane." + name
		r.check(key, "every Certificate Ready; 0 lost, failed or duplicated",
			c.Total > 0 && c.Ready == c.Total && c.Lost == 0 && c.Failed == 0 && c.Duplicates == 0,
			"%s: %d of %d Ready, %d lost, %d failed, %d duplicates", name, c.Ready, c.Total, c.Lost, c.Failed, c.Duplicates)
		switch name {
		case cpAPIServerOutage, cpEtcdRestart:
			lostLeadership := 0
			for _, e := range c.ManagerExits {
				if leadershipLost(e) {
					lostLeadership++
				}
			}
			r.check(key+".manager", "at most one exit, on lost leadership, started again as a pod would be",
				len(c.ManagerExits) <= 1 && lostLeadership == len(c.ManagerExits) && c.ReadyAtDisruption < c.Total,
				"%s: the manager exited %d times (%d on lost leadership), %d of %d Ready when the outage began: %v",
				name, len(c.ManagerExits), lostLeadership, c.ReadyAtDisruption, c.Total, c.ManagerExits)
		case cpTokenRevoked:
			r.check(key+".logins", fmt.Sprintf("<= issuers + %d", loginSlack),
				c.Issuers > 0 && c.LoginsAfter >= 1 && c.LoginsAfter <= c.Issuers+loginSlack && len(c.ManagerExits) == 0,
				"%s: %d logins after revoking every token, with %d issuers", name, c.LoginsAfter, c.Issuers)
		case cpSkewAhead, cpSkewBehind:
			r.check(key+".killed_mid_post", ">= 1 certificate created for a POST whose manager was killed",
				c.ManagerKills > 0 && c.KilledMidPost > 0 && len(c.ManagerExits) == 0,
				"%s: %d kills, %d certificates cut short, exits %v", name, c.ManagerKills, c.KilledMidPost, c.ManagerExits)
		case cpSlowAPIServer:
			r.check(key+".proxied", "the manager reaches the API server only through the proxy",
				c.ProxyRequests > 0 && c.ProxyConns > 0 && c.APIServerConns == 0 && len(c.ManagerExits) == 0,
				"%s: %d requests through the proxy, %d connections to it, %d to the API server directly, exits %v",
				name, c.ProxyRequests, c.ProxyConns, c.APIServerConns, c.ManagerExits)
		}
	}
}
