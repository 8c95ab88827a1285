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
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of ds;
// zero for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := max(int(math.Ceil(p/100*float64(len(s)))), 1)
	return s[min(rank, len(s))-1]
}

// isolationRatio is the well-behaved tenant's issuance p95 beside the
// hostile tenant divided by its p95 alone; +Inf when either phase has no
// issuance to measure, so that a run that measured nothing cannot pass.
func isolationRatio(alone, hostile []time.Duration) float64 {
	a, h := percentile(alone, 95), percentile(hostile, 95)
	if a <= 0 || h <= 0 {
		return math.Inf(1)
	}
	return float64(h) / float64(a)
}

// misissued says how a returned certificate differs from the CSR of the
// approved request: other names (DNS, IP, e-mail, URI, common name) or
// another public key. It is empty when the certificate matches.
func misissued(csrPEM, certPEM []byte) (string, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil {
		return "", errors.New("request: no PEM CSR")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("request: %w", err)
	}
	block, _ = pem.Decode(certPEM)
	if block == nil {
		return "", errors.New("certificate: no PEM")
	}
	crt, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("certificate: %w", err)
	}
	var diffs []string
	if !sameSet(csr.DNSNames, crt.DNSNames) {
		diffs = append(diffs, fmt.Sprintf("DNS names %v, asked %v", crt.DNSNames, csr.DNSNames))
	}
	if !sameSet(stringsOf(csr.IPAddresses), stringsOf(crt.IPAddresses)) {
		diffs = append(diffs, fmt.Sprintf("IPs %v, asked %v", crt.IPAddresses, csr.IPAddresses))
	}
	if !sameSet(csr.EmailAddresses, crt.EmailAddresses) {
		diffs = append(diffs, fmt.Sprintf("e-mails %v, asked %v", crt.EmailAddresses, csr.EmailAddresses))
	}
	if !sameSet(stringsOf(csr.URIs), stringsOf(crt.URIs)) {
		diffs = append(diffs, fmt.Sprintf("URIs %v, asked %v", crt.URIs, csr.URIs))
	}
	if csr.Subject.CommonName != crt.Subject.CommonName {
		diffs = append(diffs, fmt.Sprintf("common name %q, asked %q", crt.Subject.CommonName, csr.Subject.CommonName))
	}
	want, err := fake.PublicKeyFingerprint(csr.PublicKey)
	if err != nil {
		return "", fmt.Errorf("request key: %w", err)
	}
	if got, err := fake.PublicKeyFingerprint(crt.PublicKey); err != nil || got != want {
		diffs = append(diffs, "another public key")
	}
	return strings.Join(diffs, "; "), nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func stringsOf[T fmt.Stringer](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// signOps are the Atlas operations a Sign makes for one request; issuer
// checks (login, policy, quota, trust chain) are not counted against the
// forged annotations.
var signOps = []string{
	fake.OpRequestCertificate, fake.OpRetrieveCertificate, fake.OpRekeyCertificate,
	fake.OpStatsIssued, fake.OpStatsExpiring, fake.OpStatsRevoked, fake.OpCountIssued,
}

// signCalls sums calls of the Sign operations.
func signCalls(calls map[string]int) int {
	n := 0
	for _, op := range signOps {
		n += calls[op]
	}
	return n
}

// extraCalls is how many Sign calls forged requests made beyond what as
// many normal issuances make, given the calls of normal issuances.
func extraCalls(forgedCalls map[string]int, forged int, normalCalls map[string]int, normal int) int {
	if normal == 0 {
		return signCalls(forgedCalls)
	}
	perIssuance := float64(signCalls(normalCalls)) / float64(normal)
	return max(0, int(math.Round(float64(signCalls(forgedCalls))-perIssuance*float64(forged))))
}

// countsSince is, per key, how much after exceeds before; keys that did not
// grow are left out.
func countsSince(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, n := range after {
		if d := n - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// faultKinds are the kinds of fault f asks for, as the fake counts them.
func faultKinds(f fake.Faults) []string {
	var out []string
	for _, k := range []struct {
		kind string
		on   bool
	}{
		{fake.FaultLatency, f.Latency > 0}, {fake.FaultLatencySpike, f.LatencySpikeRate > 0 && f.LatencySpike > 0},
		{fake.FaultDown, f.Down}, {fake.FaultDrop, f.DropRate > 0}, {fake.FaultRateLimit, f.RateLimitRate > 0},
		{fake.FaultBusy, f.ErrorRate > 0}, {fake.FaultServerError, f.ServerErrorRate > 0},
		{fake.FaultLostResponse, f.LostResponseRate > 0}, {fake.FaultOversize, f.OversizeBytes > 0},
		{fake.FaultHugeChain, f.TrustChainExtra > 0},
	} {
		if k.on {
			out = append(out, k.kind)
		}
	}
	return out
}

// unobserved lists the kinds f asks for that observed has no count of.
func unobserved(f fake.Faults, observed map[string]int) []string {
	var out []string
	for _, k := range faultKinds(f) {
		if observed[k] == 0 {
			out = append(out, k)
		}
	}
	return out
}

// chartValues is the chart's values.yaml in the repository at root.
func chartValues(root string) string {
	return filepath.Join(root, "charts", "atlas-issuer", "values.yaml")
}

// chartMemoryLimitMiB reads resources.limits.memory from a chart's
// values.yaml, in MiB.
func chartMemoryLimitMiB(values []byte) (float64, error) {
	var v struct {
		Resources struct {
			Limits map[string]string `json:"limits"`
		} `json:"resources"`
	}
	if err := yaml.Unmarshal(values, &v); err != nil {
		return 0, err
	}
	s, ok := v.Resources.Limits["memory"]
	if !ok {
		return 0, errors.New("values.yaml has no resources.limits.memory")
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("resources.limits.memory %q: %w", s, err)
	}
	return float64(q.Value()) / (1 << 20), nil
}

// rssKiB reads VmRSS from the text of /proc/<pid>/status.
func rssKiB(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("VmRSS line %q", sc.Text())
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, errors.New("no VmRSS line")
}
