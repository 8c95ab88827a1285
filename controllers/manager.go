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
	"errors"
	"fmt"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// Options are the controller settings. main.go takes them from its flags,
// which hold every default; Validate holds every rule, and no setting has
// a zero value that stands for a default.
type Options struct {
	// ClusterResourceNamespace holds AtlasClusterIssuer Secrets.
	ClusterResourceNamespace string
	// SecretNamespaces, when not empty, are the only namespaces the
	// controller may read Secrets in (the chart's least-privilege mode);
	// ClusterResourceNamespace is always one of them.
	SecretNamespaces []string
	// MaxConcurrentRequests is the number of requests signed against Atlas
	// at once (the signing.Limiter holds that bound). The CertificateRequest
	// and CSR reconcilers each get twice as many workers, so that a request
	// granted a slot finds a worker while others write their status.
	MaxConcurrentRequests int
	// MaxRetryDuration is how long a request is retried on plain errors
	// before it fails.
	MaxRetryDuration time.Duration
	// RecheckInterval re-runs Check on every issuer, since issuer-lib runs
	// it only on spec or annotation changes: quota and expiry drift.
	// Zero disables it.
	RecheckInterval time.Duration
	// AtlasTimeout bounds one HTTP call to Atlas.
	AtlasTimeout time.Duration
	// LookupGrace is how long after a restart a request submitted before
	// it is looked for in Atlas before it is submitted again.
	LookupGrace time.Duration
	// ResubmitUndecidedAfter, when positive, lets a request whose restart
	// lookup cannot decide be submitted anew once that long has passed
	// since its intent, with a warning event; zero keeps it waiting.
	ResubmitUndecidedAfter time.Duration
	// IssuerShare is the share of the MaxConcurrentRequests slots the
	// AtlasIssuers of one namespace, or one AtlasClusterIssuer, may hold,
	// in (0, 1].
	IssuerShare float64
	// SignTimeout and CheckTimeout bound one Sign and one issuer Check.
	SignTimeout, CheckTimeout time.Duration
	// IssuerWorkers is the number of issuers checked at once per issuer
	// kind, so that one issuer whose Atlas does not answer delays no
	// other's check.
	IssuerWorkers int
	// AllowedAtlasURLs is the comma-separated list of Atlas URLs issuers
	// may point at (atlas.ParseURLAllowlist). No credential is sent to any
	// other URL.
	AllowedAtlasURLs string
}

// Validate reports every setting the controllers cannot run with, each
// named by its flag.
func (o Options) Validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(o.ClusterResourceNamespace == "", "--cluster-resource-namespace must be set")
	check(o.MaxConcurrentRequests < 1, "--max-concurrent-requests must be at least 1, got %d", o.MaxConcurrentRequests)
	check(o.MaxRetryDuration <= 0, "--max-retry-duration must be positive, got %s", o.MaxRetryDuration)
	check(o.RecheckInterval < 0, "--issuer-recheck-interval must not be negative, got %s", o.RecheckInterval)
	check(o.AtlasTimeout <= 0, "--atlas-timeout must be positive, got %s", o.AtlasTimeout)
	check(o.LookupGrace < 0, "--lookup-grace must not be negative, got %s", o.LookupGrace)
	check(o.ResubmitUndecidedAfter < 0 || (o.ResubmitUndecidedAfter > 0 && o.ResubmitUndecidedAfter < o.LookupGrace),
		"--resubmit-undecided-after must be 0 (never) or at least the lookup grace (%s), got %s", o.LookupGrace, o.ResubmitUndecidedAfter)
	check(!(o.IssuerShare > 0 && o.IssuerShare <= 1), "--max-issuer-share must be in (0, 1], got %g", o.IssuerShare)
	check(o.SignTimeout <= 0, "--sign-timeout must be positive, got %s", o.SignTimeout)
	check(o.CheckTimeout <= 0, "--check-timeout must be positive, got %s", o.CheckTimeout)
	check(o.IssuerWorkers < 1, "--issuer-check-workers must be at least 1, got %d", o.IssuerWorkers)
	if _, err := o.allowedURLs(); err != nil {
		errs = append(errs, fmt.Errorf("--allowed-atlas-urls: %w", err))
	}
	return errors.Join(errs...)
}

// allowedURLs parses AllowedAtlasURLs.
func (o Options) allowedURLs() (*atlas.URLAllowlist, error) {
	return atlas.ParseURLAllowlist(o.AllowedAtlasURLs)
}

// secretNamespaces is the set of namespaces Secrets may be read in, nil
// when every namespace is allowed.
func (o Options) secretNamespaces() map[string]bool {
	allowed := map[string]bool{}
	for _, ns := range o.SecretNamespaces {
		if ns = strings.TrimSpace(ns); ns != "" {
			allowed[ns] = true
		}
	}
	if len(allowed) == 0 {
		return nil
	}
	allowed[o.ClusterResourceNamespace] = true
	return allowed
}

// NewScheme returns a scheme with every kind the controllers read.
func NewScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, cmapi.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

// ManagerOptions returns the manager options the controllers depend on:
// the scheme, the shape of the cache and the uncached Secrets. The caller
// adds the process's own settings (listen addresses, leader election).
func (o Options) ManagerOptions() (ctrl.Options, error) {
	scheme, err := NewScheme()
	if err != nil {
		return ctrl.Options{}, err
	}
	cacheOpts, err := o.cacheOptions()
	if err != nil {
		return ctrl.Options{}, err
	}
	return ctrl.Options{
		Scheme: scheme,
		Cache:  cacheOpts,
		// Requests are cached apart so that issuers are checked without
		// waiting for every request in the cluster to be listed.
		NewCache: requestsApart(),
		// Secret data is read uncached, on demand; only Secret metadata is
		// watched. This keeps memory flat however many Secrets exist.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	}, nil
}

func (o Options) cacheOptions() (cache.Options, error) {
	opts := cache.Options{
		// managedFields and kubectl's last-applied-configuration are never
		// read here; the latter holds a Secret's data (see stripUnread).
		DefaultTransform: stripUnread,
		ByObject: map[client.Object]cache.ByObject{
			// Settled CertificateRequests and other issuers' are cached
			// with little more than their name and version (see
			// trimRequests): they are most of the manager's memory in a
			// cluster with thousands of requests.
			&cmapi.CertificateRequest{}: {Transform: trimRequests},
			// Other signers' CSRs, likewise (see trimSigningRequests).
			&certificatesv1.CertificateSigningRequest{}: {Transform: trimSigningRequests},
		},
	}
	// Scopes the metadata-only Secret watch, which is keyed by the same
	// kind.
	selector, err := notManagedByCertManager()
	if err != nil {
		return cache.Options{}, err
	}
	secrets := cache.ByObject{Label: selector}
	if allowed := o.secretNamespaces(); allowed != nil {
		secrets.Namespaces = map[string]cache.Config{}
		for ns := range allowed {
			secrets.Namespaces[ns] = cache.Config{}
		}
	}
	opts.ByObject[&corev1.Secret{}] = secrets
	return opts, nil
}

// notManagedByCertManager selects the Secrets the controller watches: all
// but those carrying cert-manager's label for the Secrets it manages (the
// issued certificates' Secrets and their next private keys). In a cluster
// with many certificates those are nearly every Secret and nearly every
// Secret event, four or five per issuance, and no Atlas credential is one
// of them. A credentials Secret that carries the label anyway still works:
// it is read from the API server at every use, and Check warns about it
// (see warnUnwatchedSecret).
func notManagedByCertManager() (labels.Selector, error) {
	r, err := labels.NewRequirement(cmapi.PartOfCertManagerControllerLabelKey, selection.NotEquals, []string{"true"})
	if err != nil {
		return nil, err
	}
	return labels.NewSelector().Add(*r), nil
}
