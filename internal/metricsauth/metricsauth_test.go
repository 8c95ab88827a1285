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

package metricsauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeReviewer answers from a table of token -> status and counts reviews.
type fakeReviewer struct {
	mu      sync.Mutex
	answers map[string]int
	err     error
	reviews int
}

func (f *fakeReviewer) Review(_ context.Context, token, _ string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reviews++
	if f.err != nil {
		return 0, f.err
	}
	if code, ok := f.answers[token]; ok {
		return code, nil
	}
	return http.StatusUnauthorized, nil
}

func serve(t *testing.T, f *Filter, log logr.Logger, header string) *httptest.ResponseRecorder {
	t.Helper()
	h, err := f.Wrap(log, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "metric 1\n")
	}))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFilterDecides(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, header string
		want         int
		reviews      int
	}{
		{"no header", "", http.StatusUnauthorized, 0},
		{"basic auth", "Basic dXNlcjpwYXNz", http.StatusUnauthorized, 0},
		{"empty bearer", "Bearer ", http.StatusUnauthorized, 0},
		{"unknown token", "Bearer nobody", http.StatusUnauthorized, 1},
		{"authenticated, not authorized", "Bearer reader-less", http.StatusForbidden, 1},
		{"authorized", "Bearer prometheus", http.StatusOK, 1},
		{"scheme in lower case", "bearer prometheus", http.StatusOK, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &fakeReviewer{answers: map[string]int{"prometheus": http.StatusOK, "reader-less": http.StatusForbidden}}
			rec := serve(t, NewFilter(r, clocktesting.NewFakePassiveClock(time.Now())), logr.Discard(), tc.header)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d (%s)", rec.Code, tc.want, rec.Body)
			}
			if (rec.Code == http.StatusOK) != strings.Contains(rec.Body.String(), "metric 1") {
				t.Errorf("body %q with status %d", rec.Body, rec.Code)
			}
			if r.reviews != tc.reviews {
				t.Errorf("%d reviews, want %d", r.reviews, tc.reviews)
			}
		})
	}
}

func TestFilterCachesDecisions(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakePassiveClock(time.Now())
	r := &fakeReviewer{answers: map[string]int{"prometheus": http.StatusOK}}
	f := NewFilter(r, clk)
	for range 3 {
		serve(t, f, logr.Discard(), "Bearer prometheus")
		serve(t, f, logr.Discard(), "Bearer guess")
	}
	if r.reviews != 2 {
		t.Fatalf("%d reviews for two tokens scraped three times, want 2", r.reviews)
	}
	// A denial is reconsidered sooner than an approval: a token may just
	// have been bound to the reader role.
	clk.SetTime(clk.Now().Add(denyTTL))
	serve(t, f, logr.Discard(), "Bearer prometheus")
	serve(t, f, logr.Discard(), "Bearer guess")
	if r.reviews != 3 {
		t.Fatalf("%d reviews after the denial expired, want 3", r.reviews)
	}
	clk.SetTime(clk.Now().Add(allowTTL))
	serve(t, f, logr.Discard(), "Bearer prometheus")
	if r.reviews != 4 {
		t.Fatalf("%d reviews after the approval expired, want 4", r.reviews)
	}
}

func TestFilterReviewErrorHidesToken(t *testing.T) {
	t.Parallel()
	var logged strings.Builder
	log := funcr.New(func(prefix, args string) { logged.WriteString(prefix + args + "\n") }, funcr.Options{})
	r := &fakeReviewer{err: errors.New("token review: connection refused")}
	rec := serve(t, NewFilter(r, clocktesting.NewFakePassiveClock(time.Now())), log, "Bearer s3cr3t-token")
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	if !strings.Contains(logged.String(), "connection refused") {
		t.Errorf("the log does not say why: %q", logged.String())
	}
	if strings.Contains(logged.String()+rec.Body.String(), "s3cr3t-token") {
		t.Errorf("the token leaked: log %q, body %q", logged.String(), rec.Body)
	}
	// Errors are not cached: the next scrape asks again.
	serve(t, NewFilter(r, clocktesting.NewFakePassiveClock(time.Now())), log, "Bearer s3cr3t-token")
	if r.reviews != 2 {
		t.Errorf("%d reviews, want 2", r.reviews)
	}
}

// fakeAPIServer answers TokenReviews and SubjectAccessReviews the way the
// API server does and records what it was asked.
type fakeAPIServer struct {
	mu   sync.Mutex
	sars []authzv1.SubjectAccessReviewSpec
}

func (s *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/apis/authentication.k8s.io/v1/tokenreviews":
		var tr authnv1.TokenReview
		_ = json.NewDecoder(r.Body).Decode(&tr)
		if tr.Spec.Token == "sa-token" {
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{
				Username: "system:serviceaccount:monitoring:prometheus", UID: "u-1",
				Groups: []string{"system:serviceaccounts"}, Extra: map[string]authnv1.ExtraValue{"k": {"v"}},
			}}
		}
		_ = json.NewEncoder(w).Encode(tr)
	case "/apis/authorization.k8s.io/v1/subjectaccessreviews":
		var sar authzv1.SubjectAccessReview
		_ = json.NewDecoder(r.Body).Decode(&sar)
		s.sars = append(s.sars, sar.Spec)
		sar.Status.Allowed = sar.Spec.NonResourceAttributes != nil && sar.Spec.NonResourceAttributes.Path == "/metrics"
		_ = json.NewEncoder(w).Encode(sar)
	default:
		http.NotFound(w, r)
	}
}

func TestAPIReviewer(t *testing.T) {
	t.Parallel()
	api := &fakeAPIServer{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	// The fake speaks JSON; the API server also speaks protobuf, the
	// typed clients' default.
	cfg := &rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{ContentType: "application/json"}}
	authn, err := authnclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	authz, err := authzclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := APIReviewer{Authn: authn.TokenReviews(), Authz: authz.SubjectAccessReviews()}
	for _, tc := range []struct {
		token, path string
		want        int
	}{
		{"sa-token", "/metrics", http.StatusOK},
		{"sa-token", "/debug/pprof/", http.StatusForbidden},
		{"forged", "/metrics", http.StatusUnauthorized},
	} {
		got, err := r.Review(context.Background(), tc.token, tc.path)
		if err != nil || got != tc.want {
			t.Errorf("Review(%s, %s) = %d, %v; want %d", tc.token, tc.path, got, err, tc.want)
		}
	}
	if len(api.sars) != 2 {
		t.Fatalf("%d SubjectAccessReviews, want 2 (none for an unauthenticated token)", len(api.sars))
	}
	sar := api.sars[0]
	if sar.User != "system:serviceaccount:monitoring:prometheus" || sar.UID != "u-1" || len(sar.Groups) != 1 ||
		sar.Extra["k"][0] != "v" || sar.NonResourceAttributes.Verb != "get" || sar.ResourceAttributes != nil {
		t.Errorf("SubjectAccessReview asked %+v", sar)
	}
}
