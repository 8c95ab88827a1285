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

package credentials

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// Endpoint is where an issuer's Atlas account is served.
type Endpoint struct {
	URL      string
	CABundle []byte
}

type cacheKey struct {
	uid types.UID
	url string
	ca  [sha256.Size]byte
}

type entry struct {
	resourceVersion string
	client          *atlas.Client
	creds           *Credentials
}

// Cache holds one atlas.Client per Secret and endpoint, replaced when the
// Secret's resourceVersion changes. Sharing the client is what keeps logins
// to one per token lifetime instead of one per request.
type Cache struct {
	// Base is copied into every client's configuration; its URL,
	// credentials and RootCAs are overwritten.
	Base atlas.Config

	mu      sync.Mutex
	entries map[cacheKey]*entry
}

// NewCache returns an empty cache whose clients start from base.
func NewCache(base atlas.Config) *Cache {
	return &Cache{Base: base, entries: map[cacheKey]*entry{}}
}

func keyFor(uid types.UID, ep Endpoint) cacheKey {
	return cacheKey{uid: uid, url: ep.URL, ca: sha256.Sum256(ep.CABundle)}
}

// lookup returns the cached client for this exact Secret version.
func (c *Cache) lookup(uid types.UID, resourceVersion string, ep Endpoint) (*atlas.Client, *Credentials, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[keyFor(uid, ep)]
	if !ok || e.resourceVersion != resourceVersion {
		return nil, nil, false
	}
	return e.client, e.creds, true
}

// Client returns the client for a Secret, building and caching one when the
// Secret is new or has changed.
func (c *Cache) Client(secret *corev1.Secret, ep Endpoint, now time.Time) (*atlas.Client, *Credentials, error) {
	if cl, creds, ok := c.lookup(secret.UID, secret.ResourceVersion, ep); ok {
		return cl, creds, nil
	}
	creds, err := Parse(secret, now)
	if err != nil {
		return nil, nil, err
	}
	roots, err := parseCABundle(ep.CABundle)
	if err != nil {
		return nil, nil, err
	}
	cfg := c.Base
	cfg.URL = ep.URL
	cfg.APIKey = creds.APIKey
	cfg.APISecret = creds.APISecret
	cfg.ClientCertificate = creds.ClientCertificate
	cfg.RootCAs = roots
	cl, err := atlas.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("atlas client for %s: %w", ep.URL, err)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	key := keyFor(secret.UID, ep)
	if old, ok := c.entries[key]; ok {
		if old.resourceVersion == secret.ResourceVersion {
			// Another reconcile built the same client first: keep one.
			cl.CloseIdleConnections()
			return old.client, old.creds, nil
		}
		// The Secret changed: the old client's pooled connections carry
		// the old mTLS certificate and are of no further use.
		old.client.CloseIdleConnections()
	}
	c.entries[key] = &entry{resourceVersion: secret.ResourceVersion, client: cl, creds: creds}
	return cl, creds, nil
}

// Loader reads an issuer's Secret and returns its cached client. It reads
// the Secret's metadata from a metadata-only cache, so the manager never
// holds every Secret of the cluster in memory, and fetches the data from the
// API server only when the Secret changed.
type Loader struct {
	Cache *Cache
	// Metadata reads metav1.PartialObjectMetadata for Secrets; nil means
	// every call reads the full Secret from API.
	Metadata client.Reader
	// API reads full Secrets, uncached.
	API client.Reader
	// Namespaces, when not empty, are the only namespaces the controller
	// may read Secrets in (the chart's least-privilege mode).
	Namespaces map[string]bool
	// Clock is the time for credential expiry; nil means the real clock.
	Clock clock.PassiveClock
}

// Load returns the client for the Secret key and the endpoint.
func (l *Loader) Load(ctx context.Context, key types.NamespacedName, ep Endpoint) (*atlas.Client, *Credentials, error) {
	var clk clock.PassiveClock = clock.RealClock{}
	if l.Clock != nil {
		clk = l.Clock
	}
	now := clk.Now
	if len(l.Namespaces) > 0 && !l.Namespaces[key.Namespace] {
		return nil, nil, &Error{Reason: ReasonSecretNotAllowed, Secret: key.String(),
			Detail: "the controller may read Secrets only in " + strings.Join(slices.Sorted(maps.Keys(l.Namespaces)), ", ") +
				"; add this namespace to the chart's secrets.namespaces (--secret-namespaces)"}
	}
	if l.Metadata != nil {
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		if err := l.Metadata.Get(ctx, key, meta); err == nil {
			if cl, creds, ok := l.Cache.lookup(meta.UID, meta.ResourceVersion, ep); ok {
				return cl, creds, nil
			}
		}
	}
	secret := &corev1.Secret{}
	if err := l.API.Get(quiet(ctx), key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, &Error{Reason: ReasonSecretNotFound, Secret: key.String(), Detail: "does not exist", Err: err}
		}
		if apierrors.IsForbidden(err) {
			return nil, nil, &Error{Reason: ReasonSecretNotAllowed, Secret: key.String(), Detail: "the controller's RBAC does not let it read this Secret", Err: err}
		}
		return nil, nil, fmt.Errorf("get secret %s: %w", key, err)
	}
	return l.Cache.Client(secret, ep, now())
}
