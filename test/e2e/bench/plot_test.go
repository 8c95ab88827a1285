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
	"image/color"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func samplePoints() []ConcurrencyPoint {
	var pts []ConcurrencyPoint
	for _, c := range []int{1, 4, 16, 64} {
		limit := float64(c) / 0.5
		pts = append(pts,
			ConcurrencyPoint{Concurrency: c, Kind: "CertificateRequests", N: 10, PerSecond: limit * 0.93, LimitPerSecond: limit},
			ConcurrencyPoint{Concurrency: c, Kind: "Certificates", N: 10, PerSecond: min(limit*0.9, 20), LimitPerSecond: limit},
		)
	}
	return pts
}

// The plot is checked for shape, not pixels: it renders, has the size the
// docs assume, and draws every series' colour.
func TestRenderPlot(t *testing.T) {
	img, err := renderPlot(samplePoints(), 250*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != plotW || b.Dy() != plotH {
		t.Fatalf("size %v", b)
	}
	for name, col := range map[string]color.RGBA{"limit": colLimit, "requests": colCRs, "certificates": colCerts} {
		found := false
		for i := 0; i+3 < len(img.Pix) && !found; i += 4 {
			found = img.Pix[i] == col.R && img.Pix[i+1] == col.G && img.Pix[i+2] == col.B
		}
		if !found {
			t.Errorf("no %s series drawn", name)
		}
	}
	if err := writePlot(filepath.Join(t.TempDir(), "p.png"), samplePoints(), 250*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := renderPlot(nil, time.Second); err == nil {
		t.Error("empty plot rendered")
	}
}

func TestWrap(t *testing.T) {
	got := wrap("Certificates (the whole cert-manager pipeline)", 22)
	for _, l := range got {
		if len(l) > 22 {
			t.Errorf("line %q longer than 22", l)
		}
	}
	if len(got) != 3 {
		t.Errorf("wrap = %q", got)
	}
}

func TestGoalsAndTable(t *testing.T) {
	r := &Report{
		P1RatioVsCAIssuer: new(1.2), P2IssuerFractionOfLatencyLimit: new(0.9), P3AtlasCallsPerReadyCert: new(2.02),
		P4RSSMiB: new(60.0), Duplicates: new(1), P7ManagerCPUMsPerCert: new(4.5),
	}
	r.setGoals()
	met, measured := map[string]bool{}, map[string]bool{}
	for _, g := range r.Goals {
		met[g.Key], measured[g.Key] = g.Met, g.Measured
	}
	want := map[string]bool{
		"p1_ratio_vs_ca_issuer": false, "p2_issuer_fraction_of_latency_limit": true, "p3_atlas_calls_per_ready_cert": true,
		"p4_rss_mib": true, "duplicates": false, "p7_manager_cpu_ms_per_cert": false, "p5_issuer_ready_seconds_max": false,
	}
	for k, v := range want {
		if met[k] != v {
			t.Errorf("%s met = %v, want %v", k, met[k], v)
		}
	}
	if measured["p5_issuer_ready_seconds_max"] || measured["p8_rss_mib_at_20k_requests"] || !measured["duplicates"] {
		t.Errorf("measured = %v", measured)
	}
	if len(r.Goals) != len(goalSpecs) {
		t.Errorf("%d goals, want %d", len(r.Goals), len(goalSpecs))
	}
	md := r.Markdown()
	if !strings.Contains(md, "| `duplicates` | P3 duplicate issuances | <= 0 | 1 | **no** |") {
		t.Errorf("markdown goals table:\n%s", md)
	}
}
