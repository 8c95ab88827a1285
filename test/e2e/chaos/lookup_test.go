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
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
)

func TestCheckResubmit(t *testing.T) {
	intent := time.Unix(1_700_000_000, 0)
	bound := 30 * time.Second
	at := func(d time.Duration) time.Time { return intent.Add(d) }
	for _, tc := range []struct {
		name          string
		event, second time.Time
		want          string
	}{
		{"after the bound, with its event", at(31 * time.Second), at(31500 * time.Millisecond), ""},
		{"the intent's and event's whole seconds", at(29 * time.Second), at(29800 * time.Millisecond), ""},
		{"never submitted again", at(31 * time.Second), time.Time{}, "no second submission"},
		{"before the bound", at(10 * time.Second), at(10 * time.Second), "before the bound"},
		{"without an event", time.Time{}, at(31 * time.Second), "without a ResubmittedUndecided event"},
		{"an event before the bound", at(20 * time.Second), at(31 * time.Second), "event 20s after the intent"},
		{"an event long after the POST", at(60 * time.Second), at(31 * time.Second), "after the second submission"},
	} {
		ok, why := checkResubmit(intent, bound, tc.event, tc.second)
		if ok != (tc.want == "") || !strings.Contains(why, tc.want) {
			t.Errorf("%s: %v %q, want %q", tc.name, ok, why, tc.want)
		}
	}
}

func TestParseIntentTime(t *testing.T) {
	if got, ok := parseIntentTime("1700000000/abcdef"); !ok || !got.Equal(time.Unix(1_700_000_000, 0)) {
		t.Errorf("parseIntentTime = %v, %v", got, ok)
	}
	for _, bad := range []string{"", "1700000000", "x/abc", "0/abc", "-5/abc"} {
		if _, ok := parseIntentTime(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestIsUndecided(t *testing.T) {
	cond := func(status cmmeta.ConditionStatus, reason, msg string) *cmapi.CertificateRequestCondition {
		return &cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: status, Reason: reason, Message: msg}
	}
	msg := "the lookup cannot decide whether the submission of 2026-12-07T19:00:00Z reached Atlas (404); waiting rather than risk a second certificate"
	if !isUndecided(cond(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending, msg)) {
		t.Error("a Pending request that cannot decide was not seen")
	}
	for _, c := range []*cmapi.CertificateRequestCondition{
		nil,
		cond(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonFailed, msg),
		cond(cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending, "Atlas is still issuing certificate 01AB"),
		cond(cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued, msg),
	} {
		if isUndecided(c) {
			t.Errorf("%+v taken for an undecided lookup", c)
		}
	}
}

func TestRestartDelay(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 6: 5 * time.Minute, 20: 5 * time.Minute} {
		if got := restartDelay(n); got != want {
			t.Errorf("restartDelay(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestLeadershipLost(t *testing.T) {
	if !leadershipLost("manager-01: exit status 1:\natlas-issuer: leader election lost") {
		t.Error("lost leadership not recognised")
	}
	if leadershipLost("manager-01: exit status 2:\npanic: runtime error") {
		t.Error("a panic taken for lost leadership")
	}
}
