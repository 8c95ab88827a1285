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

// Package cluster_test runs the manager as users run it: its image in pods of
// a real single-node cluster (hack/cluster.sh), installed with helm from
// charts/atlas-issuer, next to cert-manager's controllers and the fake Atlas
// in pods too. It needs root. See docs/cluster-test.md.
package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

func init() {
	// The suite reads through controller-runtime's client, whose own logs
	// would only repeat the errors the suite reports.
	ctrllog.SetLogger(logr.Discard())
}

// Addresses of hack/cluster.sh's cluster.
const (
	dnsAddr      = "10.96.0.10:53"
	apiServiceIP = "10.96.0.1"
)

// report is bin/cluster/report.json.
type report struct {
	// Partial is true until the run has gone through every step: a run cut
	// short by a panic or a failed install still writes its report, and
	// this says that its figures are not those of a whole run.
	Partial bool `json:"partial"`
	// Panics are the panics recovered from the run's steps.
	Panics          []string `json:"panics,omitempty"`
	ScenariosPassed int      `json:"scenarios_passed"`
	ScenariosTotal  int      `json:"scenarios_total"`
	FailoverReady   int      `json:"failover_ready"`
	FailoverTotal   int      `json:"failover_total"`
	// CrashFailoverReady and CrashFailoverTotal count the Certificates of
	// the bursts during which the leader was killed.
	CrashFailoverReady int `json:"crash_failover_ready"`
	CrashFailoverTotal int `json:"crash_failover_total"`
	// CrashKillsWithCallInFlight counts the kills that the fake saw cut
	// a call of the wanted kind, or still serving it right after the kill.
	CrashKillsWithCallInFlight int `json:"crash_kills_with_call_in_flight"`
	// TakeoverSecondsMax is the longest time from a kill to the Lease's
	// acquireTime of the next holder.
	TakeoverSecondsMax float64     `json:"takeover_seconds_max"`
	CrashKills         []crashKill `json:"crash_kills"`
	UpgradeFailed      int         `json:"upgrade_failed"`
	// Duplicates, Lost, OrphanedCertificates and what follows are
	// counted over the whole run, planted controls left out
	// (accounting_test.go, ledger).
	Duplicates int `json:"duplicates"`
	Lost       int `json:"lost"`
	// OrphanedCertificates are the certificates no Secret holds that no
	// revision cert-manager asked for explains: the issuer's.
	OrphanedCertificates int `json:"orphaned_certificates"`
	// OrphansReissuedByCertManager are the certificates no Secret holds
	// that a later revision of their Certificate replaced, each answering
	// a revision cert-manager asked for (its status.revision counts them,
	// and the fake issued no more for its names): cert-manager issued the
	// Certificate again, its Issuing events say why (typically "Secret
	// does not exist" moments after it wrote the Secret, its cache behind
	// the API server).
	OrphansReissuedByCertManager int `json:"orphans_reissued_by_cert_manager"`
	// IssuedBeyondRequests counts the certificates the fake issued beyond
	// the revisions cert-manager asked for.
	IssuedBeyondRequests int `json:"issued_beyond_requests"`
	// Issued is how many certificates the fake accepted over the run.
	Issued         int     `json:"issued"`
	PacketsOffNode int     `json:"packets_off_node"`
	Seconds        float64 `json:"seconds"`
	// UpSeconds and DownSeconds time hack/cluster.sh up and down.
	UpSeconds   float64 `json:"up_seconds"`
	DownSeconds float64 `json:"down_seconds"`
	// StepSeconds times each step (install, each scenario, the accounting).
	StepSeconds map[string]float64 `json:"step_seconds"`
}

// suite is the state shared by the steps of TestCluster.
type suite struct {
	root, dir string
	rep       report
}

func TestCluster(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the cluster suite needs root: it runs containerd, kubelet and a bridge")
	}
	root, err := framework.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{root: root, dir: filepath.Join(root, "bin", "cluster"),
		rep: report{Partial: true, StepSeconds: map[string]float64{}}}
	start := time.Now()
	demo := os.Getenv("CLUSTER_DEMO") == "1"
	// Written whatever happens below, a recovered panic or a t.Fatal of
	// this function included; Partial stays true unless every step ran.
	defer func() {
		if demo {
			return // a partial run's report would read as a failed suite
		}
		s.rep.Seconds = time.Since(start).Seconds()
		b, _ := json.MarshalIndent(s.rep, "", "  ")
		if err := os.WriteFile(filepath.Join(s.dir, "report.json"), append(b, '\n'), 0o644); err != nil {
			t.Error(err)
		}
		t.Logf("report: %s", b)
	}()

	t0 := time.Now()
	if out, err := s.cluster("up"); err != nil {
		t.Fatalf("hack/cluster.sh up: %v\n%s", err, out)
	}
	s.rep.UpSeconds = time.Since(t0).Seconds()
	up := true
	defer func() {
		if up {
			s.down(t)
		}
	}()

	s.step(t, "dns stays in the cluster", s.testDNS)

	scenarios := s.scenarios()
	s.rep.ScenariosTotal = len(scenarios)
	if demo {
		scenarios = scenarios[:min(2, len(scenarios))]
	}
	var st *stack
	if s.step(t, "install", func(t *testing.T) { st = s.install(t) }) && st != nil {
		for _, sc := range scenarios {
			if s.step(t, sc.name, sc.run(st)) {
				s.rep.ScenariosPassed++
			}
		}
	}
	if demo && st != nil {
		up = false
		t.Log(demoText(s.root, s.dir))
		return
	}

	if st != nil {
		s.step(t, "every certificate accounted for", s.testAccounting(st))
	}
	s.step(t, "no packet left the node", s.testGuard)

	up = false
	s.down(t)
	s.step(t, "teardown leaves nothing", s.testClean)
	s.rep.Partial = st == nil || len(s.rep.Panics) > 0
}

// step runs f as the subtest name and times it. A panic in f is recovered
// here: unrecovered, it would end the test binary from the subtest's
// goroutine without running TestCluster's deferred report and teardown.
func (s *suite) step(t *testing.T, name string, f func(*testing.T)) bool {
	t0 := time.Now()
	ok := t.Run(name, func(t *testing.T) {
		defer s.recoverPanic(t, name)
		f(t)
	})
	s.rep.StepSeconds[name] = math.Round(time.Since(t0).Seconds()*10) / 10
	return ok
}

// recoverPanic, deferred, turns a panic into a failure of t and a line of
// the report.
func (s *suite) recoverPanic(t testing.TB, name string) {
	if r := recover(); r != nil {
		s.rep.Panics = append(s.rep.Panics, fmt.Sprintf("%s: %v", name, r))
		t.Errorf("panic in %s: %v\n%s", name, r, debug.Stack())
	}
}

// demoText tells a person what to try in the cluster `make demo-cluster`
// leaves running.
func demoText(root, dir string) string {
	rel := func(p string) string {
		if r, err := filepath.Rel(root, p); err == nil {
			return r
		}
		return p
	}
	kc := rel(filepath.Join(dir, "admin.kubeconfig"))
	return fmt.Sprintf(`
The cluster is up, with cert-manager's controllers, the fake Atlas and
atlas-issuer (helm release %[2]s in %[3]s) installed. From the repository root:

  export KUBECONFIG=$PWD/%[1]s
  bin/kubectl get pods -A
  bin/kubectl get atlasissuers,certificates,secrets -n %[4]s
  bin/kubectl get atlasclusterissuers
  bin/kubectl logs -n %[3]s deploy/%[2]s
  bin/helm list -n %[3]s
  bin/helm upgrade %[2]s charts/atlas-issuer -n %[3]s --reuse-values --set logLevel=debug --wait
  bin/kubectl apply -f - <<EOF
  apiVersion: cert-manager.io/v1
  kind: Certificate
  metadata: {name: mine, namespace: %[4]s}
  spec:
    secretName: mine-tls
    dnsNames: [mine.example.com]
    issuerRef: {name: atlas, kind: AtlasIssuer, group: hvca.globalsign.com}
  EOF

Stop it with: make cluster-down
`, kc, release, releaseNamespace, testNamespace)
}

type scenario struct {
	name string
	run  func(*stack) func(*testing.T)
}

// scenarios are the cases the suite proves, in order: later ones use the
// issuers the first one makes.
func (s *suite) scenarios() []scenario {
	return []scenario{
		{"issuers, a Certificate and a Kubernetes CSR", s.scenarioIssuance},
		{"an annotated Ingress gets its TLS Secret", s.scenarioIngress},
		{"leader failover during a burst", s.scenarioFailover},
		{"leader killed mid-call during bursts", s.scenarioCrashFailover},
		{"helm upgrade during a burst, then rollback", s.scenarioUpgrade},
		{"probes, metrics from inside the cluster, version in the logs", s.scenarioObservability},
		{"least privilege: secrets.namespaces", s.scenarioLeastPrivilege},
		{"helm uninstall keeps only the CRDs", s.scenarioUninstall},
	}
}

func (s *suite) down(t *testing.T) {
	t0 := time.Now()
	if out, err := s.cluster("down"); err != nil {
		t.Errorf("hack/cluster.sh down: %v\n%s", err, out)
	}
	s.rep.DownSeconds = time.Since(t0).Seconds()
}

// cluster runs hack/cluster.sh.
func (s *suite) cluster(args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.root, "hack", "cluster.sh"), args...)
	cmd.Env = append(os.Environ(), "CLUSTER_DIR="+s.dir)
	return cmd.CombinedOutput()
}

// kubectl runs kubectl as the cluster's admin.
func (s *suite) kubectl(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.root, "bin", "k8s", "kubectl"),
		append([]string{"--kubeconfig", filepath.Join(s.dir, "admin.kubeconfig")}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// resolver asks the cluster's DNS Service and nothing else.
func resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, dnsAddr)
	}}
}

// testDNS: the cluster's CoreDNS answers for the cluster and for nothing
// else, and every pod is told to ask it and only it.
func (s *suite) testDNS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// kube-proxy programs the DNS Service a moment after CoreDNS is Ready.
	eventually(t, 30*time.Second, "the cluster DNS", func() error {
		addrs, err := resolver().LookupHost(ctx, "kubernetes.default.svc.cluster.local")
		if err != nil || len(addrs) != 1 || addrs[0] != apiServiceIP {
			return fmt.Errorf("kubernetes.default.svc.cluster.local = %v, %w; want [%s]", addrs, err, apiServiceIP)
		}
		return nil
	})
	if addrs, err := resolver().LookupHost(ctx, "example.com"); err == nil {
		t.Errorf("the cluster DNS resolved example.com to %v: it must not forward outside names", addrs)
	}
	confs, err := filepath.Glob(filepath.Join(s.dir, "containerd", "root", "io.containerd.grpc.v1.cri", "sandboxes", "*", "resolv.conf"))
	if err != nil || len(confs) == 0 {
		t.Fatalf("no pod resolv.conf found (%v)", err)
	}
	for _, c := range confs {
		b, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "nameserver" && f[1] != strings.Split(dnsAddr, ":")[0] {
				t.Errorf("%s names the resolver %s", c, f[1])
			}
		}
	}
}

// testGuard: the firewall rule that counts (and drops) pod packets leaving
// the node saw none, and it does see one: a UDP datagram sent from a pod's
// network namespace to a documentation address (198.51.100.1, never routed
// on the internet) is counted, and dropped by that same rule on the node.
func (s *suite) testGuard(t *testing.T) {
	n, err := s.guardCount()
	if err != nil {
		t.Fatal(err)
	}
	s.rep.PacketsOffNode = n
	if n != 0 {
		t.Errorf("%d packets from pods were headed off the node", n)
	}
	ns, err := s.podNetns()
	if err != nil {
		t.Fatal(err)
	}
	probe := exec.Command("ip", "netns", "exec", ns, "bash", "-c", "echo probe > /dev/udp/198.51.100.1/9")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Fatalf("probe from %s: %v\n%s", ns, err, out)
	}
	// The datagram may wait for the pod to resolve its gateway's address
	// before the node forwards it, so the count is read until it moves (or
	// for 10 s), then held to exactly one.
	var after int
	for deadline := time.Now().Add(10 * time.Second); ; {
		if after, err = s.guardCount(); err != nil {
			t.Fatal(err)
		}
		if after > n || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if after != n+1 {
		t.Errorf("the guard counted %d packets for one probe: it cannot be trusted to count pod traffic", after-n)
	}
}

func (s *suite) guardCount() (int, error) {
	out, err := s.cluster("guard")
	if err != nil {
		return 0, fmt.Errorf("hack/cluster.sh guard: %w\n%s", err, out)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}

// podNetns is the network namespace of one of the cluster's pods.
func (s *suite) podNetns() (string, error) {
	before, err := os.ReadFile(filepath.Join(s.dir, "host.before"))
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "cni-") || bytes.Contains(before, []byte("netns "+e.Name()+"\n")) {
			continue
		}
		// A pod deleted a moment ago may leave its namespace behind without
		// its interface; only a namespace with a default route can send.
		route, err := exec.Command("ip", "netns", "exec", e.Name(), "ip", "route", "show", "default").Output()
		if err == nil && len(bytes.TrimSpace(route)) > 0 {
			return e.Name(), nil
		}
	}
	return "", fmt.Errorf("no pod network namespace in /run/netns")
}

// testClean: after down, check finds nothing left, and it does find a
// leftover planted on purpose (a kubepods cgroup and a bridge named like the
// cluster's), so its "host clean" means something.
func (s *suite) testClean(t *testing.T) {
	if out, err := s.cluster("check"); err != nil {
		t.Fatalf("host not clean after down: %v\n%s", err, out)
	}
	cg := "/sys/fs/cgroup/pids/kubepods"
	plants := []struct {
		what         string
		plant, unset []string
		want         string
	}{
		{"cgroup", []string{"mkdir", cg}, []string{"rmdir", cg}, "cgroup " + cg},
		{"bridge", []string{"ip", "link", "add", "atlas0", "type", "bridge"}, []string{"ip", "link", "del", "atlas0"}, "link atlas0"},
	}
	for _, p := range plants {
		if out, err := exec.Command(p.plant[0], p.plant[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("plant %s: %v\n%s", p.what, err, out)
		}
		out, err := s.cluster("check")
		if uerr := exec.Command(p.unset[0], p.unset[1:]...).Run(); uerr != nil {
			t.Errorf("remove the planted %s: %v", p.what, uerr)
		}
		if err == nil || !strings.Contains(string(out), p.want) {
			t.Errorf("check missed a planted %s (err %v):\n%s", p.what, err, out)
		}
	}
	if out, err := s.cluster("check"); err != nil {
		t.Errorf("host not clean after the planted leftovers were removed: %v\n%s", err, out)
	}
}
