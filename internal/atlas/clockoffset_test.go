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

package atlas_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// TestClockOffset: the client reads how far Atlas's clock is from its own
// from the Date header of an answer, errors included.
func TestClockOffset(t *testing.T) {
	f := newFakeAtlas(t, true)
	clk := newFakeClock()
	c, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.Clock = clk })
	if _, ok := c.ClockOffset(); ok {
		t.Fatal("an offset is known before any call")
	}
	ahead := clk.Now().Add(5 * time.Minute)
	f.setAPI(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", ahead.UTC().Format(http.TimeFormat))
		writeProblem(w, http.StatusNotFound, "Not found", "")
	})
	if _, err := c.Quota(testCtx(t)); err == nil {
		t.Fatal("the 404 was not an error")
	}
	off, ok := c.ClockOffset()
	if !ok || off != 5*time.Minute {
		t.Errorf("offset = %s (known %v), want 5m0s", off, ok)
	}
}
