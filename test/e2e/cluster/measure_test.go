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
	"fmt"
	"strings"
	"testing"
)

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
