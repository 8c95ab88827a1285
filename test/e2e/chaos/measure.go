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
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"math/big"
	"path/filepath"
	"slices"
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

// extraCalls is how many Sign calls forged requests made beyond what the
// same requests without the forged annotations made.
func extraCalls(forgedCalls, baselineCalls map[string]int) int {
	return max(0, signCalls(forgedCalls)-signCalls(baselineCalls))
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

// misissueControls runs the misissuance check on certificates it must flag
// against a request: other, another request's certificate, and one made
// here for the request's very names and subject with another key, which
// only the key comparison can tell apart. Each is true when flagged.
func misissueControls(csrPEM, other []byte) (map[string]bool, error) {
	diff, err := misissued(csrPEM, other)
	if err != nil {
		return nil, err
	}
	same, err := sameNamesOtherKey(csrPEM)
	if err != nil {
		return nil, err
	}
	keyDiff, err := misissued(csrPEM, same)
	if err != nil {
		return nil, err
	}
	return map[string]bool{
		"another_requests_certificate": diff != "",
		"same_names_another_key":       keyDiff == "another public key",
	}, nil
}

// sameNamesOtherKey is a self-signed certificate with a CSR's subject and
// names, for a key of its own.
func sameNamesOtherKey(csrPEM []byte) ([]byte, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil {
		return nil, errors.New("request: no PEM CSR")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: csr.Subject, DNSNames: csr.DNSNames, IPAddresses: csr.IPAddresses,
		EmailAddresses: csr.EmailAddresses, URIs: csr.URIs, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
