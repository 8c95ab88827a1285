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

package failpoint

import "testing"

func TestParse(t *testing.T) {
	var fired []string
	crash := func(name string) { fired = append(fired, name) }
	fp, err := Parse("after-submit=1, after-intent=0", func() float64 { return 0.5 }, crash)
	if err != nil {
		t.Fatal(err)
	}
	fp(AfterIntent)
	fp(AfterSubmit)
	fp(AfterIssue)
	if len(fired) != 1 || fired[0] != AfterSubmit {
		t.Fatalf("fired %v, want only after-submit", fired)
	}
	if fp, err := Parse("", nil, crash); fp != nil || err != nil {
		t.Fatal("empty spec must disarm")
	}
	for _, bad := range []string{"after-submit", "nowhere=0.5", "after-submit=2", "after-submit=x"} {
		if _, err := Parse(bad, nil, crash); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
