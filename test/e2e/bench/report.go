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

package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Report is bin/bench/report.json: the headline figures under fixed keys
// (null when their phase did not run), the goals, and the raw
// measurements they come from.
type Report struct {
	P1RatioVsCAIssuer              *float64 `json:"p1_ratio_vs_ca_issuer"`
	P2IssuerFractionOfLatencyLimit *float64 `json:"p2_issuer_fraction_of_latency_limit"`
	P2PipelineRatioVsCAIssuer      *float64 `json:"p2_pipeline_ratio_vs_ca_issuer"`
	P3AtlasCallsPerReadyCert       *float64 `json:"p3_atlas_calls_per_ready_cert"`
	// Duplicates is the fake's count of certificates issued for a key it
	// had issued for before, over every AtlasIssuer Certificates run.
	Duplicates              *int     `json:"duplicates"`
	P4RSSMiB                *float64 `json:"p4_rss_mib"`
	P5IssuerReadySecondsMax *float64 `json:"p5_issuer_ready_seconds_max"`
	P6ExtraAPIWritesPerCert *float64 `json:"p6_extra_api_writes_per_cert"`
	P7ManagerCPUMsPerCert   *float64 `json:"p7_manager_cpu_ms_per_cert"`
	P8RSSMiBPer1kRequests   *float64 `json:"p8_rss_mib_per_1k_requests"`
	// P8RSSMiBAt20k is the full run's point at 20,000 requests.
	P8RSSMiBAt20k *float64 `json:"p8_rss_mib_at_20k_requests,omitempty"`

	Goals   []Goal    `json:"goals"`
	Quick   bool      `json:"quick"`
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	Machine Machine   `json:"machine"`
	// Environment is what the benchmark's processes ran with.
	Environment Environment `json:"environment"`
	// ManagerEnv is set only by investigations (BENCH_MANAGER_ENV).
	ManagerEnv []string `json:"manager_env,omitempty"`

	P1          *P1Raw             `json:"p1,omitempty"`
	P2          *P2Raw             `json:"p2,omitempty"`
	P3          *P3Raw             `json:"p3,omitempty"`
	P4          *P4Raw             `json:"p4,omitempty"`
	P5          *P5Raw             `json:"p5,omitempty"`
	P6          *P6Raw             `json:"p6,omitempty"`
	P7          *P7Raw             `json:"p7,omitempty"`
	P8          *P8Raw             `json:"p8,omitempty"`
	Concurrency []ConcurrencyPoint `json:"concurrency,omitempty"`
	Errors      []string           `json:"errors,omitempty"`
	// Findings are things the run noticed that are not figures, such as a
	// manager that had to be killed on shutdown.
	Findings []string `json:"findings,omitempty"`
}

// Machine is what the numbers were measured on.
type Machine struct {
	CPUs       int    `json:"cpus"`
	GoVersion  string `json:"go_version"`
	LoadAvg    string `json:"load_average_at_start"`
	LoadAvgEnd string `json:"load_average_at_end"`
}

// Environment is the environment of the processes the benchmark started
// itself (manager, cert-manager's controllers, the fake), and the Go
// runtime variables taken out of the benchmark's own environment so that
// the control plane, which envtest starts with it, does not inherit them.
type Environment struct {
	Children []string `json:"children"`
	Removed  []string `json:"removed_from_benchmark"`
}

// Goal is one target and whether this run met it.
type Goal struct {
	Key    string  `json:"key"`
	Name   string  `json:"name"`
	Op     string  `json:"op"` // "<=" or ">="
	Target float64 `json:"goal"`
	Value  float64 `json:"value"`
	Met    bool    `json:"met"`
	// Measured is false when the phase did not run or failed.
	Measured bool `json:"measured"`
}

// Burst is one timed burst: N objects created at once, seconds from the
// first create to the last Ready, and what it cost from just before the
// first create until SettleSeconds after the last Ready.
type Burst struct {
	Path      string  `json:"path"` // "ca-issuer" or "atlas-issuer"
	Kind      string  `json:"kind"` // "Certificates" or "CertificateRequests"
	Namespace string  `json:"namespace"`
	N         int     `json:"n"`
	Ready     int     `json:"ready"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// SettleSeconds is how long after the last Ready the costs were read:
	// at least 3 s, then once a second had passed with no API write but
	// lease renewals and, on the Atlas path, no call to the fake (at most
	// 60 s). WindowSeconds is the whole span the costs cover.
	SettleSeconds float64 `json:"settle_seconds"`
	WindowSeconds float64 `json:"window_seconds"`
	// CPUSeconds is the CPU time (user + system) of each process over the
	// window, from /proc/<pid>/stat.
	CPUSeconds map[string]float64 `json:"cpu_seconds"`
	// APIWrites are kube-apiserver's own counts of POST, PUT, PATCH, APPLY
	// and DELETE over the window, by verb and resource, from every client.
	APIWrites        map[string]int `json:"api_writes"`
	APIWritesTotal   int            `json:"api_writes_total"`
	APIWritesPerItem float64        `json:"api_writes_per_ready"`
	// AtlasCalls and Issued are the fake's counters over the run (Atlas
	// runs only), reset before the issuer was created.
	AtlasCalls    map[string]int `json:"atlas_calls,omitempty"`
	TotalCalls    int            `json:"atlas_calls_total,omitempty"`
	CallsPerReady float64        `json:"atlas_calls_per_ready,omitempty"`
	// SigningCallsPerReady counts only the calls from the first create on,
	// without the issuer's Check before it: what the latency limits use.
	SigningCallsPerReady float64 `json:"atlas_signing_calls_per_ready,omitempty"`
	Issued               int     `json:"issued,omitempty"`
	// Duplicates is the fake's count of certificates issued for a key
	// that already had one (Atlas Certificates runs only).
	Duplicates *int `json:"duplicates,omitempty"`
	// PeakInFlight is the most Atlas calls the fake served at once: at
	// most --max-concurrent-requests, and equal to it when the issuer
	// keeps every slot busy.
	PeakInFlight int `json:"atlas_peak_in_flight,omitempty"`
	// AtlasBusySeconds is the sum of the durations of the Atlas calls made
	// from the first create on: divided by the run's seconds and its
	// slots, how busy the slots were.
	AtlasBusySeconds float64 `json:"atlas_busy_seconds,omitempty"`
	// SlotUse is how the calls filled the slots over time (CertificateRequests runs).
	SlotUse *SlotUse `json:"slot_use,omitempty"`
	// Requests is how many CertificateRequests cert-manager created for
	// the run's N Certificates: more than N when it created twins.
	Requests int `json:"certificate_requests,omitempty"`
	// LoadBefore and LoadAfter are the one-minute load averages around the
	// run.
	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`
}

// costs is a log line's summary of what a run cost.
func (r Burst) costs() string {
	out := fmt.Sprintf("; %.1f API writes each, manager %.1f ms CPU each", r.APIWritesPerItem, 1000*r.CPUSeconds["manager"]/float64(max(r.Ready, 1)))
	if r.Path == pathAtlas {
		out += fmt.Sprintf(", %.3f Atlas calls each", r.CallsPerReady)
	}
	if r.Duplicates != nil && *r.Duplicates > 0 {
		out += fmt.Sprintf(", %d DUPLICATES", *r.Duplicates)
	}
	return out
}

// P1Raw holds N Certificates through the CA issuer and through an AtlasIssuer at
// 0 ms, in ABBA order so that a drifting machine load favours neither.
type P1Raw struct {
	N                int       `json:"n"`
	Runs             []Burst   `json:"runs"`
	RoundRatios      []float64 `json:"round_ratios"`
	TotalRatio       float64   `json:"ratio_of_totals"`
	CASeconds        float64   `json:"ca_issuer_seconds_total"`
	AtlasSeconds     float64   `json:"atlas_issuer_seconds_total"`
	CAPerSecond      float64   `json:"ca_issuer_certs_per_second"`
	AtlasPerSecond   float64   `json:"atlas_issuer_certs_per_second"`
	WarmupPerPathN   int       `json:"warmup_per_path"`
	CreateGoroutines int       `json:"create_goroutines"`
}

// P2Raw holds the fake at 250 ms per call with 16 Atlas slots. A limit is
// slots / (measured Atlas calls per item x latency).
type P2Raw struct {
	LatencyMS             int `json:"latency_ms"`
	MaxConcurrentRequests int `json:"max_concurrent_requests"`
	// Requests is the issuer alone: CertificateRequests with ready CSRs,
	// without cert-manager's key generation and Secret writes.
	Requests      Burst   `json:"certificate_requests"`
	RequestsLimit float64 `json:"certificate_requests_limit_per_second"`
	// Certificates through us at 250 ms, and CACertificates through the CA
	// issuer (0 ms) just before and just after them.
	Certificates                Burst   `json:"certificates"`
	CertificatesLimit           float64 `json:"certificates_limit_per_second"`
	CertificatesFractionOfLimit float64 `json:"certificates_fraction_of_limit"`
	CACertificates              []Burst `json:"ca_issuer_certificates"`
	CAPerSecond                 float64 `json:"ca_issuer_certs_per_second"`
}

// P3Raw holds Atlas calls per Ready certificate, pooled over the side-by-side
// phase's AtlasIssuer runs (each run is in P1.Runs).
type P3Raw struct {
	Source   string `json:"source"`
	Calls    int    `json:"calls"`
	Ready    int    `json:"ready_certificates"`
	Requests int    `json:"certificate_requests"`
}

// P4Raw holds the manager's memory with many requests and unrelated Secrets.
type P4Raw struct {
	Requests            int      `json:"certificate_requests"`
	UnrelatedSecrets    int      `json:"unrelated_secrets"`
	SecretBytes         int      `json:"unrelated_secret_bytes"`
	RequestsInCluster   int      `json:"certificate_requests_in_cluster"`
	SecretsInCluster    int      `json:"secrets_in_cluster"`
	SignSeconds         float64  `json:"sign_seconds"`
	SignPeakMiB         float64  `json:"sign_peak_rss_mib"`
	SignEndMiB          float64  `json:"sign_end_rss_mib"`
	RestartPeakMiB      float64  `json:"restart_peak_rss_mib"`
	RestartSettledMiB   float64  `json:"restart_settled_rss_mib"`
	RestartReadySeconds float64  `json:"restart_issuer_ready_seconds"`
	Samples             []Sample `json:"rss_samples,omitempty"`
	HeapProfile         string   `json:"heap_profile,omitempty"`
}

// Sample is the manager's RSS at a moment of P4.
type Sample struct {
	Seconds float64 `json:"t"`
	MiB     float64 `json:"rss_mib"`
	Phase   string  `json:"phase"`
}

// P5Raw holds seconds from manager start to issuer Ready, every sample.
type P5Raw struct {
	Seconds []float64 `json:"seconds"`
	Median  float64   `json:"median"`
	Max     float64   `json:"max"`
	// CRsInCluster is how many CertificateRequests the manager's cache had
	// to list at start.
	CRsInCluster int `json:"certificate_requests_in_cluster"`
}

// P6Raw holds API writes per Ready Certificate by "VERB resource", pooled over
// the side-by-side runs of each path.
type P6Raw struct {
	CAPerCert         map[string]float64 `json:"ca_issuer_per_cert"`
	AtlasPerCert      map[string]float64 `json:"atlas_issuer_per_cert"`
	CATotalPerCert    float64            `json:"ca_issuer_total_per_cert"`
	AtlasTotalPerCert float64            `json:"atlas_issuer_total_per_cert"`
}

// P7Raw holds CPU milliseconds per Ready Certificate of each process, pooled
// over the side-by-side runs of each path.
type P7Raw struct {
	CAMsPerCert    map[string]float64 `json:"ca_issuer_ms_per_cert"`
	AtlasMsPerCert map[string]float64 `json:"atlas_issuer_ms_per_cert"`
}

// P8Raw holds the manager's memory after a restart at several counts of
// settled requests, and the least-squares slopes through the points.
type P8Raw struct {
	Points           []MemoryPoint `json:"points"`
	Batches          []MemoryBatch `json:"batches,omitempty"`
	RSSMiBPer1k      float64       `json:"rss_mib_per_1k_requests"`
	LiveHeapMiBPer1k float64       `json:"live_heap_mib_per_1k_requests"`
}

// MemoryPoint is the manager restarted with Requests CertificateRequests in
// the cluster, all settled.
type MemoryPoint struct {
	Requests     int     `json:"certificate_requests"`
	RSSMiB       float64 `json:"rss_mib"`
	PeakRSSMiB   float64 `json:"peak_rss_mib_since_start"`
	LiveHeapMiB  float64 `json:"live_heap_mib"`
	ReadySeconds float64 `json:"issuer_ready_seconds"`
}

// MemoryBatch is one further burst of P8, signed by the running manager.
type MemoryBatch struct {
	Requests   int     `json:"certificate_requests"`
	Seconds    float64 `json:"seconds"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

// ConcurrencyPoint is one point of the throughput plot.
type ConcurrencyPoint struct {
	Concurrency    int     `json:"max_concurrent_requests"`
	Kind           string  `json:"kind"` // "Certificates" or "CertificateRequests"
	N              int     `json:"n"`
	Seconds        float64 `json:"seconds"`
	PerSecond      float64 `json:"per_second"`
	LimitPerSecond float64 `json:"latency_limit_per_second"`
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// goalSpecs are the goals in report order; value reads the headline, nil
// when it was not measured.
var goalSpecs = []struct {
	key, name, op string
	target        float64
	value         func(*Report) *float64
}{
	{"p1_ratio_vs_ca_issuer", "P1 time(ours) / time(CA issuer), 0 ms, median of rounds", "<=", 1.10, func(r *Report) *float64 { return r.P1RatioVsCAIssuer }},
	{"p2_issuer_fraction_of_latency_limit", "P2 CertificateRequests/s / latency limit, 250 ms, 16 slots", ">=", 0.90, func(r *Report) *float64 { return r.P2IssuerFractionOfLatencyLimit }},
	{"p2_pipeline_ratio_vs_ca_issuer", "P2 Certificates/s ours at 250 ms / CA issuer's at 0 ms", ">=", 0.95, func(r *Report) *float64 { return r.P2PipelineRatioVsCAIssuer }},
	{"p3_atlas_calls_per_ready_cert", "P3 Atlas calls per Ready Certificate", "<=", 2.02, func(r *Report) *float64 { return r.P3AtlasCallsPerReadyCert }},
	{"duplicates", "P3 duplicate issuances", "<=", 0, func(r *Report) *float64 {
		if r.Duplicates == nil {
			return nil
		}
		return new(float64(*r.Duplicates))
	}},
	{"p4_rss_mib", "P4 manager peak RSS (MiB)", "<=", 80, func(r *Report) *float64 { return r.P4RSSMiB }},
	{"p5_issuer_ready_seconds_max", "P5 manager start to issuer Ready, slowest (s)", "<=", 2, func(r *Report) *float64 { return r.P5IssuerReadySecondsMax }},
	{"p6_extra_api_writes_per_cert", "P6 API writes per Certificate beyond the CA issuer's", "<=", 2.0, func(r *Report) *float64 { return r.P6ExtraAPIWritesPerCert }},
	{"p7_manager_cpu_ms_per_cert", "P7 manager CPU ms per Certificate, 0 ms", "<=", 4, func(r *Report) *float64 { return r.P7ManagerCPUMsPerCert }},
	{"p8_rss_mib_per_1k_requests", "P8 manager RSS MiB per 1,000 settled requests", "<=", 3, func(r *Report) *float64 { return r.P8RSSMiBPer1kRequests }},
	{"p8_rss_mib_at_20k_requests", "P8 manager peak RSS with 20,000 requests (MiB, full run)", "<=", 120, func(r *Report) *float64 { return r.P8RSSMiBAt20k }},
}

func (r *Report) setGoals() {
	r.Goals = nil
	for _, s := range goalSpecs {
		g := Goal{Key: s.key, Name: s.name, Op: s.op, Target: s.target}
		if v := s.value(r); v != nil {
			g.Measured, g.Value = true, *v
			if g.Op == "<=" {
				g.Met = g.Value <= g.Target
			} else {
				g.Met = g.Value >= g.Target
			}
		}
		r.Goals = append(r.Goals, g)
	}
}

// write saves report.json and report.md in dir.
func (r *Report) write(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown()), 0o644)
}

// Table is the goals table in Markdown, also printed at the end of a run.
func (r *Report) Table() string {
	var b strings.Builder
	b.WriteString("| key | measure | goal | value | met |\n|---|---|---|---|---|\n")
	for _, g := range r.Goals {
		val, met := "not measured", "—"
		if g.Measured {
			val = trimFloat(g.Value)
			met = "yes"
			if !g.Met {
				met = "**no**"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s %s | %s | %s |\n", g.Key, g.Name, g.Op, trimFloat(g.Target), val, met)
	}
	return b.String()
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// Markdown is report.md: the goals table and the raw figures behind it.
func (r *Report) Markdown() string {
	var b strings.Builder
	mode := "full"
	if r.Quick {
		mode = "quick (BENCH_QUICK=1)"
	}
	fmt.Fprintf(&b, "# atlas-issuer benchmark report\n\nRun: %s, %s mode, %.0f s, %d CPUs, %s, load average %s at start and %s at the end.\n\n",
		r.Started.UTC().Format(time.RFC3339), mode, r.Seconds, r.Machine.CPUs, r.Machine.GoVersion, r.Machine.LoadAvg, r.Machine.LoadAvgEnd)
	if len(r.ManagerEnv) > 0 {
		fmt.Fprintf(&b, "**The manager ran with extra environment %q: not a product default.**\n\n", r.ManagerEnv)
	}
	fmt.Fprintf(&b, "Environment of the processes the benchmark starts: %s", code(r.Environment.Children))
	if len(r.Environment.Removed) > 0 {
		fmt.Fprintf(&b, "; removed from the benchmark's own, which envtest's control plane inherits: %s", code(r.Environment.Removed))
	}
	b.WriteString(".\n\n")
	b.WriteString(r.Table())
	if p := r.P1; p != nil {
		fmt.Fprintf(&b, "\n## Side by side: %d Certificates to Ready, CA issuer vs AtlasIssuer (fake at 0 ms)\n\n", p.N)
		b.WriteString("| order | path | namespace | seconds | certificates/s | requests | Atlas calls per Ready | duplicates | API writes per Ready | load avg before/after |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for i, run := range p.Runs {
			calls, dup := "", ""
			if run.Path == pathAtlas {
				calls = fmt.Sprintf("%.3f (%d / %d)", run.CallsPerReady, run.TotalCalls, run.Ready)
				dup = fmt.Sprint(deref(run.Duplicates))
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %.2f | %.1f | %d | %s | %s | %.2f | %.1f / %.1f |\n", i+1, run.Path, run.Namespace, run.Seconds, run.PerSecond, run.Requests, calls, dup, run.APIWritesPerItem, run.LoadBefore, run.LoadAfter)
		}
		fmt.Fprintf(&b, "\nP1: ratios per round (ours / CA) %v; median %s. Totals: CA issuer %.2f s, AtlasIssuer %.2f s, ratio %.3f.\n",
			p.RoundRatios, opt(r.P1RatioVsCAIssuer), p.CASeconds, p.AtlasSeconds, p.TotalRatio)
	}
	if p := r.P3; p != nil {
		fmt.Fprintf(&b, "\nP3: %d Atlas calls for %d Ready Certificates (%d CertificateRequests): %s per Ready Certificate; %d duplicates over every AtlasIssuer Certificates run. Source: %s.\n",
			p.Calls, p.Ready, p.Requests, opt(r.P3AtlasCallsPerReadyCert), deref(r.Duplicates), p.Source)
	}
	if p := r.P6; p != nil {
		b.WriteString("\n### P6: API writes per Certificate (kube-apiserver's apiserver_request_total, every client)\n\n")
		b.WriteString("| verb resource | CA issuer | AtlasIssuer | difference |\n|---|---|---|---|\n")
		for _, k := range unionKeys(p.CAPerCert, p.AtlasPerCert) {
			fmt.Fprintf(&b, "| %s | %.3f | %.3f | %+.3f |\n", k, p.CAPerCert[k], p.AtlasPerCert[k], p.AtlasPerCert[k]-p.CAPerCert[k])
		}
		fmt.Fprintf(&b, "| **total** | %.3f | %.3f | **%+.3f** |\n", p.CATotalPerCert, p.AtlasTotalPerCert, p.AtlasTotalPerCert-p.CATotalPerCert)
	}
	if p := r.P7; p != nil {
		b.WriteString("\n### P7: CPU ms per Certificate (/proc/<pid>/stat, utime + stime)\n\n")
		b.WriteString("| process | CA issuer | AtlasIssuer |\n|---|---|---|\n")
		var tca, tat float64
		for _, n := range processNames {
			fmt.Fprintf(&b, "| %s | %.1f | %.1f |\n", n, p.CAMsPerCert[n], p.AtlasMsPerCert[n])
			tca += p.CAMsPerCert[n]
			tat += p.AtlasMsPerCert[n]
		}
		fmt.Fprintf(&b, "| **total** | %.1f | %.1f |\n", tca, tat)
	}
	if runs := r.allRuns(); len(runs) > 0 {
		b.WriteString("\n### CPU seconds per run\n\n| run | path | kind | n | seconds | window s |")
		for _, n := range processNames {
			fmt.Fprintf(&b, " %s |", n)
		}
		b.WriteString(" CPU s | cores busy |\n|---|---|---|---|---|---|")
		b.WriteString(strings.Repeat("---|", len(processNames)+2) + "\n")
		for _, run := range runs {
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %.1f | %.1f |", run.Namespace, run.Path, run.Kind, run.N, run.Seconds, run.WindowSeconds)
			var tot float64
			for _, n := range processNames {
				fmt.Fprintf(&b, " %.1f |", run.CPUSeconds[n])
				tot += run.CPUSeconds[n]
			}
			busy := 0.0
			if run.WindowSeconds > 0 {
				busy = tot / run.WindowSeconds
			}
			fmt.Fprintf(&b, " %.1f | %.2f |\n", tot, busy)
		}
	}
	if p := r.P2; p != nil {
		fmt.Fprintf(&b, "\n## Latency: fake at %d ms per call, --max-concurrent-requests=%d\n\n", p.LatencyMS, p.MaxConcurrentRequests)
		b.WriteString("A limit is 16 slots / (Atlas calls per item from the first create on x latency).\n\n")
		b.WriteString("Slots busy is the Atlas calls' summed durations over slots x seconds: what the slots spent waiting for Atlas.\n\n")
		b.WriteString("| what | n | seconds | per second | Atlas calls per item | limit /s | fraction of limit | peak Atlas calls in flight | slots busy |\n|---|---|---|---|---|---|---|---|---|\n")
		if p.Requests.N > 0 {
			fmt.Fprintf(&b, "| CertificateRequests, the issuer alone (P2) | %d | %.2f | %.1f | %.3f | %.1f | %s | %d | %s |\n", p.Requests.N, p.Requests.Seconds, p.Requests.PerSecond, p.Requests.SigningCallsPerReady, p.RequestsLimit, opt(r.P2IssuerFractionOfLatencyLimit), p.Requests.PeakInFlight, slotsBusy(p.Requests, p.MaxConcurrentRequests))
		}
		if p.Certificates.N > 0 {
			fmt.Fprintf(&b, "| Certificates, the whole pipeline | %d | %.2f | %.1f | %.3f | %.1f | %.3f | %d | %s |\n", p.Certificates.N, p.Certificates.Seconds, p.Certificates.PerSecond, p.Certificates.SigningCallsPerReady, p.CertificatesLimit, p.CertificatesFractionOfLimit, p.Certificates.PeakInFlight, slotsBusy(p.Certificates, p.MaxConcurrentRequests))
		}
		for _, c := range p.CACertificates {
			fmt.Fprintf(&b, "| Certificates through the CA issuer, 0 ms (%s) | %d | %.2f | %.1f | | | | | |\n", c.Namespace, c.N, c.Seconds, c.PerSecond)
		}
		if u := p.Requests.SlotUse; u != nil {
			fmt.Fprintf(&b, "\nP2 issuer alone, how the slots filled (the fake's log of calls): %s.\n", slotUseText(*u, p.MaxConcurrentRequests))
		}
		if p.CAPerSecond > 0 {
			fmt.Fprintf(&b, "\nP2 pipeline: ours at %d ms %.1f/s against the CA issuer's %.1f/s at 0 ms, before and after: %s.\n", p.LatencyMS, p.Certificates.PerSecond, p.CAPerSecond, opt(r.P2PipelineRatioVsCAIssuer))
		}
	}
	if p := r.P4; p != nil {
		fmt.Fprintf(&b, "\n## Memory (P4): %d CertificateRequests signed at once (%d in the cluster), %d unrelated Secrets of %d bytes (%d Secrets in the cluster)\n\n",
			p.Requests, p.RequestsInCluster, p.UnrelatedSecrets, p.SecretBytes, p.SecretsInCluster)
		b.WriteString("| phase | peak RSS (VmHWM) MiB | RSS at end MiB |\n|---|---|---|\n")
		fmt.Fprintf(&b, "| creating and signing (%.0f s) | %.1f | %.1f |\n", p.SignSeconds, p.SignPeakMiB, p.SignEndMiB)
		fmt.Fprintf(&b, "| restart with everything present | %.1f | %.1f |\n", p.RestartPeakMiB, p.RestartSettledMiB)
		fmt.Fprintf(&b, "\nAfter that restart a new issuer was Ready %.2f s after the manager started.\n", p.RestartReadySeconds)
	}
	if p := r.P8; p != nil && len(p.Points) > 0 {
		b.WriteString("\n### P8: the manager restarted with N settled requests in the cluster\n\n")
		b.WriteString("| requests | RSS MiB | peak RSS since start MiB | live heap MiB | issuer Ready s |\n|---|---|---|---|---|\n")
		for _, pt := range p.Points {
			fmt.Fprintf(&b, "| %d | %.1f | %.1f | %.1f | %.2f |\n", pt.Requests, pt.RSSMiB, pt.PeakRSSMiB, pt.LiveHeapMiB, pt.ReadySeconds)
		}
		fmt.Fprintf(&b, "\nLeast-squares slopes: RSS %.2f MiB and live heap %.2f MiB per 1,000 requests.", p.RSSMiBPer1k, p.LiveHeapMiBPer1k)
		for _, bt := range p.Batches {
			fmt.Fprintf(&b, " A further batch of %d took %.0f s with a peak RSS of %.1f MiB.", bt.Requests, bt.Seconds, bt.PeakRSSMiB)
		}
		b.WriteString("\n")
	}
	if p := r.P5; p != nil {
		fmt.Fprintf(&b, "\n## Start (P5): manager start to issuer Ready\n\nEvery sample %v s: slowest %.2f s (the headline), median %.2f s (%d CertificateRequests in the cluster).\n", p.Seconds, p.Max, p.Median, p.CRsInCluster)
	}
	if len(r.Concurrency) > 0 {
		b.WriteString("\n## Throughput against --max-concurrent-requests, fake at 250 ms per call\n\n![throughput](throughput.png)\n\n")
		b.WriteString("| concurrency | kind | n | seconds | per second | limit | fraction |\n|---|---|---|---|---|---|---|\n")
		for _, c := range r.Concurrency {
			fmt.Fprintf(&b, "| %d | %s | %d | %.2f | %.1f | %.1f | %.2f |\n", c.Concurrency, c.Kind, c.N, c.Seconds, c.PerSecond, c.LimitPerSecond, c.PerSecond/c.LimitPerSecond)
		}
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n## Findings\n\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	if len(r.Errors) > 0 {
		b.WriteString("\n## Errors\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- %s\n", e)
		}
	}
	return b.String()
}

// allRuns are the measured runs of the side-by-side and latency phases.
func (r *Report) allRuns() []Burst {
	var out []Burst
	if r.P1 != nil {
		out = append(out, r.P1.Runs...)
	}
	if p := r.P2; p != nil {
		for _, run := range append(append([]Burst{}, p.CACertificates...), p.Certificates, p.Requests) {
			if run.N > 0 {
				out = append(out, run)
			}
		}
	}
	return out
}

func opt(v *float64) string {
	if v == nil {
		return "not measured"
	}
	return trimFloat(*v)
}

func code(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = "`" + s + "`"
	}
	return strings.Join(out, " ")
}

func unionKeys(a, b map[string]float64) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]float64{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// slotUseText says how a run's calls filled its slots: how long the start
// took and how busy the slots were once they had all been in use.
func slotUseText(u SlotUse, slots int) string {
	t := fmt.Sprintf("first Atlas call %.2f s after the first create", u.FirstCallSeconds)
	if u.FullSeconds == nil {
		return t + fmt.Sprintf("; the %d slots were never all in calls at once", slots)
	}
	t += fmt.Sprintf(", all %d slots in calls from %.2f s", slots, *u.FullSeconds)
	if u.BusyAfterFull != nil {
		t += fmt.Sprintf("; from then until the last call started, slots busy %.3f", *u.BusyAfterFull)
	}
	return t
}

// slotsBusy is the share of a run's Atlas slots spent in Atlas calls.
func slotsBusy(run Burst, slots int) string {
	if slots <= 0 || run.Seconds <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.3f", run.AtlasBusySeconds/(float64(slots)*run.Seconds))
}
