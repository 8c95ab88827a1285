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

// Package chaos is `make test-chaos`: the end-to-end setup of package
// framework driven through injected Atlas faults, SIGKILLed managers,
// leader changes, malformed input and secret canaries, measured into a
// report that says whether the reliability guarantees of
// docs/reliability.md held.
package chaos

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

// Report is bin/chaos/report.json. The top-level keys are the ones the
// reliability issue names; Details says how they were measured.
type Report struct {
	FaultMatrixReady int `json:"fault_matrix_ready"`
	FaultMatrixTotal int `json:"fault_matrix_total"`
	CrashReady       int `json:"crash_ready"`
	CrashTotal       int `json:"crash_total"`
	// Kills counts manager processes that died of SIGKILL while requests
	// were in flight: the harness's random and leader kills made while the
	// fake was serving at least one call, and the failpoints' self-kills,
	// which fire inside a Sign.
	Kills int `json:"kills"`
	// Duplicates counts the certificates issued beyond one per
	// CertificateRequest over every fake Atlas of the run (the issuer's
	// duplicates), less the planted control and those the
	// --resubmit-undecided-after bound allowed (DuplicatesByBound).
	Duplicates int `json:"duplicates"`
	// SameKeyCertificates is what the fakes count: every certificate for a
	// public key that already had one, cert-manager's second requests for
	// a key included (Details.Duplicates says which request asked for
	// each).
	SameKeyCertificates int `json:"same_key_certificates"`
	// DuplicateControlCounted says the count saw the control: one request's
	// CSR posted straight to its fake a second time.
	DuplicateControlCounted bool `json:"duplicate_control_counted"`
	// DuplicatesByBound are the second certificates of requests the bound
	// let the manager submit again, at most one per ResubmittedUndecided
	// resubmission.
	DuplicatesByBound int `json:"duplicates_resubmitted_by_bound"`
	// OrphanedCertificates counts certificates a fake issued that no
	// Secret holds at the end of the run and that are not revoked, besides
	// the kinds the run makes on purpose (OrphansByDesign).
	OrphanedCertificates int `json:"orphaned_certificates"`
	// OrphanControlFound says the count saw every certificate planted on
	// purpose, one posted straight to each fake.
	OrphanControlFound bool `json:"orphan_control_found"`
	// OrphansByDesign counts, by cause, the orphans the run makes on
	// purpose, each checked against what the run expects of it.
	OrphansByDesign map[string]int `json:"orphans_by_design"`
	// LookupFailure is, by phase, the restarts whose lookup failed.
	LookupFailure map[string]*LookupPhase `json:"lookup_failure"`
	// ControlPlane is, by scenario, the bursts under a failing API
	// server, etcd, Atlas session or clock.
	ControlPlane map[string]*ControlPlaneCase `json:"control_plane"`
	// Lost counts Certificates of the fault, crash, lookup-failure and
	// control-plane runs that never became Ready.
	Lost int `json:"lost"`
	// Failed counts CertificateRequests of those runs that ended Failed
	// although they should have succeeded.
	Failed int `json:"failed"`
	// SecretLeaks counts canary hits in logs, events and statuses.
	SecretLeaks int `json:"secret_leaks"`
	// BadInputCases and BadInputOK: malformed requests and broken Secrets,
	// and how many got a condition naming their cause without any POST.
	BadInputCases int `json:"bad_input_cases"`
	BadInputOK    int `json:"bad_input_ok"`
	// InvalidCertificates counts Ready Certificates whose Secret does not
	// verify: chain to the root, the requested name.
	InvalidCertificates int `json:"invalid_certificates"`
	// FaultsObserved counts, by kind, the faults the fake injected during
	// the fault matrix, as it counted them itself.
	FaultsObserved map[string]int `json:"faults_observed"`
	// LeakScanCanaryFound says the leak scan found the canaries planted on
	// purpose in a log, an event and an issuer status of its own: the scan
	// can see a leak in each.
	LeakScanCanaryFound bool `json:"leak_scan_canary_found"`
	// TenantIsolationRatio is the well-behaved tenant's issuance p95 with
	// the hostile tenant active divided by its p95 alone.
	TenantIsolationRatio float64 `json:"tenant_isolation_ratio"`
	// HostilePeakRSSMiB is the manager's peak resident memory during the
	// hostile phase: VmHWM, reset when the phase begins.
	HostilePeakRSSMiB float64 `json:"hostile_peak_rss_mib"`
	// ForgedMisissued counts certificates returned to requests with forged
	// annotations whose names or key differ from the request's CSR.
	ForgedMisissued int `json:"forged_misissued"`
	// ForgedAtlasCalls counts the Atlas calls the forged requests made
	// beyond what the same requests without the forged annotations make.
	ForgedAtlasCalls int `json:"forged_atlas_calls"`
	// Checks gives each figure's goal and whether the run met it.
	Checks map[string]Check `json:"checks"`
	// Goals lists what was missed; empty when the run passed.
	Goals []string `json:"goals_missed"`

	Details Details `json:"details"`
}

// Check is one figure's goal and whether it was met.
type Check struct {
	Goal string `json:"goal"`
	Pass bool   `json:"pass"`
}

// Details are the numbers behind the report.
type Details struct {
	Seed        uint64             `json:"seed"`
	WallSeconds float64            `json:"wall_seconds"`
	FaultMatrix *FaultMatrixDetail `json:"fault_matrix,omitempty"`
	Crash       *CrashDetail       `json:"crash,omitempty"`
	BadInput    *BadInputDetail    `json:"bad_input,omitempty"`
	Leaks       *LeakDetail        `json:"leaks,omitempty"`
	Tenants     *TenantsDetail     `json:"tenants,omitempty"`
	FakeStats   *fake.AdminStats   `json:"fake_stats,omitempty"`
	Orphans     *OrphanDetail      `json:"orphans,omitempty"`
	// DuplicatesByFake is every fake's own count of duplicates.
	DuplicatesByFake map[string]int `json:"duplicates_by_fake,omitempty"`
	// UnexpectedExits are managers of the lookup phases that ended by
	// themselves.
	UnexpectedExits []string `json:"unexpected_exits,omitempty"`
	// Duplicates lists every key with more than one certificate, with
	// the requests the watch saw for it.
	Duplicates *DuplicateDetail `json:"duplicates,omitempty"`
}

// FaultMatrixDetail describes the fault-matrix run.
type FaultMatrixDetail struct {
	Faults fake.Faults `json:"faults"`
	// Effective are the probabilities per call after the fake's order of
	// draws (drop, 429, 503, 500): "5xx" is what the issue asks to be ~30 %.
	Effective      map[string]float64 `json:"effective_rates"`
	TokenExpiries  int                `json:"token_expiries"`
	Seconds        float64            `json:"seconds"`
	AtlasCalls     map[string]int     `json:"atlas_calls"`
	Requests       int                `json:"certificate_requests"`
	FailedRequests []string           `json:"failed_requests,omitempty"`
	NotReady       []string           `json:"not_ready,omitempty"`
	Duplicates     int                `json:"duplicates"`
	// Reissued counts Certificates cert-manager issued more than once.
	Reissued int `json:"reissued_certificates"`
}

// CrashDetail describes the crash run.
type CrashDetail struct {
	RandomKills    int            `json:"random_kills"`
	FailpointKills map[string]int `json:"failpoint_kills"`
	LeaderKills    int            `json:"leader_kills"`
	// IdleKills are kills made when no call was in flight after waiting
	// for one; they do not count.
	IdleKills       int            `json:"kills_without_calls_in_flight"`
	ManagerStarts   int            `json:"manager_starts"`
	UnexpectedExits []string       `json:"unexpected_exits,omitempty"`
	Seconds         float64        `json:"seconds"`
	AtlasCalls      map[string]int `json:"atlas_calls"`
	Requests        int            `json:"certificate_requests"`
	FailedRequests  []string       `json:"failed_requests,omitempty"`
	NotReady        []string       `json:"not_ready,omitempty"`
	Duplicates      int            `json:"duplicates"`
	Reissued        int            `json:"reissued_certificates"`
	// Lookups counts restarts that found a certificate submitted before a
	// crash instead of submitting again (log lines of the manager).
	Lookups int `json:"lookups_after_restart"`
}

// BadInputDetail lists each malformed input and what became of it.
type BadInputDetail struct {
	Cases []BadInputCase `json:"cases"`
	// Posts is the number of POST /certificates during the bad-input run.
	Posts int `json:"posts"`
}

// BadInputCase is one malformed request or broken Secret.
type BadInputCase struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"` // csr, policy, secret
	WantCause string `json:"want_cause"`
	Condition string `json:"condition"`
	OK        bool   `json:"ok"`
}

// LeakDetail is what the canary scan looked at.
type LeakDetail struct {
	Canaries map[string]int   `json:"canaries"`
	Scanned  map[string]int   `json:"scanned"`
	Leaks    []framework.Leak `json:"leaks,omitempty"`
	// Planted are the canaries written on purpose into the scanner's
	// control log, event and issuer status, by place and kind
	// ("log/token"), and Found the ones the scan reported there.
	Planted map[string]int `json:"planted"`
	Found   map[string]int `json:"found_planted"`
}

// Write stores the report as indented JSON, creating the directory.
func (r *Report) Write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Judge fills Checks and Goals: every figure's goal, and the ones missed.
func (r *Report) Judge(minKills int) {
	r.Goals = []string{}
	r.Checks = map[string]Check{}
	check := r.check
	check("fault_matrix_ready", "= fault_matrix_total", r.FaultMatrixTotal > 0 && r.FaultMatrixReady == r.FaultMatrixTotal,
		"fault matrix: %d of %d Ready", r.FaultMatrixReady, r.FaultMatrixTotal)
	check("crash_ready", "= crash_total", r.CrashTotal > 0 && r.CrashReady == r.CrashTotal,
		"crashes: %d of %d Ready", r.CrashReady, r.CrashTotal)
	check("kills", fmt.Sprintf(">= %d, each with requests in flight", minKills), r.Kills >= minKills,
		"kills: %d, want at least %d", r.Kills, minKills)
	r.judgeCrash()
	for name, n := range map[string]int{"duplicates": r.Duplicates, "lost": r.Lost, "failed": r.Failed,
		"secret_leaks": r.SecretLeaks, "invalid_certificates": r.InvalidCertificates} {
		check(name, "0", n == 0, "%s: %d, want 0", name, n)
	}
	check("duplicate_control_counted", "true: a request's CSR posted straight to its fake again is counted", r.DuplicateControlCounted,
		"the duplicate count missed the request posted twice on purpose")
	check("bad_input_ok", "= bad_input_cases, without a POST", r.BadInputCases > 0 && r.BadInputOK == r.BadInputCases,
		"bad input: %d of %d cases named their cause without a POST", r.BadInputOK, r.BadInputCases)
	check("leak_scan_canary_found", "true: every canary planted in a log, an event and a status found", r.LeakScanCanaryFound,
		"the leak scan missed canaries planted in its control log, event or status")
	check("duplicates_resubmitted_by_bound", "= the resubmissions the bound allowed", r.LookupFailure[lookupBound] != nil &&
		r.DuplicatesByBound == r.LookupFailure[lookupBound].Resubmitted,
		"%d duplicates explained by the resubmission bound, want one per resubmitted request", r.DuplicatesByBound)
	var missing []string
	if f := r.Details.FaultMatrix; f != nil {
		missing = unobserved(f.Faults, r.FaultsObserved)
	}
	check("faults_observed", "every configured kind > 0", r.Details.FaultMatrix != nil && len(missing) == 0,
		"fault matrix: the fake injected no %v", missing)
	r.judgeTenants()
	r.judgeLookup()
	r.judgeControlPlane()
	r.judgeOrphans()
	if len(r.Details.UnexpectedExits) > 0 {
		r.Goals = append(r.Goals, fmt.Sprintf("managers of the lookup phases exited by themselves: %v", r.Details.UnexpectedExits))
	}
	sort.Strings(r.Goals)
}

// check records a figure's goal and, when missed, why.
func (r *Report) check(key, goal string, pass bool, format string, args ...any) {
	r.Checks[key] = Check{Goal: goal, Pass: pass}
	if !pass {
		r.Goals = append(r.Goals, fmt.Sprintf(format, args...))
	}
}

// judgeCrash checks what the crash run must have gone through.
func (r *Report) judgeCrash() {
	c := r.Details.Crash
	if c == nil {
		return
	}
	if c.FailpointKills["after-submit"] == 0 {
		r.Goals = append(r.Goals, "no crash between the POST and the persisted serial (failpoint after-submit)")
	}
	if c.LeaderKills == 0 {
		r.Goals = append(r.Goals, "no leader was killed")
	}
	if len(c.UnexpectedExits) > 0 {
		r.Goals = append(r.Goals, fmt.Sprintf("managers exited unexpectedly: %v", c.UnexpectedExits))
	}
}

// judgeTenants checks the hostile-tenant figures against their goals.
func (r *Report) judgeTenants() {
	t := r.Details.Tenants
	add := r.check
	if t == nil {
		r.Goals = append(r.Goals, "the hostile-tenant phase did not run")
		return
	}
	add("tenant_isolation_ratio", fmt.Sprintf("<= %.1f", maxIsolationRatio), r.TenantIsolationRatio > 0 && r.TenantIsolationRatio <= maxIsolationRatio,
		"tenant isolation: p95 %.2fx with a hostile tenant, want <= %.1f", r.TenantIsolationRatio, maxIsolationRatio)
	add("hostile_peak_rss_mib", fmt.Sprintf("< %.0f (the chart's memory limit)", t.MemoryLimitMiB),
		r.HostilePeakRSSMiB > 0 && r.HostilePeakRSSMiB < t.MemoryLimitMiB,
		"hostile tenant: manager peak RSS %.1f MiB, want below the chart's %.0f MiB", r.HostilePeakRSSMiB, t.MemoryLimitMiB)
	unseen := unobserved(t.HostileFaults, t.HostileFaultsObserved)
	add("hostile_faults_observed", "every hostile kind > 0", len(unseen) == 0,
		"hostile tenant: its Atlas never injected %v", unseen)
	add("forged_misissued", "0, with the check shown to flag another request's certificate and one of the same names for another key",
		r.ForgedMisissued == 0 && t.ForgedRequests > 0 && t.MisissueControl,
		"forged annotations: %d certificates differ from their request (of %d forged requests; check controls %v)",
		r.ForgedMisissued, t.ForgedRequests, t.MisissueControls)
	add("forged_atlas_calls", "0 beyond the same requests unforged",
		r.ForgedAtlasCalls == 0 && t.ForgedRequests > 0 && t.BaselineRequests == t.ForgedRequests && t.BaselineEnded == t.BaselineRequests,
		"forged annotations: %d Atlas calls beyond the same requests unforged (%d baseline requests, %d ended)",
		r.ForgedAtlasCalls, t.BaselineRequests, t.BaselineEnded)
}
