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

package cluster_test

// The suite's measuring code, tested without a cluster.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

func TestInFlightAtKill(t *testing.T) {
	post, get := fake.OpRequestCertificate, fake.OpRetrieveCertificate
	for _, tc := range []struct {
		name               string
		ops                []string
		before, after, cut map[string]int
		want               bool
	}{
		{"still served after", []string{post}, map[string]int{post: 2}, map[string]int{post: 1}, nil, true},
		{"cut after", []string{post}, map[string]int{post: 1}, nil, map[string]int{post: 1}, true},
		{"nothing before", []string{post}, nil, map[string]int{post: 1}, map[string]int{post: 1}, false},
		{"answered before the kill", []string{post}, map[string]int{post: 1}, nil, nil, false},
		{"another kind in flight", []string{get}, map[string]int{post: 1}, map[string]int{post: 1}, nil, false},
		{"either kind", []string{post, get}, map[string]int{post: 1, get: 1}, nil, map[string]int{get: 1}, true},
		{"before one kind, cut another", []string{post, get}, map[string]int{post: 1}, nil, map[string]int{get: 1}, false},
	} {
		if got := inFlightAtKill(tc.ops, tc.before, tc.after, tc.cut); got != tc.want {
			t.Errorf("%s: inFlightAtKill = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCutCalls(t *testing.T) {
	post, get := fake.OpRequestCertificate, fake.OpRetrieveCertificate
	kill := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return kill.Add(d) }
	hold := 3 * time.Second
	spans := []fake.CallSpan{
		{Op: post, Start: at(-time.Second), End: at(10 * time.Millisecond)},          // cut
		{Op: post, Start: at(-4 * time.Second), End: at(-500 * time.Millisecond)},    // answered before
		{Op: post, Start: at(-2 * time.Second), End: at(2 * time.Second)},            // served its whole hold
		{Op: post, Start: at(time.Second), End: at(1100 * time.Millisecond)},         // began after
		{Op: get, Start: at(-2 * time.Second), End: at(0)},                           // cut, at the kill
		{Op: fake.OpStatsIssued, Start: at(-time.Second), End: at(time.Millisecond)}, // not wanted
	}
	got := cutCalls(spans, []string{post, get}, kill, hold)
	if want := map[string]int{post: 1, get: 1}; !maps.Equal(got, want) {
		t.Errorf("cutCalls = %v, want %v", got, want)
	}
	if got := cutCalls(spans, []string{get}, kill, hold); !maps.Equal(got, map[string]int{get: 1}) {
		t.Errorf("cutCalls for GET only = %v", got)
	}
}

func TestTaskPID(t *testing.T) {
	out := "TASK    PID     STATUS\n" +
		"aaa     101     RUNNING\n" +
		"bbb     202     STOPPED\n" +
		"ccc     303     RUNNING\n"
	if pid, err := taskPID(out, "ccc"); err != nil || pid != 303 {
		t.Errorf("taskPID(ccc) = %d, %v; want 303", pid, err)
	}
	for _, id := range []string{"bbb", "zzz", "TASK", ""} {
		if pid, err := taskPID(out, id); err == nil {
			t.Errorf("taskPID(%q) = %d, want an error", id, pid)
		}
	}
}

func TestReckon(t *testing.T) {
	a := []string{"a.example.com"}
	b := []string{"b.example.com"}
	for _, tc := range []struct {
		name     string
		issued   []fake.IssuedCertificate
		held     []string
		crts     []certView
		orphans  []string
		reissued []string
		beyond   int
	}{
		{
			name:   "every certificate held, one per revision",
			issued: []fake.IssuedCertificate{{Serial: "01AA", DNSNames: a}, {Serial: "01BB", DNSNames: b}},
			held:   []string{"1aa", "1bb"},
			crts:   []certView{{"ns/a", a, 1}, {"ns/b", b, 1}},
		},
		{
			name:     "cert-manager asked twice: the first is an orphan it replaced",
			issued:   []fake.IssuedCertificate{{Serial: "01AA", DNSNames: a}, {Serial: "01AB", DNSNames: a}},
			held:     []string{"1ab"},
			crts:     []certView{{"ns/a", a, 2}},
			orphans:  []string{"01AA"},
			reissued: []string{"01AA"},
		},
		{
			name:    "issued twice for one revision",
			issued:  []fake.IssuedCertificate{{Serial: "01AA", DNSNames: a}, {Serial: "01AB", DNSNames: a}},
			held:    []string{"1ab"},
			crts:    []certView{{"ns/a", a, 1}},
			orphans: []string{"01AA"},
			beyond:  1,
		},
		{
			name:   "issued for a request that has not been counted yet, held",
			issued: []fake.IssuedCertificate{{Serial: "01AA", DNSNames: a}},
			held:   []string{"1aa"},
			crts:   []certView{{"ns/a", a, 0}},
			beyond: 1,
		},
		{
			name: "revoked and rejected are off the books",
			issued: []fake.IssuedCertificate{{Serial: "01AA", DNSNames: a}, {Serial: "01AB", DNSNames: a, Revoked: true},
				{Serial: "01AC", DNSNames: a, Rejected: true}},
			held: []string{"1aa"},
			crts: []certView{{"ns/a", a, 1}},
		},
		{
			name:    "an orphan no Certificate names, spelt in any case",
			issued:  []fake.IssuedCertificate{{Serial: "01cc", DNSNames: []string{"c.example.com"}}, {Serial: "not hex", DNSNames: a}},
			held:    []string{"1cc"},
			crts:    []certView{{"ns/a", a, 1}},
			orphans: []string{"not hex"},
		},
		{
			name:    "names must match exactly",
			issued:  []fake.IssuedCertificate{{Serial: "01AA", DNSNames: append(slices.Clone(a), "x.example.com")}},
			crts:    []certView{{"ns/a", a, 1}},
			orphans: []string{"01AA"},
			beyond:  1,
		},
		{
			name:   "a held certificate of a Kubernetes CSR",
			issued: []fake.IssuedCertificate{{Serial: "01DD", DNSNames: []string{"kube.example.com"}}},
			held:   []string{"1dd"},
		},
	} {
		held := map[string]bool{}
		for _, h := range tc.held {
			held[h] = true
		}
		l := reckon(tc.issued, held, tc.crts)
		if !sameSet(l.Orphans, tc.orphans) || !sameSet(l.Reissued, tc.reissued) || l.BeyondCount != tc.beyond {
			t.Errorf("%s: orphans %v, reissued %v, beyond %d (%v); want %v, %v, %d",
				tc.name, l.Orphans, l.Reissued, l.BeyondCount, l.Beyond, tc.orphans, tc.reissued, tc.beyond)
		}
	}
}

func TestLeafSerialMatchesSerialKey(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// A serial as the fake draws it: 16 bytes, the first 0x01, which a
	// number drops when spelt in hex.
	serial := "01" + strings.Repeat("0A", 15)
	n, _ := new(big.Int).SetString(serial, 16)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: n, NotAfter: time.Now().Add(time.Hour)},
		&x509.Certificate{SerialNumber: big.NewInt(1)}, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	got, ok := leafSerial(chain)
	want, wok := serialKey(serial)
	if !ok || !wok || got != want {
		t.Errorf("leafSerial = %q, %v; serialKey = %q, %v", got, ok, want, wok)
	}
	if _, ok := leafSerial(nil); ok {
		t.Error("leafSerial of nothing reported a serial")
	}
	if _, ok := leafSerial([]byte("not PEM")); ok {
		t.Error("leafSerial of garbage reported a serial")
	}
}

func TestSameSet(t *testing.T) {
	for _, tc := range []struct {
		a, b []string
		want bool
	}{
		{nil, nil, true},
		{[]string{"x", "y"}, []string{"y", "x"}, true},
		{[]string{"x"}, []string{"x", "x"}, false},
		{[]string{"x"}, nil, false},
	} {
		if got := sameSet(tc.a, tc.b); got != tc.want {
			t.Errorf("sameSet(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}

// recordTB keeps what a step reports instead of failing the test.
type recordTB struct {
	testing.TB
	errs []string
}

func (r *recordTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestRecoverPanic(t *testing.T) {
	s := &suite{}
	rec := &recordTB{TB: t}
	func() {
		defer s.recoverPanic(rec, "calm step")
	}()
	if len(s.rep.Panics) != 0 || len(rec.errs) != 0 {
		t.Fatalf("a step without a panic recorded %v, %v", s.rep.Panics, rec.errs)
	}
	func() {
		defer s.recoverPanic(rec, "indexing step")
		var empty []string
		_ = empty[len(rec.errs)]
	}()
	if len(s.rep.Panics) != 1 || !strings.HasPrefix(s.rep.Panics[0], "indexing step: ") {
		t.Errorf("report panics = %q", s.rep.Panics)
	}
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "index out of range") {
		t.Errorf("reported %q", rec.errs)
	}
}
