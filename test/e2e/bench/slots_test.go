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
	"strconv"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

func TestSlotUse(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	call := func(from, to int) fake.CallSpan {
		return fake.CallSpan{Op: fake.OpRequestCertificate, Start: at(from), End: at(to)}
	}
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name  string
		spans []fake.CallSpan
		slots int
		want  *SlotUse
	}{
		{"no call", nil, 2, nil},
		{"only the check, before the start", []fake.CallSpan{call(-500, -400)}, 2, nil},
		{
			// Two slots full from 1 s; from then to the last start (2 s)
			// both are in calls all the time.
			"full at once", []fake.CallSpan{call(-500, -400), call(1000, 1500), call(1000, 1500), call(1500, 2000), call(1500, 2500), call(2000, 2500)},
			2, &SlotUse{FirstCallSeconds: 1, FullSeconds: f(1), BusyAfterFull: f(1)},
		},
		{
			// Full at 0.5 s; from then to the last start at 1.5 s, one
			// slot idles between 1.0 and 1.5: 1.5 of 2 slot-seconds.
			"a gap after full", []fake.CallSpan{call(200, 1000), call(500, 2000), call(1500, 1800)},
			2, &SlotUse{FirstCallSeconds: 0.2, FullSeconds: f(0.5), BusyAfterFull: f(0.75)},
		},
		{
			// A slot handed on at the same instant is not two calls.
			"never full", []fake.CallSpan{call(100, 300), call(300, 500)},
			2, &SlotUse{FirstCallSeconds: 0.1},
		},
		{
			"full only at the last start", []fake.CallSpan{call(100, 900), call(600, 900)},
			2, &SlotUse{FirstCallSeconds: 0.1, FullSeconds: f(0.6)},
		},
	}
	for _, tt := range tests {
		got := slotUse(tt.spans, t0, tt.slots)
		if !sameSlotUse(got, tt.want) {
			t.Errorf("%s: slotUse = %s, want %s", tt.name, fmtSlotUse(got), fmtSlotUse(tt.want))
		}
	}
}

func sameSlotUse(a, b *SlotUse) bool {
	if a == nil || b == nil {
		return a == b
	}
	eq := func(x, y *float64) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.FirstCallSeconds == b.FirstCallSeconds && eq(a.FullSeconds, b.FullSeconds) && eq(a.BusyAfterFull, b.BusyAfterFull)
}

func fmtSlotUse(u *SlotUse) string {
	if u == nil {
		return "nil"
	}
	s := func(p *float64) string {
		if p == nil {
			return "nil"
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	return "{first " + s(&u.FirstCallSeconds) + ", full " + s(u.FullSeconds) + ", busy after full " + s(u.BusyAfterFull) + "}"
}

func TestSlotUseText(t *testing.T) {
	full, busy := 0.8, 0.987
	for _, tt := range []struct {
		u    SlotUse
		want string
	}{
		{SlotUse{FirstCallSeconds: 0.2}, "first Atlas call 0.20 s after the first create; the 16 slots were never all in calls at once"},
		{SlotUse{FirstCallSeconds: 0.2, FullSeconds: &full}, "first Atlas call 0.20 s after the first create, all 16 slots in calls from 0.80 s"},
		{SlotUse{FirstCallSeconds: 0.2, FullSeconds: &full, BusyAfterFull: &busy}, "first Atlas call 0.20 s after the first create, all 16 slots in calls from 0.80 s; from then until the last call started, slots busy 0.987"},
	} {
		if got := slotUseText(tt.u, 16); got != tt.want {
			t.Errorf("slotUseText(%s) = %q, want %q", fmtSlotUse(&tt.u), got, tt.want)
		}
	}
}
