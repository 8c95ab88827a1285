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
	"strings"
	"time"
)

// Report is bin/bench/report.json: the five headline figures under fixed
// keys, the goals, and the raw measurements they come from.
type Report struct {
	P1RatioVsCAIssuer        float64 `json:"p1_ratio_vs_ca_issuer"`
	P2FractionOfLatencyLimit float64 `json:"p2_fraction_of_latency_limit"`
	P3AtlasCallsPerCert      float64 `json:"p3_atlas_calls_per_cert"`
	P4RSSMiB                 float64 `json:"p4_rss_mib"`
	P5IssuerReadySeconds     float64 `json:"p5_issuer_ready_seconds"`

	Goals   []Goal    `json:"goals"`
	Quick   bool      `json:"quick"`
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	Machine Machine   `json:"machine"`
	// ManagerEnv is set only by investigations (BENCH_MANAGER_ENV).
	ManagerEnv []string `json:"manager_env,omitempty"`

	P1          *P1Raw             `json:"p1,omitempty"`
	P2          *P2Raw             `json:"p2,omitempty"`
	P3          *P3Raw             `json:"p3,omitempty"`
	P4          *P4Raw             `json:"p4,omitempty"`
	P5          *P5Raw             `json:"p5,omitempty"`
	Concurrency []ConcurrencyPoint `json:"concurrency,omitempty"`
	Errors      []string           `json:"errors,omitempty"`
	// Findings are things the run noticed that are not figures, such as a
	// manager that had to be killed on shutdown.
	Findings []string `json:"findings,omitempty"`
}

// Machine is what the numbers were measured on.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	LoadAvg   string `json:"load_average_at_start"`
}

// Goal is one target of the issue and whether this run met it.
type Goal struct {
	Key    string  `json:"key"`
	Name   string  `json:"name"`
	Op     string  `json:"op"` // "<=" or ">="
	Target float64 `json:"target"`
	Value  float64 `json:"value"`
	Met    bool    `json:"met"`
	// Measured is false when the phase did not run or failed.
	Measured bool `json:"measured"`
}

// Burst is one timed burst: N objects created at once, seconds from the
// first create to the last Ready.
type Burst struct {
	Path      string  `json:"path"` // "ca-issuer" or "atlas-issuer"
	Namespace string  `json:"namespace"`
	N         int     `json:"n"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// AtlasCalls and Issued are the fake's counters over the run (Atlas
	// runs only), reset before the issuer was created.
	AtlasCalls map[string]int `json:"atlas_calls,omitempty"`
	TotalCalls int            `json:"atlas_calls_total,omitempty"`
	Issued     int            `json:"issued,omitempty"`
	// PeakInFlight is the most Atlas calls the fake served at once: at
	// most --max-concurrent-requests, and equal to it when the issuer
	// keeps every slot busy.
	PeakInFlight int `json:"atlas_peak_in_flight,omitempty"`
	// Requests is how many CertificateRequests cert-manager created for
	// the run's N Certificates: more than N when it created twins.
	Requests int `json:"certificate_requests,omitempty"`
	// LoadBefore and LoadAfter are the one-minute load averages around the
	// run.
	LoadBefore float64 `json:"load_before"`
	LoadAfter  float64 `json:"load_after"`
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

// P2Raw holds the same at 250 ms per Atlas call and 16 concurrent requests.
type P2Raw struct {
	LatencyMS             int     `json:"latency_ms"`
	MaxConcurrentRequests int     `json:"max_concurrent_requests"`
	LimitPerSecond        float64 `json:"latency_limit_certs_per_second"`
	Certificates          Burst   `json:"certificates"`
	// Requests is the issuer alone: CertificateRequests with ready CSRs,
	// without cert-manager's key generation and Secret writes.
	Requests                 Burst   `json:"certificate_requests"`
	RequestsFractionOfLimit  float64 `json:"certificate_requests_fraction_of_limit"`
	CertificatesCAPerSecond  float64 `json:"ca_issuer_certs_per_second_from_p1"`
	PipelineFractionOfLimit  float64 `json:"ca_issuer_pipeline_fraction_of_limit"`
	CertificatesFractionNote string  `json:"note,omitempty"`
}

// P3Raw holds the Atlas calls per issued certificate.
type P3Raw struct {
	Source string  `json:"source"`
	Runs   []P3Run `json:"runs"`
	// At250ms is the same count over the P2 run.
	At250msCallsPerCert float64 `json:"calls_per_cert_at_250ms"`
}

// P3Run is the fake's counters over one run.
type P3Run struct {
	Namespace    string         `json:"namespace"`
	Calls        map[string]int `json:"calls"`
	TotalCalls   int            `json:"total_calls"`
	Issued       int            `json:"issued"`
	Requests     int            `json:"certificate_requests"`
	CallsPerCert float64        `json:"calls_per_cert"`
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

// P5Raw holds the seconds from manager start to issuer Ready.
type P5Raw struct {
	Seconds []float64 `json:"seconds"`
	Median  float64   `json:"median"`
	// CRsInCluster is how many CertificateRequests the manager's cache had
	// to list at start.
	CRsInCluster int `json:"certificate_requests_in_cluster"`
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

func (r *Report) setGoals(measured map[string]bool) {
	r.Goals = []Goal{
		{Key: "p1_ratio_vs_ca_issuer", Name: "P1 time(ours) / time(CA issuer)", Op: "<=", Target: 1.15, Value: r.P1RatioVsCAIssuer},
		{Key: "p2_fraction_of_latency_limit", Name: "P2 throughput / latency limit", Op: ">=", Target: 0.85, Value: r.P2FractionOfLatencyLimit},
		{Key: "p3_atlas_calls_per_cert", Name: "P3 Atlas calls per certificate", Op: "<=", Target: 2.02, Value: r.P3AtlasCallsPerCert},
		{Key: "p4_rss_mib", Name: "P4 manager peak RSS (MiB)", Op: "<=", Target: 80, Value: r.P4RSSMiB},
		{Key: "p5_issuer_ready_seconds", Name: "P5 manager start to issuer Ready (s)", Op: "<=", Target: 2, Value: r.P5IssuerReadySeconds},
	}
	for i := range r.Goals {
		g := &r.Goals[i]
		g.Measured = measured[g.Key]
		if !g.Measured {
			continue
		}
		if g.Op == "<=" {
			g.Met = g.Value <= g.Target
		} else {
			g.Met = g.Value >= g.Target
		}
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
	b.WriteString("| | measure | goal | result | met |\n|---|---|---|---|---|\n")
	for _, g := range r.Goals {
		val, met := "not measured", "—"
		if g.Measured {
			val = trimFloat(g.Value)
			met = "yes"
			if !g.Met {
				met = "**no**"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s %s | %s | %s |\n", strings.ToUpper(g.Key[:2]), g.Name[3:], g.Op, trimFloat(g.Target), val, met)
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
	fmt.Fprintf(&b, "# atlas-issuer benchmark report\n\nRun: %s, %s mode, %.0f s, %d CPUs, %s, load average at start %s.\n\n",
		r.Started.UTC().Format(time.RFC3339), mode, r.Seconds, r.Machine.CPUs, r.Machine.GoVersion, r.Machine.LoadAvg)
	if len(r.ManagerEnv) > 0 {
		fmt.Fprintf(&b, "**The manager ran with extra environment %q: not a product default.**\n\n", r.ManagerEnv)
	}
	b.WriteString(r.Table())
	if p := r.P1; p != nil {
		fmt.Fprintf(&b, "\n## P1: %d Certificates to Ready, CA issuer vs AtlasIssuer (fake at 0 ms)\n\n", p.N)
		b.WriteString("| order | path | namespace | seconds | certificates/s | requests | load avg before/after |\n|---|---|---|---|---|---|---|\n")
		for i, run := range p.Runs {
			fmt.Fprintf(&b, "| %d | %s | %s | %.2f | %.1f | %d | %.1f / %.1f |\n", i+1, run.Path, run.Namespace, run.Seconds, run.PerSecond, run.Requests, run.LoadBefore, run.LoadAfter)
		}
		fmt.Fprintf(&b, "\nRatios per round (ours / CA): %v; median %.3f (the headline). Totals: CA issuer %.2f s, AtlasIssuer %.2f s, ratio %.3f.\n",
			p.RoundRatios, r.P1RatioVsCAIssuer, p.CASeconds, p.AtlasSeconds, p.TotalRatio)
	}
	if p := r.P2; p != nil {
		fmt.Fprintf(&b, "\n## P2: fake at %d ms per call, --max-concurrent-requests=%d (limit %.0f/s)\n\n", p.LatencyMS, p.MaxConcurrentRequests, p.LimitPerSecond)
		b.WriteString("| what | n | seconds | per second | fraction of limit | peak Atlas calls in flight |\n|---|---|---|---|---|---|\n")
		fmt.Fprintf(&b, "| Certificates (headline) | %d | %.2f | %.1f | %.3f | %d |\n", p.Certificates.N, p.Certificates.Seconds, p.Certificates.PerSecond, r.P2FractionOfLatencyLimit, p.Certificates.PeakInFlight)
		if p.Requests.N > 0 {
			fmt.Fprintf(&b, "| CertificateRequests (issuer alone) | %d | %.2f | %.1f | %.3f | %d |\n", p.Requests.N, p.Requests.Seconds, p.Requests.PerSecond, p.RequestsFractionOfLimit, p.Requests.PeakInFlight)
		}
		if p.CertificatesCAPerSecond > 0 {
			fmt.Fprintf(&b, "| CA issuer pipeline from P1 (0 ms) | | | %.1f | %.3f | |\n", p.CertificatesCAPerSecond, p.PipelineFractionOfLimit)
		}
		if p.CertificatesFractionNote != "" {
			fmt.Fprintf(&b, "\n%s\n", p.CertificatesFractionNote)
		}
	}
	if p := r.P3; p != nil {
		fmt.Fprintf(&b, "\n## P3: Atlas calls per issued certificate\n\n%s.\n\n", p.Source)
		b.WriteString("| namespace | calls | issued | CertificateRequests | calls per certificate |\n|---|---|---|---|---|\n")
		for _, run := range p.Runs {
			var parts []string
			for _, op := range sortedKeys(run.Calls) {
				parts = append(parts, fmt.Sprintf("%s %d", op, run.Calls[op]))
			}
			fmt.Fprintf(&b, "| %s | %d (%s) | %d | %d | %.3f |\n", run.Namespace, run.TotalCalls, strings.Join(parts, ", "), run.Issued, run.Requests, run.CallsPerCert)
		}
		fmt.Fprintf(&b, "\nOver the P2 run at 250 ms: %.3f calls per certificate.\n", p.At250msCallsPerCert)
	}
	if p := r.P4; p != nil {
		fmt.Fprintf(&b, "\n## P4: manager memory\n\n%d CertificateRequests signed (%d in the cluster), %d unrelated Secrets of %d bytes (%d Secrets in the cluster).\n\n",
			p.Requests, p.RequestsInCluster, p.UnrelatedSecrets, p.SecretBytes, p.SecretsInCluster)
		b.WriteString("| phase | peak RSS (VmHWM) MiB | RSS at end MiB |\n|---|---|---|\n")
		fmt.Fprintf(&b, "| creating and signing (%.0f s) | %.1f | %.1f |\n", p.SignSeconds, p.SignPeakMiB, p.SignEndMiB)
		fmt.Fprintf(&b, "| restart with everything present | %.1f | %.1f |\n", p.RestartPeakMiB, p.RestartSettledMiB)
		fmt.Fprintf(&b, "\nAfter that restart a new issuer was Ready %.2f s after the manager started.\n", p.RestartReadySeconds)
	}
	if p := r.P5; p != nil {
		fmt.Fprintf(&b, "\n## P5: manager start to issuer Ready\n\nMedian %.2f s of %v (%d CertificateRequests in the cluster).\n", p.Median, p.Seconds, p.CRsInCluster)
	}
	if len(r.Concurrency) > 0 {
		b.WriteString("\n## Throughput against --max-concurrent-requests, fake at 250 ms per call\n\n![throughput](throughput.png)\n\n")
		b.WriteString("| concurrency | kind | n | seconds | per second | limit | fraction |\n|---|---|---|---|---|---|---|\n")
		for _, c := range r.Concurrency {
			fmt.Fprintf(&b, "| %d | %s | %d | %.2f | %.1f | %.0f | %.2f |\n", c.Concurrency, c.Kind, c.N, c.Seconds, c.PerSecond, c.LimitPerSecond, c.PerSecond/c.LimitPerSecond)
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
