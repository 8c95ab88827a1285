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

package atlas

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors of every Client in the process,
// labelled by operation so that one set serves all credential sets.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	logins   *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg (nil: not
// registered, useful in tests). Calling it again with the same registry
// returns collectors that share the already registered series instead of
// panicking, so independent packages may each ask for the metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atlas_requests_total",
			Help: "HTTP requests sent to the Atlas API, one per attempt, by operation and status code (\"error\" when no status came back).",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "atlas_request_duration_seconds",
			Help: "Duration of single Atlas API attempts by operation.",
			// Atlas answers in tens of milliseconds but a busy CA takes
			// seconds; the top bucket is the default per-attempt timeout.
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atlas_logins_total",
			Help: "Logins to the Atlas API by result (success or failure), after retries.",
		}, []string{"result"}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.duration = register(reg, m.duration)
		m.logins = register(reg, m.logins)
	}
	return m
}

// register registers c or returns the identical collector registered
// before. A conflicting registration is a programming error and panics like
// MustRegister.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing
		}
	}
	panic(err)
}

func (m *Metrics) observeRequest(op string, status int, d time.Duration) {
	if m == nil {
		return
	}
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.requests.WithLabelValues(op, code).Inc()
	m.duration.WithLabelValues(op).Observe(d.Seconds())
}

func (m *Metrics) observeLogin(err error) {
	if m == nil {
		return
	}
	result := "success"
	if err != nil {
		result = "failure"
	}
	m.logins.WithLabelValues(result).Inc()
}
