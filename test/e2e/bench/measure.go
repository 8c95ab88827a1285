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
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"
)

// The costs in this file do not depend on how fast the machine is: CPU
// time per certificate, API writes per certificate and memory per request.

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports (the kernel converts to it
// whatever its internal HZ).
const clockTicks = 100

// processNames are the benchmark's processes by their /proc comm name, as
// they appear in the CPU table; "driver" is the benchmark itself.
var processNames = []string{"manager", "cm-controllers", "kube-apiserver", "etcd", "fake-atlas", "driver"}

// cpuSnapshot is the CPU time (user plus system) each process had used at
// one moment, with the pid it was read from, so that a process restarted
// in between counts from zero.
type cpuSnapshot map[string]procCPU

type procCPU struct {
	pid     int
	seconds float64
}

// readCPU reads the CPU time of this process and of its children with the
// names in processNames.
func readCPU() (cpuSnapshot, error) {
	self := os.Getpid()
	snap := cpuSnapshot{}
	s, err := readStat(self)
	if err != nil {
		return nil, err
	}
	snap["driver"] = procCPU{pid: self, seconds: s.cpu}
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.ppid != self {
			continue // gone since the glob, or not ours
		}
		for _, n := range processNames {
			if st.comm != n {
				continue
			}
			if p, ok := snap[n]; ok {
				// Several children of one name add up; pid 0 makes
				// cpuSince count them from zero.
				snap[n] = procCPU{seconds: p.seconds + st.cpu}
			} else {
				snap[n] = procCPU{pid: pid, seconds: st.cpu}
			}
		}
	}
	return snap, nil
}

type procStat struct {
	comm string
	ppid int
	cpu  float64 // seconds, utime + stime
}

// readStat parses /proc/<pid>/stat: "pid (comm) state ppid ... utime stime
// ..." where comm may hold spaces and parentheses, so the fields are
// counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

func parseStat(s string) (procStat, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("stat %q: no (comm)", s)
	}
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 15-3+1 {
		return procStat{}, fmt.Errorf("stat %q: %d fields", s, len(f))
	}
	ppid, err1 := strconv.Atoi(f[4-3])
	ut, err2 := strconv.ParseInt(f[14-3], 10, 64)
	st, err3 := strconv.ParseInt(f[15-3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, fmt.Errorf("stat %q: bad ppid, utime or stime", s)
	}
	return procStat{comm: s[open+1 : end], ppid: ppid, cpu: float64(ut+st) / clockTicks}, nil
}

// cpuSince is the CPU seconds each process used from before to after; a
// process whose pid changed (restarted) counts all of its time in after.
func cpuSince(before, after cpuSnapshot) map[string]float64 {
	out := map[string]float64{}
	for _, n := range processNames {
		a, ok := after[n]
		if !ok {
			continue
		}
		d := a.seconds
		if b, ok := before[n]; ok && b.pid == a.pid && a.pid != 0 {
			d -= b.seconds
		}
		out[n] = round(d, 2)
	}
	return out
}

// writeVerbs are the verbs of apiserver_request_total that change state.
// APPLY is a PATCH with a server-side apply body, which the API server
// counts under its own verb.
var writeVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "DELETE": true, "DELETECOLLECTION": true}

// apiWrites reads kube-apiserver's own request counter and returns the
// writes so far by "VERB resource[/subresource]".
func apiWrites(ctx context.Context, rc rest.Interface) (map[string]int, error) {
	body, err := rc.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver /metrics: %w", err)
	}
	return parseAPIWrites(body)
}

func parseAPIWrites(body []byte) (map[string]int, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse kube-apiserver metrics: %w", err)
	}
	fam, ok := fams["apiserver_request_total"]
	if !ok {
		return nil, fmt.Errorf("kube-apiserver metrics have no apiserver_request_total")
	}
	out := map[string]int{}
	for _, m := range fam.GetMetric() {
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		if !writeVerbs[l["verb"]] {
			continue
		}
		res := l["resource"]
		if l["subresource"] != "" {
			res += "/" + l["subresource"]
		}
		out[l["verb"]+" "+res] += int(m.GetCounter().GetValue())
	}
	return out, nil
}

// writesSince is after minus before, without the zeros, and its total.
func writesSince(before, after map[string]int) (map[string]int, int) {
	out := map[string]int{}
	total := 0
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
			total += d
		}
	}
	return out, total
}

// liveHeap reads HeapAlloc from the manager's heap profile in text form
// with gc=1, which collects first: the live heap.
func liveHeap(ctx context.Context, pprofAddr string) (int64, error) {
	body, err := get(ctx, "http://"+pprofAddr+"/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, err
	}
	s := bufio.NewScanner(bytes.NewReader(body))
	s.Buffer(make([]byte, 64<<10), 16<<20)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "# HeapAlloc = "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("heap profile has no HeapAlloc line")
}

func get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// slope fits y = a + b*x by least squares and returns b; 0 with fewer than
// two distinct x.
func slope(x, y []float64) float64 {
	n := float64(len(x))
	if len(x) < 2 || len(x) != len(y) {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
		sxx += x[i] * x[i]
		sxy += x[i] * y[i]
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}
