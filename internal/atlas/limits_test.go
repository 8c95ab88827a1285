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
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// limitCases call every operation of the client, each with the cap its
// answer must respect.
var limitCases = []struct {
	op    string
	limit int64
	call  func(ctx context.Context, c *atlas.Client) error
}{
	{"Login", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error { return c.Login(ctx) }},
	{"CountIssued", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error { _, err := c.CountIssued(ctx); return err }},
	{"CountRevoked", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error { _, err := c.CountRevoked(ctx); return err }},
	{"Quota", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error { _, err := c.Quota(ctx); return err }},
	{"StatsIssued", atlas.LimitPage, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.StatsIssued(ctx, atlas.StatsQuery{})
		return err
	}},
	{"StatsRevoked", atlas.LimitPage, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.StatsRevoked(ctx, atlas.StatsQuery{})
		return err
	}},
	{"StatsExpiring", atlas.LimitPage, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.StatsExpiring(ctx, atlas.StatsQuery{})
		return err
	}},
	{"RequestCertificate", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.RequestCertificate(ctx, &atlas.CertificateRequest{})
		return err
	}},
	{"RetrieveCertificate", atlas.LimitCertificate, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.RetrieveCertificate(ctx, "01")
		return err
	}},
	{"RevokeCertificate", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error {
		return c.RevokeCertificate(ctx, "01", atlas.RevokeRequest{})
	}},
	{"RevokeCertificateDeprecated", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error {
		return c.RevokeCertificateDeprecated(ctx, "01")
	}},
	{"RekeyCertificate", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.RekeyCertificate(ctx, "01", atlas.RekeyRequest{})
		return err
	}},
	{"TrustChain", atlas.LimitTrustChain, func(ctx context.Context, c *atlas.Client) error { _, err := c.TrustChain(ctx); return err }},
	{"ValidationPolicy", atlas.LimitPolicy, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.ValidationPolicy(ctx)
		return err
	}},
	{"ListClaims", atlas.LimitPage, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.ListClaims(ctx, atlas.ClaimsQuery{})
		return err
	}},
	{"SubmitClaim", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.SubmitClaim(ctx, "example.com")
		return err
	}},
	{"RetrieveClaim", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error { _, err := c.RetrieveClaim(ctx, "c1"); return err }},
	{"DeleteClaim", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error { return c.DeleteClaim(ctx, "c1") }},
	{"ClaimDNSDomains", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.ClaimDNSDomains(ctx, "c1")
		return err
	}},
	{"VerifyClaimDNS", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.VerifyClaimDNS(ctx, "c1", "")
		return err
	}},
	{"VerifyClaimHTTP", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.VerifyClaimHTTP(ctx, "c1", atlas.HTTPVerifyRequest{Scheme: "HTTPS"})
		return err
	}},
	{"ClaimEmails", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error { _, err := c.ClaimEmails(ctx, "c1"); return err }},
	{"VerifyClaimEmail", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.VerifyClaimEmail(ctx, "c1", "a@example.com")
		return err
	}},
	{"ReassertClaim", atlas.LimitSmall, func(ctx context.Context, c *atlas.Client) error {
		_, err := c.ReassertClaim(ctx, "c1")
		return err
	}},
}

// TestAnswerLimitPerOperation sends each operation an answer one byte over
// its cap, which fails once, without a retry, naming the operation and the
// cap; an answer of exactly the cap is read.
func TestAnswerLimitPerOperation(t *testing.T) {
	for _, tc := range limitCases {
		t.Run(tc.op, func(t *testing.T) {
			for _, size := range []int64{tc.limit + 1, tc.limit} {
				f := newFakeAtlas(t, true)
				body := func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Location", "/v2/things/x1")
					w.WriteHeader(http.StatusOK)
					_, _ = w.Write(bytes.Repeat([]byte(" "), int(size)))
				}
				if tc.op == "Login" {
					f.setLogin(body)
				} else {
					f.setAPI(body)
				}
				c, _ := newClient(t, f)
				err := tc.call(testCtx(t), c)
				if size <= tc.limit {
					if atlas.IsResponseTooLarge(err) {
						t.Fatalf("an answer of exactly %d bytes was refused: %v", size, err)
					}
					continue
				}
				var tooLarge *atlas.ResponseTooLargeError
				if !errors.As(err, &tooLarge) {
					t.Fatalf("answer of %d bytes: got %v, want *ResponseTooLargeError", size, err)
				}
				if tooLarge.Op != tc.op || tooLarge.Limit != tc.limit {
					t.Errorf("error names %s/%d, want %s/%d", tooLarge.Op, tooLarge.Limit, tc.op, tc.limit)
				}
				if msg := err.Error(); !strings.Contains(msg, tc.op) || !strings.Contains(msg, "KiB") {
					t.Errorf("message %q does not name the operation and the cap", msg)
				}
				if atlas.IsRetryable(err) {
					t.Errorf("a too large answer is retryable: %v", err)
				}
				logins, api := f.counts()
				if tc.op == "Login" && logins != 1 || tc.op != "Login" && api != 1 {
					t.Errorf("calls: %d logins, %d API calls; want the oversized one sent once", logins, api)
				}
			}
		})
	}
}

// endless is a body that never ends and counts what was read of it.
type endless struct{ read *atomic.Int64 }

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.read.Add(int64(len(p)))
	return len(p), nil
}

func (endless) Close() error { return nil }

type endlessCertificates struct {
	next http.RoundTripper
	read *atomic.Int64
}

func (e endlessCertificates) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := e.next.RoundTrip(r)
	if err != nil || !strings.Contains(r.URL.Path, "/certificates/") {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	resp.Body, resp.ContentLength = endless{e.read}, -1
	return resp, nil
}

// TestAnswerReadStopsAtLimit serves a certificate whose body never ends:
// the client reads one byte past the cap and stops.
func TestAnswerReadStopsAtLimit(t *testing.T) {
	f := newFakeAtlas(t, true)
	f.setAPI(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, atlas.CertificateInfo{}) })
	c, _ := newClient(t, f)
	var read atomic.Int64
	atlas.WrapTransport(c, func(next http.RoundTripper) http.RoundTripper { return endlessCertificates{next: next, read: &read} })

	_, err := c.RetrieveCertificate(testCtx(t), "01")
	if !atlas.IsResponseTooLarge(err) {
		t.Fatalf("got %v, want a too large answer", err)
	}
	if got := read.Load(); got > atlas.LimitCertificate+1 {
		t.Errorf("read %d bytes of an endless answer, want at most the cap and one byte, %d", got, atlas.LimitCertificate+1)
	}
}

// TestAnswerLimitDeclaredLength refuses a body whose Content-Length is over
// the cap before reading any of it.
func TestAnswerLimitDeclaredLength(t *testing.T) {
	f := newFakeAtlas(t, true)
	f.setAPI(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, atlas.CertificateInfo{}) })
	c, _ := newClient(t, f)
	var read atomic.Int64
	atlas.WrapTransport(c, func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := endlessCertificates{next: next, read: &read}.RoundTrip(r)
			if err == nil && strings.Contains(r.URL.Path, "/certificates/") {
				resp.ContentLength = atlas.LimitCertificate + 1
			}
			return resp, err
		})
	})
	if _, err := c.RetrieveCertificate(testCtx(t), "01"); !atlas.IsResponseTooLarge(err) {
		t.Fatalf("got %v, want a too large answer", err)
	}
	if got := read.Load(); got != 0 {
		t.Errorf("read %d bytes of an answer declared too large, want 0", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
