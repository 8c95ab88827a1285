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
	// were in flight: the harness's random kills, leader kills and the
	// failpoints' self-kills.
	Kills int `json:"kills"`
	// Duplicates is the fake's count of certificates issued for a public
	// key that already had one, over the whole run.
	Duplicates int `json:"duplicates"`
	// Lost counts Certificates of the fault and crash runs that never
	// became Ready.
	Lost int `json:"lost"`
	// Failed counts CertificateRequests of the fault and crash runs that
	// ended Failed although they should have succeeded.
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
	// Goals lists what was missed; empty when the run passed.
	Goals []string `json:"goals_missed"`

	Details Details `json:"details"`
}

// Details are the numbers behind the report.
type Details struct {
	Seed        uint64             `json:"seed"`
	WallSeconds float64            `json:"wall_seconds"`
	FaultMatrix *FaultMatrixDetail `json:"fault_matrix,omitempty"`
	Crash       *CrashDetail       `json:"crash,omitempty"`
	BadInput    *BadInputDetail    `json:"bad_input,omitempty"`
	Leaks       *LeakDetail        `json:"leaks,omitempty"`
	FakeStats   *fake.AdminStats   `json:"fake_stats,omitempty"`
	// DuplicatedRequests names the requests behind Duplicates, with the
	// number of certificates issued for their key.
	DuplicatedRequests map[string]int `json:"duplicated_requests,omitempty"`
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
	RandomKills     int            `json:"random_kills"`
	FailpointKills  map[string]int `json:"failpoint_kills"`
	LeaderKills     int            `json:"leader_kills"`
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

// Judge fills Goals with every goal of the issue the run missed.
func (r *Report) Judge(minKills int) {
	r.Goals = []string{}
	miss := func(format string, args ...any) { r.Goals = append(r.Goals, fmt.Sprintf(format, args...)) }
	if r.FaultMatrixTotal == 0 || r.FaultMatrixReady != r.FaultMatrixTotal {
		miss("fault matrix: %d of %d Ready", r.FaultMatrixReady, r.FaultMatrixTotal)
	}
	if r.CrashTotal == 0 || r.CrashReady != r.CrashTotal {
		miss("crashes: %d of %d Ready", r.CrashReady, r.CrashTotal)
	}
	if r.Kills < minKills {
		miss("kills: %d, want at least %d", r.Kills, minKills)
	}
	if c := r.Details.Crash; c != nil {
		if c.FailpointKills["after-submit"] == 0 {
			miss("no crash between the POST and the persisted serial (failpoint after-submit)")
		}
		if c.LeaderKills == 0 {
			miss("no leader was killed")
		}
		if len(c.UnexpectedExits) > 0 {
			miss("managers exited unexpectedly: %v", c.UnexpectedExits)
		}
	}
	for name, n := range map[string]int{"duplicates": r.Duplicates, "lost": r.Lost, "failed": r.Failed,
		"secret_leaks": r.SecretLeaks, "invalid_certificates": r.InvalidCertificates} {
		if n != 0 {
			miss("%s: %d, want 0", name, n)
		}
	}
	if r.BadInputCases == 0 || r.BadInputOK != r.BadInputCases {
		miss("bad input: %d of %d cases named their cause without a POST", r.BadInputOK, r.BadInputCases)
	}
}
