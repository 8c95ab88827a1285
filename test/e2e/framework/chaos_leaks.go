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

package framework

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// Canary is a secret value whose appearance anywhere but its Secret is a
// leak: an API secret, an access token, a key password or a line of a
// private key's PEM body.
type Canary struct {
	Kind  string // "api-secret", "token", "key-password", "mtls-key"
	Value string
}

// Leak is one place a canary showed up.
type Leak struct {
	Kind  string `json:"kind"`
	Where string `json:"where"`
	// Context is the text around the hit with the canary itself masked,
	// so the report does not leak it again.
	Context string `json:"context"`
}

// PEMBodyLines returns the base64 lines of the PEM blocks in data, the
// material a leak of a private key would show.
func PEMBodyLines(data []byte) []string {
	var out []string
	in := false
	for l := range strings.SplitSeq(string(data), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "-----BEGIN"):
			in = true
		case strings.HasPrefix(l, "-----END"):
			in = false
		case in && l != "" && !strings.Contains(l, ":"):
			// Short last lines match too much by chance.
			if len(l) >= 16 {
				out = append(out, l)
			}
		}
	}
	return out
}

// WithEncodings adds to each canary the forms it takes when the Secret
// holding it is printed: base64 (a Secret's data in JSON), whose prefix is
// the same whatever follows the value in the Secret.
func WithEncodings(canaries []Canary) []Canary {
	out := append([]Canary{}, canaries...)
	for _, c := range canaries {
		v := c.Value[:len(c.Value)-len(c.Value)%3]
		if len(v) >= 12 {
			out = append(out, Canary{Kind: c.Kind, Value: base64.StdEncoding.EncodeToString([]byte(v))})
		}
	}
	return out
}

// FileCanary is a canary for a whole Secret value as it appears base64
// encoded: a window from the middle of its encoding.
func FileCanary(kind string, data []byte) Canary {
	enc := base64.StdEncoding.EncodeToString(data)
	if len(enc) <= 64 {
		return Canary{Kind: kind, Value: enc}
	}
	mid := len(enc)/2 - 32
	mid -= mid % 4
	return Canary{Kind: kind, Value: enc[mid : mid+64]}
}

// undump returns the bytes of every hex dump in text, concatenated: the
// form client-go logs binary (protobuf) bodies in at verbosity 8, an offset
// of 8 hex digits, two spaces, then up to 16 bytes as hex pairs.
func undump(text string) []byte {
	var out []byte
	isHex := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
	for i := 0; i+10 <= len(text); {
		j := strings.Index(text[i:], "  ")
		if j < 0 {
			break
		}
		j += i
		start := j - 8
		ok := start >= 0
		for k := start; ok && k < j; k++ {
			ok = isHex(text[k])
		}
		i = j + 2
		if !ok {
			continue
		}
		// Up to 16 pairs, separated by one or two spaces.
		for n := 0; n < 16 && i+2 <= len(text) && isHex(text[i]) && isHex(text[i+1]); n++ {
			b, _ := hex.DecodeString(text[i : i+2])
			out = append(out, b...)
			i += 2
			for m := 0; m < 2 && i < len(text) && text[i] == ' '; m++ {
				i++
			}
		}
	}
	return out
}

// Matcher finds many canaries in a text in one pass.
type Matcher struct {
	byPrefix map[string][]Canary
}

// matchPrefix is the length of the prefix canaries are indexed by; shorter
// canaries are ignored, since they would match by chance.
const matchPrefix = 8

// NewMatcher indexes canaries by their first bytes.
func NewMatcher(canaries []Canary) *Matcher {
	m := &Matcher{byPrefix: map[string][]Canary{}}
	for _, c := range canaries {
		if len(c.Value) >= matchPrefix {
			k := c.Value[:matchPrefix]
			m.byPrefix[k] = append(m.byPrefix[k], c)
		}
	}
	return m
}

// find returns each canary found in text once, with its first position.
func (m *Matcher) find(text string) map[Canary]int {
	var out map[Canary]int
	for i := 0; i+matchPrefix <= len(text); i++ {
		cs, ok := m.byPrefix[text[i:i+matchPrefix]]
		if !ok {
			continue
		}
		for _, c := range cs {
			if strings.HasPrefix(text[i:], c.Value) {
				if out == nil {
					out = map[Canary]int{}
				}
				if _, seen := out[c]; !seen {
					out[c] = i
				}
			}
		}
	}
	return out
}

// Scan reports every canary found in text, including inside hex dumps of
// binary bodies.
func (m *Matcher) Scan(where, text string) []Leak {
	var out []Leak
	report := func(text, where string, quote bool) {
		for c, i := range m.find(text) {
			lo, hi := max(0, i-60), min(len(text), i+len(c.Value)+60)
			ctx := strings.ReplaceAll(text[lo:hi], c.Value, "<"+c.Kind+">")
			if quote {
				ctx = fmt.Sprintf("%q", ctx)
			}
			out = append(out, Leak{Kind: c.Kind, Where: where, Context: ctx})
		}
	}
	report(text, where, false)
	if strings.Contains(text, "00000000  ") {
		report(string(undump(text)), where+" (hex dump)", true)
	}
	return out
}

// ScanText reports every canary found in text, including inside hex dumps
// of binary (protobuf) bodies.
func ScanText(where, text string, canaries []Canary) []Leak {
	return NewMatcher(canaries).Scan(where, text)
}

// ScanFile scans a log file line by line and returns the leaks and the
// number of lines read.
func ScanFile(path string, canaries []Canary) ([]Leak, int, error) {
	return NewMatcher(canaries).ScanFile(path)
}

// ScanFile scans a log file line by line and returns the leaks and the
// number of lines read.
func (m *Matcher) ScanFile(path string) ([]Leak, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = f.Close() }() // read only
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var out []Leak
	n := 0
	for sc.Scan() {
		n++
		out = append(out, m.Scan(fmt.Sprintf("%s:%d", filepath.Base(path), n), sc.Text())...)
	}
	return out, n, sc.Err()
}

// LeakScan is what ScanForCanaries looked at and found.
type LeakScan struct {
	Leaks []Leak `json:"leaks"`
	// Scanned counts what was read, per source: log lines per file,
	// events, issuer and request statuses.
	Scanned map[string]int `json:"scanned"`
}

// ScanForCanaries searches every log in WorkDir matching logGlob, every
// Event in the cluster, and the status of every AtlasIssuer,
// AtlasClusterIssuer, CertificateRequest and Certificate.
func (e *Env) ScanForCanaries(ctx context.Context, logGlob string, canaries []Canary) (*LeakScan, error) {
	res := &LeakScan{Scanned: map[string]int{}}
	m := NewMatcher(canaries)
	logs, err := filepath.Glob(filepath.Join(e.WorkDir, logGlob))
	if err != nil {
		return nil, err
	}
	sort.Strings(logs)
	for _, l := range logs {
		leaks, n, err := m.ScanFile(l)
		if err != nil {
			return nil, err
		}
		res.Leaks = append(res.Leaks, leaks...)
		res.Scanned["log lines: "+filepath.Base(l)] = n
	}

	var events corev1.EventList
	if err := e.Client.List(ctx, &events); err != nil {
		return nil, err
	}
	for _, ev := range events.Items {
		where := fmt.Sprintf("event %s/%s on %s %s", ev.Namespace, ev.Name, ev.InvolvedObject.Kind, ev.InvolvedObject.Name)
		res.Leaks = append(res.Leaks, m.Scan(where, ev.Reason+" "+ev.Message)...)
	}
	res.Scanned["events"] = len(events.Items)

	scanStatus := func(kind, ns, name string, status any) error {
		b, err := json.Marshal(status)
		if err != nil {
			return err
		}
		res.Leaks = append(res.Leaks, m.Scan(fmt.Sprintf("%s %s/%s status", kind, ns, name), string(b))...)
		res.Scanned[kind+" statuses"]++
		return nil
	}
	var issuers v1alpha1.AtlasIssuerList
	if err := e.Client.List(ctx, &issuers); err != nil {
		return nil, err
	}
	for _, o := range issuers.Items {
		if err := scanStatus("AtlasIssuer", o.Namespace, o.Name, o.Status); err != nil {
			return nil, err
		}
	}
	var clusterIssuers v1alpha1.AtlasClusterIssuerList
	if err := e.Client.List(ctx, &clusterIssuers); err != nil {
		return nil, err
	}
	for _, o := range clusterIssuers.Items {
		if err := scanStatus("AtlasClusterIssuer", "", o.Name, o.Status); err != nil {
			return nil, err
		}
	}
	var crs cmapi.CertificateRequestList
	if err := e.Client.List(ctx, &crs); err != nil {
		return nil, err
	}
	for _, o := range crs.Items {
		// The annotations are ours too (intent, serial).
		if err := scanStatus("CertificateRequest", o.Namespace, o.Name, map[string]any{"annotations": o.Annotations, "status": o.Status}); err != nil {
			return nil, err
		}
	}
	var certs cmapi.CertificateList
	if err := e.Client.List(ctx, &certs); err != nil {
		return nil, err
	}
	for _, o := range certs.Items {
		if err := scanStatus("Certificate", o.Namespace, o.Name, o.Status); err != nil {
			return nil, err
		}
	}
	return res, nil
}
