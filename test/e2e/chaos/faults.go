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
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// matrixFaults is the mix: about 30 % 5xx (503 and 500 in equal
// parts), 429 with Retry-After 1s, dropped connections, lost answers (Atlas
// acted, the issuer never heard) and 2 s latency spikes, on every call.
var matrixFaults = fake.Faults{
	LatencySpikeRate: 0.05,
	LatencySpike:     2 * time.Second,
	ErrorRate:        0.16,
	ServerErrorRate:  0.19,
	RateLimitRate:    0.05,
	RetryAfter:       time.Second,
	DropRate:         0.03,
	LostResponseRate: 0.03,
}

// effectiveRates are the per-call probabilities of each answer, given the
// fake's order of draws: drop, then 429, then 503, then 500.
func effectiveRates(f fake.Faults) map[string]float64 {
	left := 1.0
	out := map[string]float64{}
	for _, d := range []struct {
		name string
		p    float64
	}{{"drop", f.DropRate}, {"429", f.RateLimitRate}, {"503", f.ErrorRate}, {"500", f.ServerErrorRate}} {
		out[d.name] = left * d.p
		left *= 1 - d.p
	}
	out["5xx"] = out["503"] + out["500"]
	// A lost answer is drawn after the handler for calls no fault stopped.
	out["lost_response"] = left * f.LostResponseRate
	out["latency_spike"] = f.LatencySpikeRate
	return out
}

// faultMatrix issues FaultCerts Certificates through an AtlasIssuer whose
// mTLS key is encrypted, while the fake injects matrixFaults and expires
// every token each 10 s.
func (r *run) faultMatrix(ctx context.Context) error {
	cfg := r.cfg
	r.logf("fault matrix: %d Certificates under %+v", cfg.FaultCerts, matrixFaults)
	if _, err := r.readyIssuer(ctx, nsFaults, true); err != nil {
		return err
	}
	before, err := r.env.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	if err := r.env.Admin.SetFaults(ctx, matrixFaults); err != nil {
		return err
	}
	defer func() { _ = r.env.Admin.SetFaults(context.WithoutCancel(ctx), fake.Faults{}) }()

	start := time.Now()
	expiries := 0
	lastExpiry := time.Now()
	tick := func() error {
		if time.Since(lastExpiry) >= 10*time.Second {
			lastExpiry = time.Now()
			expiries++
			return r.env.Admin.ExpireTokens(ctx)
		}
		return nil
	}
	created := make(chan error, 1)
	go func() {
		created <- r.createCertificates(ctx, nsFaults, "fault", "AtlasIssuer", "atlas", 0, cfg.FaultCerts, 0)
	}()
	// Token expiry runs while the Certificates are created too.
	for done := false; !done; {
		select {
		case err := <-created:
			if err != nil {
				return err
			}
			done = true
		case <-time.After(time.Second):
			if err := tick(); err != nil {
				return err
			}
		}
	}
	p, err := r.waitReady(ctx, nsFaults, cfg.FaultCerts, start.Add(cfg.FaultTimeout), tick)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if err := r.env.Admin.SetFaults(ctx, fake.Faults{}); err != nil {
		return err
	}
	after, err := r.env.Admin.Stats(ctx)
	if err != nil {
		return err
	}
	calls := callsSince(before, after)
	r.report.FaultsObserved = countsSince(before.FaultsInjected, after.FaultsInjected)
	r.report.FaultMatrixTotal = cfg.FaultCerts
	r.report.FaultMatrixReady = p.ready
	r.report.Lost += cfg.FaultCerts - p.ready
	r.report.Failed += len(p.failed)
	r.report.Details.FaultMatrix = &FaultMatrixDetail{
		Faults: matrixFaults, Effective: effectiveRates(matrixFaults), TokenExpiries: expiries,
		Seconds: elapsed.Seconds(), AtlasCalls: calls, Requests: p.requests,
		FailedRequests: head(p.failed, 20), NotReady: head(p.notReady, 20),
		Duplicates: after.Duplicates - before.Duplicates, Reissued: p.reissued,
	}
	r.logf("fault matrix: %d/%d Ready in %s, %d requests, %d failed, %d duplicates, %d token expiries",
		p.ready, cfg.FaultCerts, elapsed.Round(time.Second), p.requests, len(p.failed), after.Duplicates-before.Duplicates, expiries)
	return nil
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// callsSince is, per operation, how many calls the fake counted between two
// of its stats; operations it did not see again are left out.
func callsSince(before, after fake.AdminStats) map[string]int {
	return countsSince(before.Calls, after.Calls)
}
