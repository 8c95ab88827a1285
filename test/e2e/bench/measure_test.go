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
	"math"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// comm may hold spaces and parentheses; fields count from the last ')'.
	line := "4242 (cm-con (x) 1) S 77 4242 4242 0 -1 4194560 100 0 0 0 250 130 0 0 20 0 12 0 100 0 0\n"
	st, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "cm-con (x) 1" || st.ppid != 77 || math.Abs(st.cpu-3.8) > 1e-9 {
		t.Errorf("parseStat = %+v, want comm %q, ppid 77, 3.8 s", st, "cm-con (x) 1")
	}
	for _, bad := range []string{"", "1 (x S 1", "1 (x) S 1 2 3", "1 (x) S a 1 1 0 -1 0 0 0 0 0 x y"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

// readCPU finds a child by its name and sees the CPU time it burns.
func TestReadCPUSeesAChild(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// A copy of sh named "etcd" that spins until killed.
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	bin := t.TempDir() + "/etcd"
	b, err := os.ReadFile(sh)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	before, err := readCPU()
	if err != nil {
		t.Fatal(err)
	}
	if before["etcd"].pid != cmd.Process.Pid {
		t.Fatalf("child etcd not found: %+v", before)
	}
	// Wait until the child has used some CPU, however long a loaded
	// machine takes to give it some.
	for {
		after, err := readCPU()
		if err != nil {
			t.Fatal(err)
		}
		if d := cpuSince(before, after)["etcd"]; d > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCPUSince(t *testing.T) {
	before := cpuSnapshot{"manager": {pid: 10, seconds: 5}, "etcd": {pid: 11, seconds: 2}}
	after := cpuSnapshot{"manager": {pid: 12, seconds: 1.5}, "etcd": {pid: 11, seconds: 3.25}, "driver": {pid: 1, seconds: 9}}
	got := cpuSince(before, after)
	// A restarted manager counts from zero; a process seen only after
	// counts all its time.
	if got["manager"] != 1.5 || got["etcd"] != 1.25 || got["driver"] != 9 {
		t.Errorf("cpuSince = %v", got)
	}
}

const apiMetrics = `# HELP apiserver_request_total [STABLE] Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="201",component="apiserver",dry_run="",group="cert-manager.io",resource="certificates",scope="resource",subresource="",verb="POST",version="v1"} 200
apiserver_request_total{code="409",component="apiserver",dry_run="",group="cert-manager.io",resource="certificates",scope="resource",subresource="",verb="POST",version="v1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="cert-manager.io",resource="certificaterequests",scope="resource",subresource="status",verb="APPLY",version="v1"} 400
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="GET",version="v1"} 999
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="secrets",scope="resource",subresource="",verb="PUT",version="v1"} 7
# HELP etcd_request_total unrelated
# TYPE etcd_request_total counter
etcd_request_total{operation="create"} 5
`

func TestParseAPIWrites(t *testing.T) {
	got, err := parseAPIWrites([]byte(apiMetrics))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"POST certificates": 203, "APPLY certificaterequests/status": 400, "PUT secrets": 7}
	if len(got) != len(want) {
		t.Errorf("writes = %v, want %v (reads are not writes)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	if _, err := parseAPIWrites([]byte("etcd_request_total 1\n")); err == nil {
		t.Error("metrics without apiserver_request_total accepted")
	}
	d, total := writesSince(map[string]int{"PUT secrets": 5}, got)
	if total != 605 || d["PUT secrets"] != 2 {
		t.Errorf("writesSince = %v, %d", d, total)
	}
}

func TestSlope(t *testing.T) {
	// y = 30 + 2.5x exactly, and with noise around it.
	if got := slope([]float64{0, 2, 3}, []float64{30, 35, 37.5}); math.Abs(got-2.5) > 1e-9 {
		t.Errorf("slope = %v, want 2.5", got)
	}
	if got := slope([]float64{0, 1, 2, 3}, []float64{1, 3.2, 4.8, 7.1}); math.Abs(got-1.99) > 0.01 {
		t.Errorf("slope = %v, want about 1.99", got)
	}
	if got := slope([]float64{1, 1}, []float64{2, 3}); got != 0 {
		t.Errorf("slope without distinct x = %v", got)
	}
}

func TestLatencyLimit(t *testing.T) {
	if got := latencyLimit(16, 250*time.Millisecond, 2.02); got != 31.68 {
		t.Errorf("limit = %v, want 31.68", got)
	}
	if got := latencyLimit(16, 250*time.Millisecond, 0); got != 32 {
		t.Errorf("limit without a measurement = %v, want 32", got)
	}
}

func TestPhaseName(t *testing.T) {
	for in, want := range map[string]string{"p1": "side-by-side", "p8": "memory", "start": "start", "p9": "", "x": ""} {
		if got := PhaseName(in); got != want {
			t.Errorf("PhaseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSlotsBusy(t *testing.T) {
	for _, tc := range []struct {
		run   Burst
		slots int
		want  string
	}{
		{Burst{Seconds: 10, AtlasBusySeconds: 80}, 16, "0.500"},
		{Burst{Seconds: 6.5, AtlasBusySeconds: 104}, 16, "1.000"},
		{Burst{Seconds: 0, AtlasBusySeconds: 1}, 16, "—"},
		{Burst{Seconds: 1, AtlasBusySeconds: 1}, 0, "—"},
	} {
		if got := slotsBusy(tc.run, tc.slots); got != tc.want {
			t.Errorf("slotsBusy(%+v, %d) = %s, want %s", tc.run, tc.slots, got, tc.want)
		}
	}
}

func TestQuietWrites(t *testing.T) {
	before := map[string]int{"POST events": 10, "PUT leases": 4, "APPLY certificaterequests/status": 2}
	for _, tc := range []struct {
		name  string
		after map[string]int
		want  bool
	}{
		{"nothing written", map[string]int{"POST events": 10, "PUT leases": 4, "APPLY certificaterequests/status": 2}, true},
		{"only a lease renewed", map[string]int{"POST events": 10, "PUT leases": 6, "APPLY certificaterequests/status": 2}, true},
		{"an event written late", map[string]int{"POST events": 11, "PUT leases": 4, "APPLY certificaterequests/status": 2}, false},
		{"a first write of a new kind", map[string]int{"POST events": 10, "PUT leases": 4, "APPLY certificaterequests/status": 2, "DELETE secrets": 1}, false},
	} {
		if got := quietWrites(before, tc.after); got != tc.want {
			t.Errorf("%s: quietWrites = %v, want %v", tc.name, got, tc.want)
		}
	}
}
