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
	"maps"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

func TestNormalSerial(t *testing.T) {
	// Atlas's serials start with 01; a certificate's serial number has no
	// leading zero.
	n, _ := new(big.Int).SetString("01AB00FF", 16)
	if normalSerial("01AB00FF") != n.Text(16) || normalSerial("1ab00ff") != n.Text(16) {
		t.Errorf("normalSerial: %q, %q; want %q", normalSerial("01AB00FF"), normalSerial("1ab00ff"), n.Text(16))
	}
}

func TestCertificateOf(t *testing.T) {
	for in, want := range map[string]string{
		dnsName(nsCrash, "crash-007"):       nsCrash + "/crash-007",
		dnsName(nsHostile, "forged-x-1"):    nsHostile + "/forged-x-1",
		"seed.example.com":                  "",
		"a.b.c.chaos.example":               "",
		"orphan-control.fake.chaos.example": "fake/orphan-control",
	} {
		if got := certificateOf(in); got != want {
			t.Errorf("certificateOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLedger(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	c := func(serial, fp string, dns ...string) fake.IssuedCertificate {
		return fake.IssuedCertificate{Serial: serial, Fingerprint: fp, DNSNames: dns, AcceptedAt: at}
	}
	revoked := c("0105", "k5", dnsName(nsFaults, "fault-005"))
	revoked.Revoked = true
	rejected := c("0106", "k6", dnsName(nsFaults, "fault-006"))
	rejected.Rejected = true
	issued := map[string][]fake.IssuedCertificate{
		"fake-atlas": {
			c("0101", "k1", dnsName(nsFaults, "fault-001")),            // held
			c("0102", "k2", dnsName(nsFaults, "fault-002")),            // orphaned
			c("0103", "k3", "orphan-control.fake-atlas.chaos.example"), // planted here
			revoked, rejected,
		},
		sharedFakeName: {
			c("0107", "seed", seedName), c("0108", "seed", seedName),
			c("0109", "k9", dnsName(nsHostile, "forged-intent-1970-0")),
			c("0103", "k3", "planted on the other fake, not this one"),
		},
		"fake-atlas-lookup": {
			c("010A", "kb", dnsName("chaos-lookup-bound", "bound-000")), // first, cut short
			c("010B", "kb", dnsName("chaos-lookup-bound", "bound-000")), // second, held
		},
	}
	held := map[string]string{normalSerial("0101"): "chaos-faults/fault-001-tls", normalSerial("010B"): "chaos-lookup-bound/bound-000-tls"}
	planted := map[string]string{normalSerial("0103"): "fake-atlas"}
	rules := []orphanRule{
		{orphanSeeded, func(f string, c fake.IssuedCertificate) bool { return f == sharedFakeName && c.DNSNames[0] == seedName }},
		{orphanHostile, inNamespace(nsHostile)},
		{orphanResubmitted, func(_ string, c fake.IssuedCertificate) bool { return c.Fingerprint == "kb" }},
	}
	d := ledger(issued, held, planted, rules)
	if d.Held != 2 || d.Revoked != 1 || d.Rejected != 1 || d.Planted != 1 || d.PlantedFound != 1 {
		t.Errorf("held %d, revoked %d, rejected %d, planted %d found %d", d.Held, d.Revoked, d.Rejected, d.Planted, d.PlantedFound)
	}
	wantByDesign := map[string]int{orphanPlanted: 1, orphanSeeded: 2, orphanHostile: 1, orphanResubmitted: 1}
	if !maps.Equal(d.ByDesign, wantByDesign) {
		t.Errorf("by design %v, want %v", d.ByDesign, wantByDesign)
	}
	// The serial planted on one fake is an orphan on another: the control
	// counts only where it was posted.
	var got []string
	for _, o := range d.Orphaned {
		got = append(got, o.Fake+" "+o.Serial+" "+o.Certificate)
	}
	want := []string{"fake-atlas 0102 chaos-faults/fault-002", sharedFakeName + " 0103 "}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("orphaned %q, want %q", got, want)
	}
	if d.Issued["fake-atlas"] != 5 || d.Issued[sharedFakeName] != 4 || d.Issued["fake-atlas-lookup"] != 2 {
		t.Errorf("issued %v", d.Issued)
	}
	// Without the rules every one of those is an orphan.
	if d := ledger(issued, held, planted, nil); len(d.Orphaned) != 6 {
		t.Errorf("without rules: %d orphaned, want 6", len(d.Orphaned))
	}
}
