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
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/ttlcache"
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
	secret          types.NamespacedName
	resourceVersion string
	client          *atlas.Client
	creds           *Credentials
}

// secretVersion names one version of one Secret.
type secretVersion struct {
	uid             types.UID
	resourceVersion string
}

// parsed is the outcome of parsing one Secret version, kept whether it
// failed or not: a Secret's data cannot change without a new version.
type parsed struct {
	secret types.NamespacedName
	creds  *Credentials
	err    error
}

// Bounds of the cache. A tenant may create as many Secrets and issuers as
// its quota allows; past these bounds the least recently used entries go,
// which costs their next use a parse and a login, never a wrong answer.
// An entry not used for cacheTTL goes too: its issuer is likely gone.
const (
	maxClients = 4096
	maxParsed  = 4096
	cacheTTL   = 24 * time.Hour
)

// Cache holds one atlas.Client per Secret and endpoint, replaced when the
// Secret's resourceVersion changes. Sharing the client is what keeps logins
// to one per token lifetime instead of one per request. It also keeps the
// outcome of parsing each Secret version, so that a Secret that cannot be
// used is parsed (and its key decrypted) once, not once per reconcile, and
// concurrent loads of one version share one parse.
type Cache struct {
	// Base is copied into every client's configuration; its URL,
	// credentials and RootCAs are overwritten.
	Base atlas.Config

	clients *ttlcache.Cache[cacheKey, *entry]
	parsed  *ttlcache.Cache[secretVersion, parsed]
	parses  singleflight.Group
	// parseSecret parses a Secret; tests count and hold the calls.
	parseSecret func(*corev1.Secret) (*Credentials, error)
	// aboutToParse, when set, runs when a load has missed the kept
	// outcomes and is about to parse; tests hold loads there.
	aboutToParse func()
}

// NewCache returns an empty cache whose clients start from base. Its
// entries age by base.Clock (the real clock when nil).
func NewCache(base atlas.Config) *Cache {
	return newCache(base, maxClients, maxParsed)
}

func newCache(base atlas.Config, clients, versions int) *Cache {
	var clk clock.PassiveClock = clock.RealClock{}
	if base.Clock != nil {
		clk = base.Clock
	}
	return &Cache{
		Base:        base,
		clients:     ttlcache.New[cacheKey, *entry](clients, time.Hour, clk),
		parsed:      ttlcache.New[secretVersion, parsed](versions, time.Hour, clk),
		parseSecret: parse,
	}
}

func keyFor(uid types.UID, ep Endpoint) cacheKey {
	return cacheKey{uid: uid, url: ep.URL, ca: sha256.Sum256(ep.CABundle)}
}

// lookup returns the cached client for this exact Secret version.
func (c *Cache) lookup(uid types.UID, resourceVersion string, ep Endpoint) (*atlas.Client, *Credentials, bool) {
	e, ok := c.clients.Get(keyFor(uid, ep))
	if !ok || e.resourceVersion != resourceVersion {
		return nil, nil, false
	}
	return e.client, e.creds, true
}

// knownFailure returns the error this Secret version failed to parse with,
// if it did.
func (c *Cache) knownFailure(uid types.UID, resourceVersion string) error {
	if p, ok := c.parsed.Get(secretVersion{uid, resourceVersion}); ok {
		return p.err
	}
	return nil
}

// parse parses a Secret version once: later and concurrent calls for the
// same version share the outcome.
func (c *Cache) parse(secret *corev1.Secret) (*Credentials, error) {
	v := secretVersion{secret.UID, secret.ResourceVersion}
	if p, ok := c.parsed.Get(v); ok {
		return p.creds, p.err
	}
	if c.aboutToParse != nil {
		c.aboutToParse()
	}
	out, _, _ := c.parses.Do(string(v.uid)+"/"+v.resourceVersion, func() (any, error) {
		// A load that missed just before another's parse ended finds
		// its outcome here.
		if p, ok := c.parsed.Get(v); ok {
			return p, nil
		}
		creds, err := c.parseSecret(secret)
		p := parsed{secret: client.ObjectKeyFromObject(secret), creds: creds, err: err}
		c.parsed.Set(v, p, cacheTTL)
		return p, nil
	})
	p := out.(parsed)
	return p.creds, p.err
}

// Client returns the client for a Secret, building and caching one when the
// Secret is new or has changed.
func (c *Cache) Client(secret *corev1.Secret, ep Endpoint, now time.Time) (*atlas.Client, *Credentials, error) {
	if cl, creds, ok := c.lookup(secret.UID, secret.ResourceVersion, ep); ok {
		return cl, creds, nil
	}
	creds, err := c.parse(secret)
	if err != nil {
		return nil, nil, err
	}
	if err := creds.validAt(now); err != nil {
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

	key := keyFor(secret.UID, ep)
	// The check and the replacement are not one step: two reconciles that
	// both missed may each store a client, and the later one wins. Either
	// works; the loser's pool closes when idle.
	if old, ok := c.clients.Get(key); ok {
		if old.resourceVersion == secret.ResourceVersion {
			// Another reconcile built the same client first: keep one.
			cl.CloseIdleConnections()
			return old.client, old.creds, nil
		}
		// The Secret changed: the old client's pooled connections carry
		// the old mTLS certificate and are of no further use.
		old.client.CloseIdleConnections()
	}
	c.clients.Set(key, &entry{secret: client.ObjectKeyFromObject(secret), resourceVersion: secret.ResourceVersion, client: cl, creds: creds}, cacheTTL)
	return cl, creds, nil
}

// ForgetSecret drops what is kept for the Secret's versions other than
// keep (every version when keep is empty): their clients, with their
// tokens and connections, and their parsed credentials, decrypted keys
// included. It returns the dropped clients, so that what others keep per
// client can go too. Call it when the Secret changes (keep is the new
// resourceVersion, whose client a reconcile may already have built) or is
// deleted.
func (c *Cache) ForgetSecret(key types.NamespacedName, keep string) []*atlas.Client {
	var dropped []*atlas.Client
	c.clients.DeleteFunc(func(_ cacheKey, e *entry) bool {
		if e.secret != key || keep != "" && e.resourceVersion == keep {
			return false
		}
		dropped = append(dropped, e.client)
		return true
	})
	for _, cl := range dropped {
		cl.CloseIdleConnections()
	}
	c.parsed.DeleteFunc(func(v secretVersion, p parsed) bool {
		return p.secret == key && (keep == "" || v.resourceVersion != keep)
	})
	return dropped
}

// ForgetClient drops the client for the Secret and endpoint, and reports
// which client it dropped (nil when there was none). Call it when the last
// issuer using that pair is deleted or points elsewhere.
func (c *Cache) ForgetClient(key types.NamespacedName, ep Endpoint) *atlas.Client {
	var dropped *atlas.Client
	url, ca := ep.URL, sha256.Sum256(ep.CABundle)
	c.clients.DeleteFunc(func(k cacheKey, e *entry) bool {
		if e.secret != key || k.url != url || k.ca != ca {
			return false
		}
		dropped = e.client
		return true
	})
	if dropped != nil {
		dropped.CloseIdleConnections()
	}
	return dropped
}

// Len returns how many clients and parsed Secret versions the cache holds.
func (c *Cache) Len() (clients, parsedVersions int) {
	return c.clients.Len(), c.parsed.Len()
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
			// A version that failed to parse fails again without a read.
			if err := l.Cache.knownFailure(meta.UID, meta.ResourceVersion); err != nil {
				return nil, nil, err
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
