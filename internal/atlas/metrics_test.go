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
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	first := atlas.NewMetrics(reg)
	// A second registration on the same registry must share the series.
	second := atlas.NewMetrics(reg)

	f := newFakeAtlas(t, false)
	f.setAPI(failThen(1, status(http.StatusServiceUnavailable), counterAPI))
	c, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.Metrics = first })
	if _, err := c.CountIssued(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	bad, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.Metrics = second; cfg.APISecret = "wrong" })
	_ = bad.Login(testCtx(t))

	// A transport failure is counted under code "error".
	f.srv.Close()
	c.CloseIdleConnections()
	_, _ = c.TrustChain(testCtx(t))

	want := `
# HELP atlas_logins_total Logins to the Atlas API by result (success or failure), after retries.
# TYPE atlas_logins_total counter
atlas_logins_total{result="failure"} 1
atlas_logins_total{result="success"} 1
# HELP atlas_requests_total HTTP requests sent to the Atlas API, one per attempt, by operation and status code ("error" when no status came back).
# TYPE atlas_requests_total counter
atlas_requests_total{code="200",operation="CountIssued"} 1
atlas_requests_total{code="200",operation="Login"} 1
atlas_requests_total{code="401",operation="Login"} 1
atlas_requests_total{code="503",operation="CountIssued"} 1
atlas_requests_total{code="error",operation="TrustChain"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "atlas_requests_total", "atlas_logins_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "atlas_request_duration_seconds"); err != nil || n != 3 {
		t.Errorf("duration series = %d (%v), want 3 (Login, CountIssued, TrustChain)", n, err)
	}
}

func TestMetricsWithoutRegistry(t *testing.T) {
	m := atlas.NewMetrics(nil)
	f := newFakeAtlas(t, false)
	f.setAPI(counterAPI)
	c, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.Metrics = m })
	if _, err := c.Quota(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}
