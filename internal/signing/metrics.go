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

package signing

import (
	"errors"
	"time"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the issuer's own Prometheus series. A nil *Metrics records
// nothing.
type Metrics struct {
	issuance        *prometheus.CounterVec
	issuanceSeconds *prometheus.HistogramVec
	ready           *prometheus.GaugeVec
	quota           *prometheus.GaugeVec
	credsExpiry     *prometheus.GaugeVec
	signInFlight    prometheus.Gauge
	signWaiting     prometheus.Gauge
}

// NewMetrics registers the issuer metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		issuance: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "atlas_issuer_sign_total",
			Help: "Sign attempts by issuer kind and outcome (issued, pending, failed, issuer_error, retry).",
		}, []string{"kind", "outcome"}),
		issuanceSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "atlas_issuer_issuance_duration_seconds",
			Help:    "Seconds from request creation to the certificate being returned.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"kind"}),
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "atlas_issuer_ready",
			Help: "1 when the issuer's last check succeeded, 0 otherwise.",
		}, []string{"kind", "namespace", "name"}),
		quota: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "atlas_issuer_quota_remaining",
			Help: "Remaining Atlas issuance quota at the last check.",
		}, []string{"kind", "namespace", "name"}),
		credsExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "atlas_issuer_credentials_expiry_timestamp_seconds",
			Help: "When the issuer's mTLS client certificate expires (UNIX seconds).",
		}, []string{"kind", "namespace", "name"}),
		signInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "atlas_issuer_sign_in_flight",
			Help: "Atlas slots held now (at most --max-concurrent-requests): by requests being signed, or granted to a request in line that has yet to take it.",
		}),
		signWaiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "atlas_issuer_sign_waiting",
			Help: "Requests in line for one of the --max-concurrent-requests Atlas slots.",
		}),
	}
	for _, c := range []prometheus.Collector{m.issuance, m.issuanceSeconds, m.ready, m.quota, m.credsExpiry, m.signInFlight, m.signWaiting} {
		reg.MustRegister(c)
	}
	return m
}

func issuerLabels(iss Issuer) prometheus.Labels {
	ns := ""
	if iss.Kind == "AtlasIssuer" {
		ns = iss.Secret.Namespace
	}
	return prometheus.Labels{"kind": iss.Kind, "namespace": ns, "name": iss.Name}
}

func (m *Metrics) observeSign(iss Issuer, err error, created, start, end time.Time) {
	if m == nil {
		return
	}
	outcome := "retry"
	switch {
	case err == nil:
		outcome = "issued"
		if !created.IsZero() {
			m.issuanceSeconds.WithLabelValues(iss.Kind).Observe(end.Sub(created).Seconds())
		}
	case errors.As(err, &signer.PendingError{}):
		outcome = "pending"
	case errors.As(err, &signer.PermanentError{}):
		outcome = "failed"
	case errors.As(err, &signer.IssuerError{}):
		outcome = "issuer_error"
	}
	m.issuance.WithLabelValues(iss.Kind, outcome).Inc()
}

func (m *Metrics) observeCheck(iss Issuer, h Health, err error) {
	if m == nil {
		return
	}
	l := issuerLabels(iss)
	ready := 0.0
	if err == nil {
		ready = 1
	}
	m.ready.With(l).Set(ready)
	if h.Quota != nil {
		m.quota.With(l).Set(float64(*h.Quota))
	}
	if !h.CredentialsNotAfter.IsZero() {
		m.credsExpiry.With(l).Set(float64(h.CredentialsNotAfter.Unix()))
	}
}

// forget deletes the issuer's series.
func (m *Metrics) forget(ref IssuerRef) {
	if m == nil {
		return
	}
	for _, v := range []*prometheus.GaugeVec{m.ready, m.quota, m.credsExpiry} {
		v.DeleteLabelValues(ref.Kind, ref.Namespace, ref.Name)
	}
}

func (m *Metrics) inFlight(d float64) {
	if m != nil {
		m.signInFlight.Add(d)
	}
}

func (m *Metrics) waiting(d float64) {
	if m != nil {
		m.signWaiting.Add(d)
	}
}
