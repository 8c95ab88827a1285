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
	"os"
	"regexp"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/internal/failpoint"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// failpoints armed on every other restart of the single-replica stage:
// after-submit is the moment between Atlas accepting the POST and the
// serial being persisted, which random kills would hardly ever hit.
const failpoints = "after-submit=0.25,after-intent=0.08,after-issue=0.08"

var failpointFired = regexp.MustCompile(`failpoint fired: crashing.*"failpoint":"([a-z-]+)"`)

// crashes issues CrashCerts Certificates through an AtlasClusterIssuer
// while managers die: first a single replica killed at random moments and
// restarted at once, with failpoints armed on every other start; then two
// replicas with leader election whose leader is killed and replaced.
func (r *run) crashes(ctx context.Context) error {
	cfg := r.cfg
	start := time.Now()
	d := &CrashDetail{FailpointKills: map[string]int{}}
	r.report.Details.Crash = d
	r.report.CrashTotal = cfg.CrashCerts

	// The setup's manager served the earlier runs; from here on every
	// manager is one of ours.
	if err := r.env.Manager().Stop(15 * time.Second); err != nil {
		return err
	}
	// A little latency on every call makes random kills land mid-call.
	if err := r.env.Admin.SetFaults(ctx, fake.Faults{Latency: 20 * time.Millisecond}); err != nil {
		return err
	}
	defer func() { _ = r.env.Admin.SetFaults(context.WithoutCancel(ctx), fake.Faults{}) }()
	before, err := r.env.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	lookupsBefore := r.countInLogs("found the certificate submitted before a restart")

	sec, err := r.canaries.secret(r.env, framework.ClusterResourceNamespace, crashIssuer+"-credentials", false)
	if err != nil {
		return err
	}
	if err := r.env.Client.Create(ctx, sec); err != nil {
		return err
	}
	spec, err := r.env.IssuerSpec(sec.Name)
	if err != nil {
		return err
	}
	iss := &v1alpha1.AtlasClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: crashIssuer}, Spec: spec}
	if err := r.env.Client.Create(ctx, iss); err != nil {
		return err
	}

	starts := 0
	startManager := func(armed bool, extra ...string) (*framework.Process, error) {
		starts++
		d.ManagerStarts++
		var env []string
		if armed {
			env = append(env, failpoint.EnvVar+"="+failpoints)
		}
		p, err := r.env.StartManagerProcess(fmt.Sprintf("manager-crash-%02d", starts), env, extra...)
		if err == nil {
			r.track(p)
		}
		return p, err
	}
	// classify records how a process that ended by itself died.
	classify := func(p *framework.Process) {
		b, _ := os.ReadFile(p.LogPath)
		if m := failpointFired.FindAllSubmatch(b, -1); len(m) > 0 && p.KilledBySignal() {
			d.FailpointKills[string(m[len(m)-1][1])]++
			return
		}
		_, err := p.Exited()
		d.UnexpectedExits = append(d.UnexpectedExits, fmt.Sprintf("%s: %v:%s", p.Name, err, framework.Tail(p.LogPath, 5)))
	}
	fpKills := func() int {
		n := 0
		for _, v := range d.FailpointKills {
			n += v
		}
		return n
	}

	// Stage A: one replica, no leader election, killed and restarted.
	p, err := startManager(false)
	if err != nil {
		return err
	}
	if err := r.issuerReady(ctx, iss, 2*time.Minute); err != nil {
		return err
	}
	stageA := cfg.CrashCerts * 3 / 4
	created := make(chan error, 2)
	go func() {
		created <- r.createCertificates(ctx, nsCrash, "crash", "AtlasClusterIssuer", crashIssuer, 0, stageA, 60*time.Second)
	}()
	wantA := cfg.MinKills + 2 - cfg.LeaderKills
	stageADeadline := time.Now().Add(3 * time.Minute)
	// Kills go on until the stage's Certificates are all created, so that
	// they land while requests are in flight.
	createdA := false
	for armed := false; ; armed = !armed {
		if !createdA {
			select {
			case err := <-created:
				if err != nil {
					return err
				}
				createdA = true
			default:
			}
		}
		kills := d.RandomKills + fpKills()
		if createdA && kills >= wantA && d.FailpointKills[failpoint.AfterSubmit] >= 3 && d.RandomKills >= wantA/2 {
			break
		}
		if time.Now().After(stageADeadline) {
			r.logf("crashes: stage A out of time with %d kills", kills)
			break
		}
		if p == nil {
			arm := armed && (d.FailpointKills[failpoint.AfterSubmit] < 3 || fpKills() < wantA/3)
			if p, err = startManager(arm); err != nil {
				return err
			}
		}
		life := 2*time.Second + time.Duration(r.rnd.Int64N(int64(5*time.Second)))
		select {
		case <-p.Done():
			classify(p)
		case <-time.After(life):
			switch r.killInFlight(ctx, p) {
			case killedInFlight:
				d.RandomKills++
			case killedIdle:
				d.IdleKills++
			case exitedFirst:
				classify(p)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		r.logf("crashes: %s down after %s (random kills %d, failpoint kills %v)", p.Name, life.Round(100*time.Millisecond), d.RandomKills, d.FailpointKills)
		p = nil
	}
	if !createdA {
		if err := <-created; err != nil {
			return err
		}
	}

	// Stage B: two replicas with leader election; the leader is killed.
	go func() {
		created <- r.createCertificates(ctx, nsCrash, "crash", "AtlasClusterIssuer", crashIssuer, stageA, cfg.CrashCerts, 60*time.Second)
	}()
	le := []string{"--leader-elect", "--leader-election-namespace", framework.ClusterResourceNamespace}
	var replicas []*framework.Process
	for range 2 {
		p, err := startManager(false, le...)
		if err != nil {
			return err
		}
		replicas = append(replicas, p)
	}
	createdB := false
	for !createdB || d.LeaderKills < cfg.LeaderKills {
		if !createdB {
			select {
			case err := <-created:
				if err != nil {
					return err
				}
				createdB = true
			default:
			}
		}
		leader, err := r.waitLeader(ctx, replicas, 60*time.Second)
		if err != nil {
			return err
		}
		life := 2*time.Second + time.Duration(r.rnd.Int64N(int64(4*time.Second)))
		select {
		case <-leader.Done():
			classify(leader)
		case <-time.After(life):
			switch r.killInFlight(ctx, leader) {
			case killedInFlight:
				d.LeaderKills++
			case killedIdle:
				d.IdleKills++
			case exitedFirst:
				classify(leader)
			}
			r.logf("crashes: killed leader %s after %s (leader kills %d)", leader.Name, life.Round(100*time.Millisecond), d.LeaderKills)
		}
		var alive []*framework.Process
		for _, q := range replicas {
			if done, _ := q.Exited(); !done {
				alive = append(alive, q)
			} else if q != leader {
				classify(q)
			}
		}
		for len(alive) < 2 {
			q, err := startManager(false, le...)
			if err != nil {
				return err
			}
			alive = append(alive, q)
		}
		replicas = alive
	}
	r.report.Kills = d.RandomKills + fpKills() + d.LeaderKills
	r.logf("crashes: %d kills (random %d, failpoints %v, leader %d); waiting for the Certificates", r.report.Kills, d.RandomKills, d.FailpointKills, d.LeaderKills)

	prog, err := r.waitReady(ctx, nsCrash, cfg.CrashCerts, start.Add(cfg.CrashTimeout), func() error {
		for _, q := range replicas {
			if done, _ := q.Exited(); done {
				return fmt.Errorf("replica %s exited: %s", q.Name, framework.Tail(q.LogPath, 10))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	after, err := r.env.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	calls := callsSince(before, after)
	r.report.CrashReady = prog.ready
	r.report.Lost += cfg.CrashCerts - prog.ready
	r.report.Failed += len(prog.failed)
	d.Seconds = time.Since(start).Seconds()
	d.AtlasCalls = calls
	d.Requests = prog.requests
	d.FailedRequests = head(prog.failed, 20)
	d.NotReady = head(prog.notReady, 20)
	d.Duplicates = after.Duplicates - before.Duplicates
	d.Reissued = prog.reissued
	d.Lookups = r.countInLogs("found the certificate submitted before a restart") - lookupsBefore
	r.logf("crashes: %d/%d Ready in %s, %d requests, %d failed, %d duplicates, %d lookups after restarts",
		prog.ready, cfg.CrashCerts, time.Since(start).Round(time.Second), prog.requests, len(prog.failed), d.Duplicates, d.Lookups)
	// The later runs start managers of their own; these release the
	// Lease as they stop.
	for _, q := range replicas {
		_ = q.Stop(20 * time.Second)
	}
	return nil
}

// killOutcome is what killInFlight did.
type killOutcome int

const (
	killedInFlight killOutcome = iota
	killedIdle
	exitedFirst
)

// killInFlight waits up to three seconds for the fake to be serving a
// call, then kills p: a kill counts only when a call was in flight just
// before it. Only the process to be killed talks to the fake then (the
// other replica is not leader).
func (r *run) killInFlight(ctx context.Context, p *framework.Process) killOutcome {
	deadline := time.Now().Add(3 * time.Second)
	for {
		select {
		case <-p.Done():
			return exitedFirst
		default:
		}
		st, err := r.env.Admin.Stats(ctx)
		if err == nil && st.InFlight > 0 {
			p.Kill()
			return killedInFlight
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.Kill()
			return killedIdle
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLeader returns the live replica that holds the lease.
func (r *run) waitLeader(ctx context.Context, replicas []*framework.Process, timeout time.Duration) (*framework.Process, error) {
	deadline := time.Now().Add(timeout)
	for {
		for _, p := range replicas {
			if done, _ := p.Exited(); !done && p.LogContains("successfully acquired lease") {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no replica acquired the lease within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
