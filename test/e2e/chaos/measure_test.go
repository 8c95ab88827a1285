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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"maps"
	"math"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

func secs(s ...float64) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v * float64(time.Second))
	}
	return out
}

func TestPercentile(t *testing.T) {
	twenty := make([]float64, 20)
	for i := range twenty {
		twenty[i] = float64(20 - i) // unsorted on purpose
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 95, 0},
		{secs(3), 95, 3 * time.Second},
		{secs(twenty...), 95, 19 * time.Second},
		{secs(twenty...), 50, 10 * time.Second},
		{secs(twenty...), 100, 20 * time.Second},
		{secs(1, 2, 3, 4), 95, 4 * time.Second},
	} {
		if got := percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
}

func TestIsolationRatio(t *testing.T) {
	if got := isolationRatio(secs(1, 1, 2), secs(2, 3, 4)); got != 2 {
		t.Errorf("ratio = %v, want 2", got)
	}
	if got := isolationRatio(secs(2), secs(1)); got != 0.5 {
		t.Errorf("ratio = %v, want 0.5", got)
	}
	for _, tc := range [][2][]time.Duration{{nil, secs(1)}, {secs(1), nil}} {
		if got := isolationRatio(tc[0], tc[1]); !math.IsInf(got, 1) {
			t.Errorf("ratio with a phase unmeasured = %v, want +Inf", got)
		}
	}
}

// issue makes a CSR for csrNames (the first is the common name) with
// csrKey, and a self-signed certificate with certKey for certNames and
// certCN.
func issue(t *testing.T, csrKey, certKey *ecdsa.PrivateKey, csrNames, certNames []string, certCN string) (csrPEM, certPEM []byte) {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: csrNames[0]}, DNSNames: csrNames}, csrKey)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: certCN}, DNSNames: certNames,
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1e9, 0)}
	crt, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, certKey.Public(), certKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: crt})
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMisissued(t *testing.T) {
	mine, other := ecKey(t), ecKey(t)
	names := []string{"a.example", "b.example"}
	for _, tc := range []struct {
		name      string
		certKey   *ecdsa.PrivateKey
		certNames []string
		certCN    string
		want      string
	}{
		{"the requested certificate", mine, []string{"b.example", "a.example"}, "a.example", ""},
		{"another key", other, names, "a.example", "another public key"},
		{"other names", mine, []string{"a.example", "victim.example"}, "a.example", "DNS names"},
		{"another common name", mine, names, "victim.example", "common name"},
		{"another tenant's certificate", other, []string{"victim.example"}, "victim.example", "another public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			csr, crt := issue(t, mine, tc.certKey, names, tc.certNames, tc.certCN)
			got, err := misissued(csr, crt)
			if err != nil {
				t.Fatal(err)
			}
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("misissued = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := misissued([]byte("junk"), nil); err == nil {
		t.Error("a request without a CSR was judged")
	}
}

func TestWithPublicKey(t *testing.T) {
	victim, own := ecKey(t), ecKey(t)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"x.example"}}, own)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := withPublicKey(der, &victim.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(forged)
	if err != nil {
		t.Fatal(err)
	}
	if !csr.PublicKey.(*ecdsa.PublicKey).Equal(&victim.PublicKey) || !slices.Equal(csr.DNSNames, []string{"x.example"}) {
		t.Error("the forged CSR does not carry the victim's key and the asked names")
	}
	if csr.CheckSignature() == nil {
		t.Error("the forged CSR's signature verifies: it would not be a forgery")
	}
}

func TestExtraCalls(t *testing.T) {
	// Two of each forgery kind unforged: the victim-key CSRs fail their
	// signature check with no call, the others are issued (POST and GET).
	baseline := map[string]int{fake.OpRequestCertificate: 6, fake.OpRetrieveCertificate: 6, fake.OpLogin: 1, fake.OpValidationPolicy: 2}
	for _, tc := range []struct {
		name   string
		forged map[string]int
		want   int
	}{
		{"as the same requests unforged", map[string]int{fake.OpRequestCertificate: 6, fake.OpRetrieveCertificate: 6}, 0},
		{"fewer: forged serials are refused after one GET", map[string]int{fake.OpRequestCertificate: 4, fake.OpRetrieveCertificate: 6}, 0},
		{"no calls at all", nil, 0},
		{"stats pages of a 1970 intent", map[string]int{fake.OpRequestCertificate: 6, fake.OpRetrieveCertificate: 6, fake.OpStatsIssued: 60}, 60},
		{"issuer checks are not counted", map[string]int{fake.OpLogin: 50, fake.OpValidationPolicy: 50, fake.OpTrustChain: 50}, 0},
		{"polling forever", map[string]int{fake.OpRetrieveCertificate: 45, fake.OpRequestCertificate: 6}, 39},
	} {
		if got := extraCalls(tc.forged, baseline); got != tc.want {
			t.Errorf("%s: extraCalls = %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := extraCalls(map[string]int{fake.OpStatsIssued: 7}, nil); got != 7 {
		t.Errorf("against a baseline of no calls: %d, want every call", got)
	}
}

func TestMisissueControls(t *testing.T) {
	mine, other := ecKey(t), ecKey(t)
	csr, victim := issue(t, mine, other, []string{"a.example"}, []string{"victim.example"}, "victim.example")
	got, err := misissueControls(csr, victim)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !allTrue(got) {
		t.Errorf("controls = %v, want both flagged", got)
	}
	// The certificate made for the same names passes every name check, so
	// only the key tells it apart.
	same, err := sameNamesOtherKey(csr)
	if err != nil {
		t.Fatal(err)
	}
	if diff, err := misissued(csr, same); err != nil || diff != "another public key" {
		t.Errorf("same names, another key: %q, %v", diff, err)
	}
	// A control against a certificate that is the request's own is not
	// flagged, so a comparator that flags everything would show here.
	_, own := issue(t, mine, mine, []string{"a.example"}, []string{"a.example"}, "a.example")
	if got, err := misissueControls(csr, own); err != nil || got["another_requests_certificate"] {
		t.Errorf("the request's own certificate flagged: %v, %v", got, err)
	}
}

func TestUnobservedFaults(t *testing.T) {
	got := unobserved(matrixFaults, map[string]int{"503": 10, "500": 12, "429": 3, "drop": 1, "latency_spike": 2})
	if !slices.Equal(got, []string{fake.FaultLostResponse}) {
		t.Errorf("unobserved = %v, want [lost_response]", got)
	}
	if got := unobserved(hostileFaults, nil); len(got) != 4 {
		t.Errorf("hostile kinds with nothing observed = %v, want latency, 429, oversize, huge_chain", got)
	}
	if got := unobserved(fake.Faults{}, nil); len(got) != 0 {
		t.Errorf("no faults asked, unobserved = %v", got)
	}
}

func TestChartMemoryLimit(t *testing.T) {
	for in, want := range map[string]float64{
		"resources:\n  limits:\n    memory: 128Mi\n":         128,
		"resources:\n  limits:\n    memory: 1Gi\n    cpu: 1": 1024,
		"resources:\n  limits:\n    memory: 134217728\n":     128,
	} {
		if got, err := chartMemoryLimitMiB([]byte(in)); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"resources: {}", "resources:\n  limits:\n    memory: lots\n"} {
		if _, err := chartMemoryLimitMiB([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestChartMemoryLimitOfTheChart(t *testing.T) {
	root, err := framework.RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	b, err := os.ReadFile(chartValues(root))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := chartMemoryLimitMiB(b); err != nil || got <= 0 {
		t.Errorf("the chart's memory limit: %v, %v", got, err)
	}
}

func TestSplitControl(t *testing.T) {
	leaks := []framework.Leak{
		{Kind: "token", Where: controlLog + ":51"},
		{Kind: "api-secret", Where: controlLog + ":52 (hex dump)"},
		{Kind: "token", Where: "manager-1.log:10"},
		{Kind: "token", Where: "event x/y on Certificate c"},
		{Kind: "token", Where: "event " + nsLeakControl + "/leak-control on AtlasIssuer leak-control"},
		{Kind: "api-secret", Where: "AtlasIssuer " + nsLeakControl + "/leak-control status"},
		{Kind: "api-secret", Where: "AtlasIssuer other/leak-control status"},
	}
	outside, found := splitControl(leaks, controlLog, nsLeakControl)
	if len(outside) != 3 || outside[0].Where != "manager-1.log:10" {
		t.Errorf("real leaks = %v", outside)
	}
	want := map[string]int{"log/token": 1, "log/api-secret": 1, "event/token": 1, "status/api-secret": 1}
	if !maps.Equal(found, want) {
		t.Errorf("found = %v, want %v", found, want)
	}
	if !allFound(want, found) {
		t.Error("every planted kind was found")
	}
	if allFound(map[string]int{"log/token": 1, "event/mtls-key": 1}, found) || allFound(nil, found) {
		t.Error("a planted kind the scan missed, or nothing planted, passed")
	}
}

// goodReport is a report whose every figure meets its goal.
func goodReport() *Report {
	lookup := map[string]*LookupPhase{}
	for _, name := range []string{lookupErrors, lookupEmpty, lookupBound} {
		lookup[name] = &LookupPhase{Total: 8, Ready: 8, KilledMidPost: 8, StatsFaults: 20, Undecided: 8, Kills: 1}
	}
	lookup[lookupEmpty].UndecidedAtEnd = 8
	b := lookup[lookupBound]
	b.Resubmitted, b.Duplicates, b.Events = 8, 8, 8
	for range 8 {
		b.Timing = append(b.Timing, ResubmitTiming{OK: true})
	}
	cp := map[string]*ControlPlaneCase{}
	for _, name := range cpNames {
		cp[name] = &ControlPlaneCase{Total: 30, Ready: 30, ReadyAtDisruption: 3}
	}
	cp[cpAPIServerOutage].ManagerExits = []string{"manager-01: exit status 1:\natlas-issuer: leader election lost"}
	cp[cpTokenRevoked].Issuers, cp[cpTokenRevoked].LoginsAfter = 2, 2
	for _, name := range []string{cpSkewAhead, cpSkewBehind} {
		cp[name].ManagerKills, cp[name].KilledMidPost = 1, 3
	}
	cp[cpSlowAPIServer].ProxyRequests, cp[cpSlowAPIServer].ProxyConns = 500, 1
	return &Report{
		FaultMatrixReady: 5, FaultMatrixTotal: 5, CrashReady: 3, CrashTotal: 3, Kills: 2,
		BadInputCases: 1, BadInputOK: 1, LeakScanCanaryFound: true,
		FaultsObserved:       map[string]int{"503": 1},
		TenantIsolationRatio: 1.2, HostilePeakRSSMiB: 60,
		DuplicatesByBound: 8, OrphanControlFound: true, DuplicateControlCounted: true,
		LookupFailure: lookup, ControlPlane: cp,
		Details: Details{
			FaultMatrix: &FaultMatrixDetail{Faults: fake.Faults{ErrorRate: 0.5}},
			Tenants: &TenantsDetail{MemoryLimitMiB: 128, ForgedRequests: 8, BaselineRequests: 8, BaselineEnded: 8, MisissueControl: true,
				HostileFaults: fake.Faults{RateLimitRate: 1}, HostileFaultsObserved: map[string]int{"429": 2},
				SeededCertificates: 100, HostileCerts: 32},
			Orphans: &OrphanDetail{Planted: 5, PlantedFound: 5,
				ByDesign: map[string]int{orphanPlanted: 5, orphanSeeded: 100, orphanHostile: 40, orphanResubmitted: 8}},
		},
	}
}

func TestJudge(t *testing.T) {
	r := goodReport()
	r.Judge(2)
	if len(r.Goals) != 0 {
		t.Fatalf("a passing run missed %v", r.Goals)
	}
	for _, k := range []string{"tenant_isolation_ratio", "hostile_peak_rss_mib", "forged_misissued", "forged_atlas_calls",
		"leak_scan_canary_found", "faults_observed", "kills", "secret_leaks", "orphaned_certificates", "orphan_control_found",
		"orphans_seeded_history", "orphans_hostile_tenant", "orphans_resubmitted_by_bound", "duplicates_resubmitted_by_bound",
		"lookup_failure." + lookupEmpty + ".waited", "lookup_failure." + lookupBound + ".resubmitted",
		"control_plane." + cpAPIServerOutage + ".manager", "control_plane." + cpTokenRevoked + ".logins",
		"control_plane." + cpSlowAPIServer + ".proxied", "control_plane." + cpSkewAhead + ".killed_mid_post"} {
		if c, ok := r.Checks[k]; !ok || !c.Pass || c.Goal == "" {
			t.Errorf("check %s = %+v", k, c)
		}
	}
	for name, spoil := range map[string]func(*Report){
		"tenant_isolation_ratio":  func(r *Report) { r.TenantIsolationRatio = 1.6 },
		"hostile_peak_rss_mib":    func(r *Report) { r.HostilePeakRSSMiB = 130 },
		"forged_misissued":        func(r *Report) { r.ForgedMisissued = 1 },
		"forged_atlas_calls":      func(r *Report) { r.ForgedAtlasCalls = 1 },
		"leak_scan_canary_found":  func(r *Report) { r.LeakScanCanaryFound = false },
		"faults_observed":         func(r *Report) { r.FaultsObserved = map[string]int{"500": 3} },
		"kills":                   func(r *Report) { r.Kills = 1 },
		"hostile_faults_observed": func(r *Report) { r.Details.Tenants.HostileFaultsObserved = nil },
		"orphaned_certificates": func(r *Report) {
			r.OrphanedCertificates = 1
			r.Details.Orphans.Orphaned = []OrphanCase{{Fake: "fake-atlas", Serial: "01AB"}}
		},
		"orphans_seeded_history":                         func(r *Report) { r.Details.Orphans.ByDesign[orphanSeeded] = 101 },
		"orphans_hostile_tenant":                         func(r *Report) { r.Details.Orphans.ByDesign[orphanHostile] = 49 },
		"orphans_resubmitted_by_bound":                   func(r *Report) { r.Details.Orphans.ByDesign[orphanResubmitted] = 9 },
		"duplicates_resubmitted_by_bound":                func(r *Report) { r.DuplicatesByBound = 7 },
		"duplicates":                                     func(r *Report) { r.Duplicates = 1 },
		"duplicate_control_counted":                      func(r *Report) { r.DuplicateControlCounted = false },
		"lookup_failure." + lookupErrors:                 func(r *Report) { r.LookupFailure[lookupErrors].Failed = 1 },
		"lookup_failure." + lookupErrors + ".duplicates": func(r *Report) { r.LookupFailure[lookupErrors].Duplicates = 1 },
		"lookup_failure." + lookupEmpty + ".waited":      func(r *Report) { r.LookupFailure[lookupEmpty].SecondPosts = 1 },
		"lookup_failure." + lookupBound + ".resubmitted": func(r *Report) { r.LookupFailure[lookupBound].Timing[3].OK = false },
		"control_plane." + cpEtcdRestart:                 func(r *Report) { r.ControlPlane[cpEtcdRestart].Lost = 1 },
		"control_plane." + cpAPIServerOutage + ".manager": func(r *Report) {
			r.ControlPlane[cpAPIServerOutage].ManagerExits = append(r.ControlPlane[cpAPIServerOutage].ManagerExits, "manager-02: panic")
		},
		"control_plane." + cpTokenRevoked + ".logins":        func(r *Report) { r.ControlPlane[cpTokenRevoked].LoginsAfter = 16 },
		"control_plane." + cpSlowAPIServer + ".proxied":      func(r *Report) { r.ControlPlane[cpSlowAPIServer].APIServerConns = 1 },
		"control_plane." + cpSkewBehind + ".killed_mid_post": func(r *Report) { r.ControlPlane[cpSkewBehind].KilledMidPost = 0 },
	} {
		r := goodReport()
		spoil(r)
		r.Judge(2)
		if r.Checks[name].Pass || len(r.Goals) != 1 {
			t.Errorf("%s spoilt: check %+v, goals missed %v", name, r.Checks[name], r.Goals)
		}
	}
	r = goodReport()
	r.Details.Tenants.MisissueControl = false
	r.Judge(2)
	if r.Checks["forged_misissued"].Pass {
		t.Error("forged_misissued passed although its check could not see a misissuance")
	}
	r = goodReport()
	r.OrphanControlFound = false
	r.Judge(2)
	if r.Checks["orphaned_certificates"].Pass {
		t.Error("orphaned_certificates passed although the count missed its planted control")
	}
	r = goodReport()
	r.Details.Tenants = nil
	r.Judge(2)
	if len(r.Goals) != 1 {
		t.Errorf("a run without the tenant phase: goals missed %v", r.Goals)
	}
}
