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

package cluster_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// crashHold is how long the fake holds the wanted calls open, so that a
// kill lands while one is being served.
const crashHold = 3 * time.Second

// crashRound is one kill of the leader: the fake's faults while the kill
// waits, and the operations a call of which must be in flight.
type crashRound struct {
	faults fake.Faults
	ops    []string
}

// crashRounds: a POST held after its certificate exists, a GET of a
// submitted certificate held before it answers, then whichever of the two
// comes first.
var crashRounds = []crashRound{
	{fake.Faults{SubmitHold: crashHold}, []string{fake.OpRequestCertificate}},
	{fake.Faults{Latency: crashHold, Operations: []string{fake.OpRetrieveCertificate}}, []string{fake.OpRetrieveCertificate}},
	{fake.Faults{SubmitHold: crashHold, Latency: crashHold, Operations: []string{fake.OpRetrieveCertificate}},
		[]string{fake.OpRequestCertificate, fake.OpRetrieveCertificate}},
}

// crashKill is one kill of the leader's manager process, as the report
// gives it.
type crashKill struct {
	Round int    `json:"round"`
	Pod   string `json:"pod"`
	PID   int    `json:"pid"`
	// Ops are the operations the kill waited for; InFlightBefore and
	// InFlightAfter the fake's count of their calls being served right
	// before and right after the kill; Cut the calls of them that the fake
	// saw end early once the kill had happened (the client went away).
	Ops            []string       `json:"ops"`
	InFlightBefore map[string]int `json:"in_flight_before"`
	InFlightAfter  map[string]int `json:"in_flight_after"`
	Cut            map[string]int `json:"cut"`
	// WithCallInFlight: for one of Ops, a call was in flight before the
	// kill and was still in flight, or cut, after it.
	WithCallInFlight bool `json:"with_call_in_flight"`
	// ExitCode is the killed container's, from its last termination state.
	ExitCode int32 `json:"exit_code"`
	// NewLeader is the next holder of the Lease; Standby says it is the
	// other pod rather than the restarted container.
	NewLeader string `json:"new_leader"`
	Standby   bool   `json:"standby"`
	// TakeoverSeconds is from the kill to the next holder's acquireTime;
	// ReadySeconds from the kill to every Certificate of the round Ready.
	TakeoverSeconds float64 `json:"takeover_seconds"`
	ReadySeconds    float64 `json:"ready_seconds"`
	// IssuedBeforeKill counts the certificates the fake had accepted for
	// the round's Certificates when the kill came, HeldAfter those of them
	// that the round's Secrets hold at its end: a certificate whose POST
	// the kill cut is among them only if the next leader found it instead
	// of asking again.
	IssuedBeforeKill int `json:"issued_before_kill"`
	HeldAfter        int `json:"held_after"`
	killed           time.Time
}

// scenarioCrashFailover: three times, during a burst, the leader's
// manager process is killed with SIGKILL from the node while the fake
// holds a call of the wanted kind open. Nothing is released: the Lease
// expires, another process takes it, and every Certificate still becomes
// Ready with a chain that verifies, none issued twice.
func (s *suite) scenarioCrashFailover(st *stack) func(*testing.T) {
	return func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		// Whatever happens, the next scenarios run without the faults.
		defer func() {
			if err := st.admin.SetFaults(context.Background(), fake.Faults{}); err != nil {
				t.Errorf("clear the fake's faults: %v", err)
			}
		}()
		dups, err := st.admin.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range crashRounds {
			ns := fmt.Sprintf("atlas-crash-%d", i+1)
			// A standby must be running for the kill to be a failover.
			s.waitManagers(ctx, t, st, 2)
			k := s.crashRound(ctx, t, st, ns, i+1, r)
			s.rep.CrashKills = append(s.rep.CrashKills, k)
			if k.WithCallInFlight {
				s.rep.CrashKillsWithCallInFlight++
			}
			s.rep.TakeoverSecondsMax = math.Max(s.rep.TakeoverSecondsMax, k.TakeoverSeconds)
			s.rep.CrashFailoverTotal += burstSize
			ready := readyCerts(ctx, st, ns, burstSize, 3*time.Minute)
			s.rep.CrashFailoverReady += ready
			s.rep.CrashKills[len(s.rep.CrashKills)-1].ReadySeconds = math.Round(time.Since(k.killed).Seconds()*10) / 10
			if ready != burstSize {
				t.Errorf("round %d: %d/%d Certificates Ready after the leader %s was killed", i+1, ready, burstSize, k.Pod)
			}
			verifySecrets(ctx, t, st, ns)
			last := &s.rep.CrashKills[len(s.rep.CrashKills)-1]
			last.IssuedBeforeKill, last.HeldAfter = issuedBeforeKill(ctx, t, st, ns, k.killed)
			t.Logf("round %d: killed %s (pid %d) with %v in flight before, %v after, %v cut; %s took over in %.1f s; all Ready after %.1f s; %d of the %d certificates issued before the kill in Secrets",
				i+1, k.Pod, k.PID, k.InFlightBefore, k.InFlightAfter, k.Cut, k.NewLeader, k.TakeoverSeconds, time.Since(k.killed).Seconds(),
				last.HeldAfter, last.IssuedBeforeKill)
			// The killed process's log is the restarted container's
			// previous one until the next kill of the same pod.
			s.saveManagerLogs(ctx, t, st, fmt.Sprintf("crash-%d", i+1))
		}
		if got := s.rep.CrashKillsWithCallInFlight; got < len(crashRounds) {
			t.Errorf("%d of %d kills landed with a call of the wanted kind in flight", got, len(crashRounds))
		}
		if d := duplicates(ctx, t, st) - dups.Duplicates; d != 0 {
			t.Errorf("%d duplicate issuances at the fake across the kills", d)
		}
	}
}

// crashRound creates a burst in ns and kills the leader halfway, once a
// call of one of r.ops is in flight at the fake; it returns what it saw.
func (s *suite) crashRound(ctx context.Context, t *testing.T, st *stack, ns string, round int, r crashRound) crashKill {
	t.Helper()
	k := crashKill{Round: round, Ops: r.ops}
	lease, err := managerLease(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	holder := *lease.Spec.HolderIdentity
	k.Pod, _, _ = strings.Cut(holder, "_")
	// Everything the kill needs is looked up before the burst, so that
	// nothing but the signal stands between seeing the call and the kill.
	pid, restarts, err := s.managerPID(ctx, st, k.Pod)
	if err != nil {
		t.Fatal(err)
	}
	k.PID = pid
	if err := st.admin.SetFaults(ctx, r.faults); err != nil {
		t.Fatal(err)
	}
	var killed time.Time
	err = burst(ctx, st, ns, burstSize, func() error {
		before, err := waitInFlight(ctx, st, r.ops, 90*time.Second)
		if err != nil {
			return err
		}
		killed = time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("kill -9 %d: %w", pid, err)
		}
		after, err := st.admin.Stats(ctx)
		if err != nil {
			return err
		}
		k.InFlightBefore, k.InFlightAfter = before.InFlightByOp, after.InFlightByOp
		// The held calls of the new leader would only slow the rest of
		// the burst.
		return st.admin.SetFaults(ctx, fake.Faults{})
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fake ends a held call once it sees its client gone; the calls it
	// ended after the kill and sooner than the hold are the ones the kill
	// cut.
	spans, err := settledSpans(ctx, st, r.ops)
	if err != nil {
		t.Fatal(err)
	}
	k.killed = killed
	k.Cut = cutCalls(spans, r.ops, killed, crashHold)
	k.WithCallInFlight = inFlightAtKill(r.ops, k.InFlightBefore, k.InFlightAfter, k.Cut)

	next, err := s.nextHolder(ctx, st, holder, killed)
	if err != nil {
		t.Fatal(err)
	}
	k.NewLeader, _, _ = strings.Cut(*next.Spec.HolderIdentity, "_")
	k.Standby = k.NewLeader != k.Pod
	if next.Spec.AcquireTime != nil {
		k.TakeoverSeconds = math.Round(next.Spec.AcquireTime.Sub(killed).Seconds()*10) / 10
	}
	k.ExitCode = s.waitRestart(ctx, t, st, k.Pod, restarts)
	if k.ExitCode != 128+int32(syscall.SIGKILL) {
		t.Errorf("the killed container exited with %d, want %d (SIGKILL)", k.ExitCode, 128+int32(syscall.SIGKILL))
	}
	return k
}

// issuedBeforeKill counts the certificates the fake accepted before killed
// for the Certificates of namespace (whose names end in
// .<namespace>.example.com), and those of them the namespace's Secrets
// hold. One that cert-manager replaced with a later revision is not held;
// the accounting tells those apart.
func issuedBeforeKill(ctx context.Context, t *testing.T, st *stack, namespace string, killed time.Time) (issued, held int) {
	t.Helper()
	all, err := st.admin.Issued(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secrets := &corev1.SecretList{}
	if err := st.c.List(ctx, secrets, client.InNamespace(namespace)); err != nil {
		t.Fatal(err)
	}
	holds := map[string]bool{}
	for _, sec := range secrets.Items {
		if k, ok := leafSerial(sec.Data[corev1.TLSCertKey]); ok {
			holds[k] = true
		}
	}
	suffix := "." + namespace + ".example.com"
	for _, c := range all {
		if c.Rejected || !c.AcceptedAt.Before(killed) || !slices.ContainsFunc(c.DNSNames, func(n string) bool { return strings.HasSuffix(n, suffix) }) {
			continue
		}
		issued++
		if k, ok := serialKey(c.Serial); ok && holds[k] {
			held++
		}
	}
	return issued, held
}

// inFlightAtKill reports whether, for one of ops, the fake served a call
// right before the kill and was still serving it, or saw it cut, right
// after.
func inFlightAtKill(ops []string, before, after, cut map[string]int) bool {
	for _, op := range ops {
		if before[op] > 0 && (after[op] > 0 || cut[op] > 0) {
			return true
		}
	}
	return false
}

// cutCalls counts, per operation of ops, the calls that began before the
// kill and ended after it sooner than hold after they began: a held call
// the fake ended because its client went away.
func cutCalls(spans []fake.CallSpan, ops []string, killed time.Time, hold time.Duration) map[string]int {
	cut := map[string]int{}
	for _, sp := range spans {
		if slices.Contains(ops, sp.Op) && sp.Start.Before(killed) && !sp.End.Before(killed) && sp.End.Sub(sp.Start) < hold {
			cut[sp.Op]++
		}
	}
	return cut
}

// waitInFlight polls the fake until a call of one of ops is being served
// and returns those stats.
func waitInFlight(ctx context.Context, st *stack, ops []string, d time.Duration) (fake.AdminStats, error) {
	deadline := time.Now().Add(d)
	for {
		stats, err := st.admin.Stats(ctx)
		if err != nil {
			return stats, err
		}
		for _, op := range ops {
			if stats.InFlightByOp[op] > 0 {
				return stats, nil
			}
		}
		if time.Now().After(deadline) {
			return stats, fmt.Errorf("no call of %v in flight at the fake after %s", ops, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settledSpans waits (up to 10 s) until the fake serves no call of ops,
// which nothing makes until a new leader runs, and returns its spans.
func settledSpans(ctx context.Context, st *stack, ops []string) ([]fake.CallSpan, error) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		stats, err := st.admin.Stats(ctx)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(ops, func(op string) bool { return stats.InFlightByOp[op] > 0 }) {
			break
		}
	}
	return st.admin.Spans(ctx)
}

// managerLease is the manager's leader Lease, with a holder.
func managerLease(ctx context.Context, st *stack) (*coordinationv1.Lease, error) {
	lease := &coordinationv1.Lease{}
	if err := st.c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: "atlas-issuer.hvca.globalsign.com"}, lease); err != nil {
		return nil, err
	}
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		return nil, fmt.Errorf("the Lease has no holder")
	}
	return lease, nil
}

// nextHolder waits (up to 90 s) for the Lease to name a holder other than
// the killed one. It fails when the Lease changed hands before the kill:
// then the process killed was not the leader.
func (s *suite) nextHolder(ctx context.Context, st *stack, holder string, killed time.Time) (*coordinationv1.Lease, error) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		lease, err := managerLease(ctx, st)
		if err == nil && *lease.Spec.HolderIdentity != holder {
			if lease.Spec.AcquireTime != nil && lease.Spec.AcquireTime.Time.Before(killed) {
				return nil, fmt.Errorf("the Lease went to %s at %s, before the kill of %s", *lease.Spec.HolderIdentity, lease.Spec.AcquireTime, holder)
			}
			return lease, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("reading the Lease 90 s after the kill of %s: %w", holder, err)
			}
			return nil, fmt.Errorf("the Lease still names %s 90 s after its process was killed", holder)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// managerPID is the host PID of the manager container's process in pod,
// found through the cluster's containerd, and the container's restart
// count.
func (s *suite) managerPID(ctx context.Context, st *stack, pod string) (int, int32, error) {
	p := &corev1.Pod{}
	if err := st.c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: pod}, p); err != nil {
		return 0, 0, err
	}
	cs, ok := containerStatus(p, "manager")
	if !ok || cs.State.Running == nil {
		return 0, 0, fmt.Errorf("pod %s: no running manager container", pod)
	}
	_, id, ok := strings.Cut(cs.ContainerID, "://")
	if !ok {
		return 0, 0, fmt.Errorf("pod %s: container id %q", pod, cs.ContainerID)
	}
	out, err := exec.CommandContext(ctx, "ctr", "--address", filepath.Join(s.dir, "containerd", "containerd.sock"),
		"-n", "k8s.io", "tasks", "ls").CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("ctr tasks ls: %w\n%s", err, out)
	}
	pid, err := taskPID(string(out), id)
	if err != nil {
		return 0, 0, err
	}
	// The PID must still be the manager's: the container's entry point.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return 0, 0, err
	}
	if arg0, _, _ := strings.Cut(string(cmdline), "\x00"); arg0 != "/manager" {
		return 0, 0, fmt.Errorf("pid %d runs %q, not the manager", pid, arg0)
	}
	return pid, cs.RestartCount, nil
}

// taskPID finds the PID of task id in the output of ctr tasks ls.
func taskPID(out, id string) (int, error) {
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == id && f[2] == "RUNNING" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no running task %s in ctr tasks ls", id)
}

// waitRestart waits for kubelet to restart the killed manager container of
// pod and returns the exit code of the killed one.
func (s *suite) waitRestart(ctx context.Context, t *testing.T, st *stack, pod string, restarts int32) int32 {
	t.Helper()
	var code int32
	eventually(t, 2*time.Minute, "the killed container of "+pod+" restarted", func() error {
		p := &corev1.Pod{}
		if err := st.c.Get(ctx, client.ObjectKey{Namespace: releaseNamespace, Name: pod}, p); err != nil {
			return err
		}
		cs, ok := containerStatus(p, "manager")
		if !ok || cs.RestartCount <= restarts || cs.LastTerminationState.Terminated == nil {
			return fmt.Errorf("restarts %d, last state %+v", cs.RestartCount, cs.LastTerminationState)
		}
		code = cs.LastTerminationState.Terminated.ExitCode
		return nil
	})
	return code
}

// waitManagers waits until n manager pods, none being deleted, are Ready.
func (s *suite) waitManagers(ctx context.Context, t *testing.T, st *stack, n int) []corev1.Pod {
	t.Helper()
	var ready []corev1.Pod
	eventually(t, 2*time.Minute, fmt.Sprintf("%d manager pods Ready", n), func() error {
		pods := &corev1.PodList{}
		if err := st.c.List(ctx, pods, client.InNamespace(releaseNamespace), client.MatchingLabels{"app.kubernetes.io/instance": release}); err != nil {
			return err
		}
		ready = ready[:0]
		live := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			live++
			if cs, ok := containerStatus(&p, "manager"); ok && cs.Ready {
				ready = append(ready, p)
			}
		}
		if live != n || len(ready) != n {
			return fmt.Errorf("%d pods, %d Ready", live, len(ready))
		}
		return nil
	})
	return ready
}

// saveManagerLogs writes the logs of every manager pod's container, and of
// its previous instance when it restarted, to bin/cluster/manager-logs/,
// which outlives the pods and the cluster.
func (s *suite) saveManagerLogs(ctx context.Context, t *testing.T, st *stack, tag string) {
	t.Helper()
	pods := &corev1.PodList{}
	if err := st.c.List(ctx, pods, client.InNamespace(releaseNamespace), client.MatchingLabels{"app.kubernetes.io/instance": release}); err != nil {
		t.Logf("manager logs: %v", err)
		return
	}
	dir := filepath.Join(s.dir, "manager-logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("manager logs: %v", err)
		return
	}
	for _, p := range pods.Items {
		for _, prev := range []bool{false, true} {
			name := fmt.Sprintf("%s-%s.log", tag, p.Name)
			if prev {
				name = fmt.Sprintf("%s-%s-previous.log", tag, p.Name)
			}
			out, err := s.kubectl(ctx, nil, "-n", releaseNamespace, "logs", p.Name, "-c", "manager", fmt.Sprintf("--previous=%v", prev))
			if err != nil {
				continue // no previous instance
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte(out), 0o644); err != nil {
				t.Logf("manager logs: %v", err)
			}
		}
	}
}
