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

// Package metricsauth lets through to the metrics endpoint only callers the
// API server vouches for: their bearer token passes a TokenReview and a
// SubjectAccessReview allows them GET on the URL's path, as for any
// non-resource URL of Kubernetes (bind the ClusterRole that grants GET on
// /metrics to Prometheus's ServiceAccount).
//
// It does what controller-runtime's metrics filters do, in a few dozen
// lines over the typed clients the manager already links: those filters
// pull in k8s.io/apiserver, which grows the binary by more than half and
// the memory of every manager at start by as much.
package metricsauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/globalsign/atlas-issuer/internal/ttlcache"
)

const (
	// allowTTL and denyTTL are how long a decision on one token and path is
	// reused; a scrape every minute then costs the API server two reviews
	// a minute at most, and a caller who guesses tokens gets no more
	// reviews than there are distinct guesses the cache holds.
	allowTTL = time.Minute
	denyTTL  = 10 * time.Second
	// cacheSize bounds the decisions kept.
	cacheSize = 256
	// reviewTimeout bounds one decision, so a slow API server cannot pile
	// up scrapes.
	reviewTimeout = 10 * time.Second
)

// Reviewer decides whether a bearer token may GET a path.
type Reviewer interface {
	// Review returns the HTTP status for the caller: 200, 401 or 403.
	Review(ctx context.Context, token, path string) (int, error)
}

// APIReviewer asks the API server with a TokenReview and a
// SubjectAccessReview.
type APIReviewer struct {
	Authn authnclient.TokenReviewInterface
	Authz authzclient.SubjectAccessReviewInterface
}

// Review implements Reviewer.
func (r APIReviewer) Review(ctx context.Context, token, path string) (int, error) {
	tr, err := r.Authn.Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return 0, fmt.Errorf("token review: %w", err)
	}
	if !tr.Status.Authenticated {
		return http.StatusUnauthorized, nil
	}
	u := tr.Status.User
	extra := make(map[string]authzv1.ExtraValue, len(u.Extra))
	for k, v := range u.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := r.Authz.Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: u.Username, UID: u.UID, Groups: u.Groups, Extra: extra,
		NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: "get"},
	}}, metav1.CreateOptions{})
	if err != nil {
		return 0, fmt.Errorf("subject access review for %s: %w", u.Username, err)
	}
	if !sar.Status.Allowed {
		return http.StatusForbidden, nil
	}
	return http.StatusOK, nil
}

// decisionKey identifies a decision without keeping the token itself.
type decisionKey struct {
	token [sha256.Size]byte
	path  string
}

// Filter wraps handlers with the review of Reviewer, caching decisions.
type Filter struct {
	reviewer  Reviewer
	decisions *ttlcache.Cache[decisionKey, int]
}

// NewFilter returns a Filter over r.
func NewFilter(r Reviewer, clk clock.PassiveClock) *Filter {
	return &Filter{reviewer: r, decisions: ttlcache.New[decisionKey, int](cacheSize, time.Minute, clk)}
}

// Provider is the metrics server's FilterProvider: it builds a Filter that
// reviews with the manager's own client configuration.
func Provider(cfg *rest.Config, hc *http.Client) (metricsserver.Filter, error) {
	authn, err := authnclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("authentication client: %w", err)
	}
	authz, err := authzclient.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("authorization client: %w", err)
	}
	f := NewFilter(APIReviewer{Authn: authn.TokenReviews(), Authz: authz.SubjectAccessReviews()}, clock.RealClock{})
	return f.Wrap, nil
}

// Wrap is a metricsserver.Filter.
func (f *Filter) Wrap(log logr.Logger, next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := bearer(req.Header.Get("Authorization"))
		if !ok {
			http.Error(w, "Unauthorized: send a ServiceAccount token as a bearer token", http.StatusUnauthorized)
			return
		}
		code, err := f.decide(req.Context(), token, req.URL.Path)
		if err != nil {
			// The error names the API call and the user, never the token.
			log.Error(err, "cannot review a metrics request")
			http.Error(w, "Internal Server Error: the API server could not review the request", http.StatusInternalServerError)
			return
		}
		switch code {
		case http.StatusOK:
			next.ServeHTTP(w, req)
		case http.StatusUnauthorized:
			http.Error(w, "Unauthorized: the API server does not accept this token", code)
		default:
			http.Error(w, fmt.Sprintf("Forbidden: the caller may not get %s", req.URL.Path), http.StatusForbidden)
		}
	}), nil
}

func (f *Filter) decide(ctx context.Context, token, path string) (int, error) {
	key := decisionKey{token: sha256.Sum256([]byte(token)), path: path}
	if code, ok := f.decisions.Get(key); ok {
		return code, nil
	}
	ctx, cancel := context.WithTimeout(ctx, reviewTimeout)
	defer cancel()
	code, err := f.reviewer.Review(ctx, token, path)
	if err != nil {
		return 0, err
	}
	ttl := denyTTL
	if code == http.StatusOK {
		ttl = allowTTL
	}
	f.decisions.Set(key, code, ttl)
	return code, nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
