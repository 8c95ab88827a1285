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

package controllers

import (
	"crypto/tls"

	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/globalsign/atlas-issuer/internal/metricsauth"
)

// MetricsOptions says how the Prometheus endpoint is served.
type MetricsOptions struct {
	// BindAddress is where the endpoint listens; "0" turns it off.
	BindAddress string
	// Secure serves HTTPS and lets through only callers whose bearer token
	// the API server authenticates (TokenReview) and authorizes for GET on
	// the non-resource URL /metrics (SubjectAccessReview). Without it the
	// endpoint is plain HTTP and open to anyone who reaches the port.
	Secure bool
	// CertDir holds tls.crt and tls.key, reloaded when they change. Empty,
	// or files missing: a self-signed certificate made at start, which
	// scrapers then cannot verify.
	CertDir string
}

// The authentication and authorization filter of a secure endpoint asks
// the API server about every scrape:
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// ServerOptions are controller-runtime's metrics server options for o.
func (o MetricsOptions) ServerOptions() metricsserver.Options {
	opts := metricsserver.Options{BindAddress: o.BindAddress}
	if !o.Secure {
		return opts
	}
	opts.SecureServing = true
	opts.FilterProvider = metricsauth.Provider
	opts.CertDir = o.CertDir
	// HTTP/1.1 only: HTTP/2's stream handling has been the way to exhaust
	// servers (CVE-2023-44487, CVE-2023-39325), and a scrape gains nothing
	// from it.
	opts.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}
	return opts
}
