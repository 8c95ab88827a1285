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
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

const claimID = "014E9CEAF4D351FE5AA76E6E9B3BCDA5"

// TestOperations checks every operation's request (method, path, query,
// headers, body) and how it reads the success response.
func TestOperations(t *testing.T) {
	certReq := &atlas.CertificateRequest{
		Validity:          atlas.Validity{NotBefore: 1700000000},
		SubjectDN:         atlas.SubjectDN{CommonName: "example.com", OrganizationalUnit: []string{"Ops"}},
		SAN:               &atlas.SAN{DNSNames: []string{"example.com", "www.example.com"}},
		ExtendedKeyUsages: []string{"1.3.6.1.5.5.7.3.1"},
		KeyUsages:         &atlas.KeyUsages{DigitalSignature: new(true)},
		PublicKey:         "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----",
	}
	certPEM := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"

	tests := []struct {
		name      string
		call      func(context.Context, *atlas.Client) (any, error)
		method    string
		path      string
		query     url.Values // nil: no query at all
		body      string     // expected JSON; "" means no body
		respond   func(http.ResponseWriter)
		want      any
		wantError func(*testing.T, error)
	}{
		{
			name: "RequestCertificate",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.RequestCertificate(ctx, certReq)
			},
			method: "POST", path: "/v2/certificates",
			body: `{"validity":{"not_before":1700000000},"subject_dn":{"common_name":"example.com","organizational_unit":["Ops"]},
				"san":{"dns_names":["example.com","www.example.com"]},"extended_key_usages":["1.3.6.1.5.5.7.3.1"],
				"key_usages":{"digital_signature":true},"public_key":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"}`,
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Location", "/v2/certificates/013E636AA765B7A2DF590B794E99443A")
				w.WriteHeader(http.StatusCreated)
			},
			want: "013E636AA765B7A2DF590B794E99443A",
		},
		{
			name: "RetrieveCertificate issued",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.RetrieveCertificate(ctx, "013E636AA765B7A2DF590B794E99443A")
			},
			method: "GET", path: "/v2/certificates/013E636AA765B7A2DF590B794E99443A",
			respond: func(w http.ResponseWriter) {
				writeJSON(w, 200, map[string]any{"certificate": certPEM, "status": "issued", "updated_at": 1477958400})
			},
			want: &atlas.CertificateInfo{Certificate: certPEM, Status: atlas.StatusIssued, UpdatedAt: 1477958400},
		},
		{
			name: "RetrieveCertificate pending",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.RetrieveCertificate(ctx, "01AB")
			},
			method: "GET", path: "/v2/certificates/01AB",
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusAccepted)
				_, _ = w.Write([]byte(`{"description":"Operation in progress"}`))
			},
			want: &atlas.CertificateInfo{Status: atlas.StatusPending},
		},
		{
			name: "RevokeCertificate",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return nil, c.RevokeCertificate(ctx, "01AB", atlas.RevokeRequest{RevocationReason: atlas.ReasonKeyCompromise, RevocationTime: 1700000000})
			},
			method: "PATCH", path: "/v2/certificates/01AB",
			body:    `{"revocation_reason":"keyCompromise","revocation_time":1700000000}`,
			respond: func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) },
		},
		{
			name: "RevokeCertificateDeprecated",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return nil, c.RevokeCertificateDeprecated(ctx, "01AB")
			},
			method: "DELETE", path: "/v2/certificates/01AB",
			respond: func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) },
		},
		{
			name: "RekeyCertificate",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.RekeyCertificate(ctx, "01AB", atlas.RekeyRequest{PublicKey: "PK", Signature: &atlas.Signature{HashAlgorithm: "SHA-256"}})
			},
			method: "POST", path: "/v2/certificates/01AB/rekey",
			body: `{"public_key":"PK","signature":{"hash_algorithm":"SHA-256"}}`,
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Location", "https://emea.api.hvca.globalsign.com:8443/v2/certificates/00be04941d5659f6e3651ca421367e18")
				w.WriteHeader(http.StatusCreated)
			},
			want: "00be04941d5659f6e3651ca421367e18",
		},
		{
			name:   "TrustChain",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.TrustChain(ctx) },
			method: "GET", path: "/v2/trustchain",
			respond: func(w http.ResponseWriter) { writeJSON(w, 200, []string{"ISSUING", "ROOT"}) },
			want:    []string{"ISSUING", "ROOT"},
		},
		{
			name:   "ValidationPolicy",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.ValidationPolicy(ctx) },
			method: "GET", path: "/v2/validationpolicy",
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"public_key":{"key_type":"RSA","allowed_lengths":[2048,4096],"key_format":"pkcs10"},"public_key_signature":"forbidden"}`))
			},
			want: &atlas.ValidationPolicy{
				PublicKey:          &atlas.PublicKeyPolicy{KeyType: "RSA", AllowedLengths: []int{2048, 4096}, KeyFormat: "pkcs10"},
				PublicKeySignature: atlas.PresenceForbidden,
			},
		},
		{
			name:   "CountIssued",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.CountIssued(ctx) },
			method: "GET", path: "/v2/counters/certificates/issued",
			respond: func(w http.ResponseWriter) { writeJSON(w, 200, atlas.Counter{Value: 12}) },
			want:    int64(12),
		},
		{
			name:   "CountRevoked",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.CountRevoked(ctx) },
			method: "GET", path: "/v2/counters/certificates/revoked",
			respond: func(w http.ResponseWriter) { writeJSON(w, 200, atlas.Counter{Value: 3}) },
			want:    int64(3),
		},
		{
			name:   "Quota",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.Quota(ctx) },
			method: "GET", path: "/v2/quotas/issuance",
			respond: func(w http.ResponseWriter) { writeJSON(w, 200, atlas.Counter{Value: 1000}) },
			want:    int64(1000),
		},
		{
			name: "StatsIssued full query",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.StatsIssued(ctx, atlas.StatsQuery{Page: 2, PerPage: 50, From: 1700000000, To: 1700086400})
			},
			method: "GET", path: "/v2/stats/issued",
			query: url.Values{"page": {"2"}, "per_page": {"50"}, "from": {"1700000000"}, "to": {"1700086400"}},
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Total-Count", "120")
				w.Header().Set("Links", `</stats/issued?page=1>; rel="previous"; </stats/issued?page=3>; rel="next", </stats/issued?page=3>; rel="last"`)
				writeJSON(w, 200, []atlas.CertificateMeta{{SerialNumber: "01AB", NotBefore: 1, NotAfter: 2}})
			},
			want: &atlas.StatsPage{Certificates: []atlas.CertificateMeta{{SerialNumber: "01AB", NotBefore: 1, NotAfter: 2}}, TotalCount: 120, Next: true},
		},
		{
			name: "StatsRevoked defaults",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.StatsRevoked(ctx, atlas.StatsQuery{})
			},
			method: "GET", path: "/v2/stats/revoked",
			query: url.Values{"page": {"1"}},
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Links", `</stats/revoked?page=1>; rel="last"`)
				writeJSON(w, 200, []atlas.CertificateMeta{{SerialNumber: "01"}, {SerialNumber: "02"}})
			},
			want: &atlas.StatsPage{Certificates: []atlas.CertificateMeta{{SerialNumber: "01"}, {SerialNumber: "02"}}, TotalCount: 2},
		},
		{
			name: "StatsExpiring",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.StatsExpiring(ctx, atlas.StatsQuery{To: 5})
			},
			method: "GET", path: "/v2/stats/expiring",
			query: url.Values{"page": {"1"}, "to": {"5"}},
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Total-Count", "0")
				writeJSON(w, 200, []atlas.CertificateMeta{})
			},
			want: &atlas.StatsPage{Certificates: []atlas.CertificateMeta{}},
		},
		{
			name: "ListClaims with status",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.ListClaims(ctx, atlas.ClaimsQuery{PerPage: 10, Status: atlas.ClaimPending})
			},
			method: "GET", path: "/v2/claims/domains",
			query: url.Values{"page": {"1"}, "per_page": {"10"}, "status": {"PENDING"}},
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Total-Count", "11")
				w.Header().Set("Links", `</claims/domains?page=2>; rel=next`)
				writeJSON(w, 200, []map[string]any{{"id": claimID, "status": "pending", "domain": "example.com.", "created_at": 5}})
			},
			want: &atlas.ClaimsPage{Claims: []atlas.Claim{{ID: claimID, Status: atlas.ClaimPending, Domain: "example.com.", CreatedAt: 5}}, TotalCount: 11, Next: true},
		},
		{
			name: "ListClaims all",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.ListClaims(ctx, atlas.ClaimsQuery{Page: 3})
			},
			method: "GET", path: "/v2/claims/domains",
			query:   url.Values{"page": {"3"}},
			respond: func(w http.ResponseWriter) { writeJSON(w, 200, []atlas.Claim{}) },
			want:    &atlas.ClaimsPage{Claims: []atlas.Claim{}},
		},
		{
			name: "SubmitClaim",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.SubmitClaim(ctx, "example.com")
			},
			method: "POST", path: "/v2/claims/domains/example.com",
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Location", "/v2/claims/domains/"+claimID)
				writeJSON(w, http.StatusCreated, map[string]any{"token": "TOKEN", "assert_by": 1700000000})
			},
			want: &atlas.ClaimAssertion{ID: claimID, Token: "TOKEN", AssertBy: 1700000000},
		},
		{
			name: "SubmitClaim without body",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.SubmitClaim(ctx, "example.org")
			},
			method: "POST", path: "/v2/claims/domains/example.org",
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Location", "https://emea.api.hvca.globalsign.com:8443/v2/claims/domains/"+claimID)
				w.WriteHeader(http.StatusCreated)
			},
			want: &atlas.ClaimAssertion{ID: claimID},
		},
		{
			name: "SubmitClaim escapes the domain",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.SubmitClaim(ctx, "a b/c.example")
			},
			method: "POST", path: "/v2/claims/domains/a%20b%2Fc.example",
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Location", "/v2/claims/domains/"+claimID)
				writeJSON(w, http.StatusCreated, map[string]any{"token": "T", "assert_by": 1})
			},
			want: &atlas.ClaimAssertion{ID: claimID, Token: "T", AssertBy: 1},
		},
		{
			name:   "RetrieveClaim",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.RetrieveClaim(ctx, claimID) },
			method: "GET", path: "/v2/claims/domains/" + claimID,
			respond: func(w http.ResponseWriter) {
				writeJSON(w, 200, map[string]any{"id": claimID, "status": "VERIFIED", "domain": "example.com.",
					"log": []map[string]any{{"status": "SUCCESS", "description": "ok", "timestamp": 7}}})
			},
			want: &atlas.Claim{ID: claimID, Status: atlas.ClaimVerified, Domain: "example.com.",
				Log: []atlas.ClaimLogEntry{{Status: "SUCCESS", Description: "ok", Timestamp: 7}}},
		},
		{
			name:   "DeleteClaim",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return nil, c.DeleteClaim(ctx, claimID) },
			method: "DELETE", path: "/v2/claims/domains/" + claimID,
			respond: func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) },
		},
		{
			name:   "ClaimDNSDomains",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.ClaimDNSDomains(ctx, claimID) },
			method: "GET", path: "/v2/claims/domains/" + claimID + "/dns",
			respond: func(w http.ResponseWriter) { writeJSON(w, 200, []string{"www.example.com", "example.com"}) },
			want:    []string{"www.example.com", "example.com"},
		},
		{
			name:   "VerifyClaimDNS without AND",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.VerifyClaimDNS(ctx, claimID, "") },
			method: "POST", path: "/v2/claims/domains/" + claimID + "/dns",
			respond: func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) },
			want:    atlas.VerificationScheduled,
		},
		{
			name: "VerifyClaimDNS with AND",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.VerifyClaimDNS(ctx, claimID, "example.com")
			},
			method: "POST", path: "/v2/claims/domains/" + claimID + "/dns",
			body:    `{"authorization_domain":"example.com"}`,
			respond: func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) },
			want:    atlas.VerificationVerified,
		},
		{
			name:   "VerifyClaimDNS in progress",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.VerifyClaimDNS(ctx, claimID, "") },
			method: "POST", path: "/v2/claims/domains/" + claimID + "/dns",
			respond: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusAccepted, map[string]string{"description": "Operation in progress"})
			},
			want: atlas.VerificationInProgress,
		},
		{
			name: "VerifyClaimHTTP",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.VerifyClaimHTTP(ctx, claimID, atlas.HTTPVerifyRequest{Scheme: "https"})
			},
			method: "POST", path: "/v2/claims/domains/" + claimID + "/http",
			body:    `{"scheme":"https"}`,
			respond: func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) },
			want:    atlas.VerificationScheduled,
		},
		{
			name:   "ClaimEmails",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.ClaimEmails(ctx, claimID) },
			method: "GET", path: "/v2/claims/domains/" + claimID + "/email",
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json; charset=UTF-8")
				_, _ = w.Write([]byte(`{"constructed":["admin@example.com"],"DNS":{"SOA":{"emails":["hostmaster@example.com"]}}}`))
			},
			want: func() *atlas.ClaimEmails {
				e := &atlas.ClaimEmails{Constructed: []string{"admin@example.com"}}
				e.DNS.SOA.Emails = []string{"hostmaster@example.com"}
				return e
			}(),
		},
		{
			name: "VerifyClaimEmail",
			call: func(ctx context.Context, c *atlas.Client) (any, error) {
				return c.VerifyClaimEmail(ctx, claimID, "admin@example.com")
			},
			method: "POST", path: "/v2/claims/domains/" + claimID + "/email",
			body:    `{"email_address":"admin@example.com"}`,
			respond: func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) },
			want:    atlas.VerificationScheduled,
		},
		{
			name:   "ReassertClaim",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.ReassertClaim(ctx, claimID) },
			method: "POST", path: "/v2/claims/domains/" + claimID + "/reassert",
			respond: func(w http.ResponseWriter) {
				w.Header().Set("Location", "/claims/domains/"+claimID)
				writeJSON(w, http.StatusCreated, map[string]any{"token": "NEW", "assert_by": 9})
			},
			want: &atlas.ClaimAssertion{ID: claimID, Token: "NEW", AssertBy: 9},
		},
		{
			name:   "ReassertClaim 200",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.ReassertClaim(ctx, claimID) },
			method: "POST", path: "/v2/claims/domains/" + claimID + "/reassert",
			respond: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusOK, map[string]any{"token": "NEW", "assert_by": 9})
			},
			want: &atlas.ClaimAssertion{ID: claimID, Token: "NEW", AssertBy: 9},
		},
		{
			name:   "ReassertClaim in progress",
			call:   func(ctx context.Context, c *atlas.Client) (any, error) { return c.ReassertClaim(ctx, claimID) },
			method: "POST", path: "/v2/claims/domains/" + claimID + "/reassert",
			respond: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusAccepted, map[string]string{"description": "Operation in progress"})
			},
			wantError: func(t *testing.T, err error) {
				if !errors.Is(err, atlas.ErrInProgress) {
					t.Fatalf("error = %v, want ErrInProgress", err)
				}
			},
		},
	}

	f := newFakeAtlas(t, false)
	c, _ := newClient(t, f)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.setAPI(func(w http.ResponseWriter, r *http.Request) { tt.respond(w) })
			got, err := tt.call(testCtx(t), c)
			if tt.wantError != nil {
				tt.wantError(t, err)
			} else if err != nil {
				t.Fatalf("error: %v", err)
			}
			req := f.lastRequest()
			if req.Method != tt.method || req.Path != tt.path {
				t.Errorf("request = %s %s, want %s %s", req.Method, req.Path, tt.method, tt.path)
			}
			wantQuery := tt.query
			if wantQuery == nil {
				wantQuery = url.Values{}
			}
			if !reflect.DeepEqual(req.Query, wantQuery) {
				t.Errorf("query = %v, want %v", req.Query, wantQuery)
			}
			checkHeaders(t, req, tt.body != "")
			if tt.body == "" {
				if len(req.Body) != 0 {
					t.Errorf("body = %s, want none", req.Body)
				}
			} else {
				assertJSONEqual(t, req.Body, tt.body)
			}
			if tt.wantError == nil && !reflect.DeepEqual(deref(got), deref(tt.want)) {
				t.Errorf("result = %#v, want %#v", deref(got), deref(tt.want))
			}
		})
	}
}

func checkHeaders(t *testing.T, req recorded, hasBody bool) {
	t.Helper()
	if got := req.Header.Get("Authorization"); !strings.HasPrefix(got, "Bearer tok") {
		t.Errorf("Authorization = %q", got)
	}
	if got := req.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q", got)
	}
	if got := req.Header.Get("User-Agent"); got != "atlas-issuer/dev" {
		t.Errorf("User-Agent = %q, want atlas-issuer/<version>", got)
	}
	ct := req.Header.Get("Content-Type")
	if hasBody {
		if ct != "application/json;charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if req.ContentLength != int64(len(req.Body)) {
			t.Errorf("Content-Length = %d, body has %d bytes", req.ContentLength, len(req.Body))
		}
	} else if ct != "" {
		t.Errorf("Content-Type = %q on a request without body", ct)
	}
}

func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("request body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
}

// deref lets results and expectations be compared through pointers.
func deref(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return rv.Elem().Interface()
	}
	return v
}

func TestLocationParsing(t *testing.T) {
	tests := []struct {
		location, want string
	}{
		{"/v2/certificates/013E636AA765B7A2DF590B794E99443A", "013E636AA765B7A2DF590B794E99443A"},
		{"/v2/certificates/00ab", "00ab"},
		{"https://emea.api.hvca.globalsign.com:8443/v2/certificates/0001BEEF", "0001BEEF"},
		{"http://local/certificates/01AB/", "01AB"},
		{"/v2/certificates/01AB?x=1", "01AB"},
		{"01CD", "01CD"},
	}
	f := newFakeAtlas(t, false)
	c, _ := newClient(t, f)
	for _, tt := range tests {
		t.Run(tt.location, func(t *testing.T) {
			f.setAPI(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", tt.location)
				w.WriteHeader(http.StatusCreated)
			})
			got, err := c.RequestCertificate(testCtx(t), &atlas.CertificateRequest{PublicKey: "PK"})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("serial = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		f.setAPI(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
		if _, err := c.RequestCertificate(testCtx(t), &atlas.CertificateRequest{}); err == nil || !strings.Contains(err.Error(), "Location") {
			t.Fatalf("error = %v, want a missing Location error", err)
		}
	})
}

func TestErrorResponses(t *testing.T) {
	f := newFakeAtlas(t, false)
	c, _ := newClient(t, f, func(cfg *atlas.Config) { cfg.Retry.MaxAttempts = 1 })

	t.Run("problem json with errors map", func(t *testing.T) {
		f.setAPI(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json;charset=utf-8")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"description":"Validation error message","id":"abc","errors":{"gsb":"example.com flagged","blacklist":"not allowed"}}`))
		})
		_, err := c.RequestCertificate(testCtx(t), &atlas.CertificateRequest{PublicKey: "SECRET-PUBLIC-KEY-BODY"})
		var ae *atlas.Error
		if !errors.As(err, &ae) {
			t.Fatalf("error %v is not an *atlas.Error", err)
		}
		want := &atlas.Error{Operation: "RequestCertificate", StatusCode: 422, Description: "Validation error message", ID: "abc",
			Errors: map[string]string{"gsb": "example.com flagged", "blacklist": "not allowed"}}
		if !reflect.DeepEqual(ae, want) {
			t.Errorf("error = %#v, want %#v", ae, want)
		}
		if got := err.Error(); got != "atlas RequestCertificate: 422 Validation error message [blacklist: not allowed; gsb: example.com flagged]" {
			t.Errorf("message = %q", got)
		}
		if !atlas.IsPermanent(err) || atlas.IsRetryable(err) {
			t.Errorf("422 should be permanent and not retryable")
		}
		if strings.Contains(err.Error(), "SECRET-PUBLIC-KEY-BODY") {
			t.Errorf("error contains the request body")
		}
	})

	t.Run("not found carries the serial", func(t *testing.T) {
		f.setAPI(func(w http.ResponseWriter, r *http.Request) { writeProblem(w, 404, "Not found", "") })
		_, err := c.RetrieveCertificate(testCtx(t), "01DEAD")
		if !atlas.IsNotFound(err) || atlas.StatusCode(err) != 404 {
			t.Fatalf("error = %v, want 404", err)
		}
		if !strings.Contains(err.Error(), "01DEAD") {
			t.Errorf("error %q does not name the serial", err)
		}
	})

	t.Run("service busy with id and Retry-After", func(t *testing.T) {
		f.setAPI(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3")
			writeProblem(w, 503, "Service busy, please retry later", "0vqe8FWeDe4DQ7rU7wbzzGmPc4B")
		})
		_, err := c.Quota(testCtx(t))
		var ae *atlas.Error
		if !errors.As(err, &ae) || ae.ID != "0vqe8FWeDe4DQ7rU7wbzzGmPc4B" || ae.RetryAfter != 3*time.Second {
			t.Fatalf("error = %#v", ae)
		}
	})

	t.Run("plain text body is cut short", func(t *testing.T) {
		f.setAPI(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("upstream\nconnect error " + strings.Repeat("x", 5000)))
		})
		_, err := c.TrustChain(testCtx(t))
		var ae *atlas.Error
		if !errors.As(err, &ae) {
			t.Fatalf("error = %v", err)
		}
		if !strings.HasPrefix(ae.Description, "Bad Gateway: upstream connect error xxx") || len(ae.Description) > 250 {
			t.Errorf("description = %q (%d bytes)", ae.Description, len(ae.Description))
		}
	})

	t.Run("html body is not copied", func(t *testing.T) {
		f.setAPI(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusGatewayTimeout)
			_, _ = w.Write([]byte("<html><body>gateway timeout</body></html>"))
		})
		_, err := c.TrustChain(testCtx(t))
		var ae *atlas.Error
		if !errors.As(err, &ae) || ae.Description != "Gateway Timeout" {
			t.Fatalf("error = %v", err)
		}
	})

	t.Run("success with a non-JSON body", func(t *testing.T) {
		f.setAPI(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>login portal</html>"))
		})
		if _, err := c.ValidationPolicy(testCtx(t)); err == nil || !strings.Contains(err.Error(), "content type") {
			t.Fatalf("error = %v, want a content type error", err)
		}
	})

	t.Run("unexpected 202 on issuance", func(t *testing.T) {
		f.setAPI(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusAccepted, map[string]string{"description": "Operation in progress"})
		})
		_, err := c.RequestCertificate(testCtx(t), &atlas.CertificateRequest{})
		if atlas.StatusCode(err) != 202 || atlas.IsRetryable(err) || atlas.IsPermanent(err) {
			t.Fatalf("error = %v", err)
		}
	})

	t.Run("redirects are not followed", func(t *testing.T) {
		f.setAPI(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://example.invalid/", http.StatusFound)
		})
		if _, err := c.CountIssued(testCtx(t)); atlas.StatusCode(err) != http.StatusFound {
			t.Fatalf("error = %v, want the 302 as an error", err)
		}
	})
}

func TestInvalidIdentifiers(t *testing.T) {
	f := newFakeAtlas(t, false)
	c, _ := newClient(t, f)
	ctx := testCtx(t)
	if _, err := c.RetrieveCertificate(ctx, ""); err == nil {
		t.Error("empty serial accepted")
	}
	if _, err := c.RetrieveClaim(ctx, ".."); err == nil {
		t.Error("dot-dot claim ID accepted")
	}
	if _, err := c.VerifyClaimHTTP(ctx, claimID, atlas.HTTPVerifyRequest{}); err == nil {
		t.Error("missing scheme accepted")
	}
	if logins, api := f.counts(); logins != 0 || api != 0 {
		t.Errorf("invalid input reached the server: %d logins, %d API calls", logins, api)
	}
}

func TestNewValidation(t *testing.T) {
	p := getPKI(t)
	valid := atlas.Config{URL: "https://emea.api.hvca.globalsign.com:8443/v2", APIKey: "k", APISecret: "s", ClientCertificate: p.client}
	if _, err := atlas.New(valid); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := map[string]func(*atlas.Config){
		"no URL":               func(c *atlas.Config) { c.URL = "" },
		"http URL":             func(c *atlas.Config) { c.URL = "http://emea.api.hvca.globalsign.com/v2" },
		"relative URL":         func(c *atlas.Config) { c.URL = "/v2" },
		"URL with query":       func(c *atlas.Config) { c.URL += "?x=1" },
		"no key":               func(c *atlas.Config) { c.APIKey = "" },
		"no secret":            func(c *atlas.Config) { c.APISecret = "" },
		"no certificate":       func(c *atlas.Config) { c.ClientCertificate = tlsCertificateWithoutKey(p) },
		"negative timeout":     func(c *atlas.Config) { c.Timeout = -time.Second },
		"margin over life":     func(c *atlas.Config) { c.TokenLifetime = time.Minute; c.TokenRefreshMargin = 2 * time.Minute },
		"negative attempts":    func(c *atlas.Config) { c.Retry.MaxAttempts = -1 },
		"max delay below base": func(c *atlas.Config) { c.Retry.BaseDelay = time.Second; c.Retry.MaxDelay = time.Millisecond },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := valid
			mutate(&cfg)
			c, err := atlas.New(cfg)
			if err == nil || c != nil {
				t.Fatalf("New accepted an invalid config")
			}
			if strings.Contains(err.Error(), testAPISecret) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}
