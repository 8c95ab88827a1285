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

package fake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// AdminStats is the body of GET /stats on the admin API.
type AdminStats struct {
	Calls        map[string]int `json:"calls"`
	TotalCalls   int            `json:"total_calls"`
	Issued       int            `json:"issued"`
	Duplicates   int            `json:"duplicates"`
	IssuedPerKey map[string]int `json:"issued_per_key"`
	Quota        int64          `json:"quota"`
	PeakInFlight int            `json:"peak_in_flight"`
	// Busy is how the calls filled time (Server.BusyTime).
	Busy Busy `json:"busy"`
	// InFlight is the number of calls being served when the stats were
	// read: a harness checks it to know a client is mid-call.
	InFlight int `json:"in_flight"`
	// InFlightByOp is InFlight per operation (OpRequestCertificate, ...):
	// a harness waits on it to kill a client while a given call is open.
	InFlightByOp map[string]int `json:"in_flight_by_op,omitempty"`
	// FaultsInjected counts injected faults by kind (Server.FaultCounts).
	FaultsInjected map[string]int `json:"faults_injected"`
}

// Stats gathers the counters the admin API reports.
func (s *Server) Stats() AdminStats {
	return AdminStats{
		Calls:        s.Calls(),
		TotalCalls:   s.TotalCalls(),
		Issued:       s.Issued(),
		Duplicates:   s.Duplicates(),
		IssuedPerKey: s.IssuedPerKey(),
		Quota:        s.Quota(),
		PeakInFlight: s.PeakInFlight(),
		Busy:         s.BusyTime(),
		InFlight:     s.InFlight(),
		InFlightByOp: s.InFlightByOp(),

		FaultsInjected: s.FaultCounts(),
	}
}

// adminPending is the body of PUT /pending; For is a Go duration string.
type adminPending struct {
	Polls int          `json:"polls"`
	For   jsonDuration `json:"for"`
}

type adminCount struct {
	Count int `json:"count"`
}

// AdminHandler is a plain-HTTP JSON API that lets a harness running the
// fake in another process drive it. It has no authentication, so serve it
// on loopback only.
//
//	GET  /stats          AdminStats
//	GET  /issued         []IssuedCertificate: every certificate accepted
//	GET  /spans          []CallSpan: every call since the last reset
//	GET  /faults         Faults
//	PUT  /faults         Faults (durations as "250ms")
//	POST /expire-tokens
//	GET  /policy         the validation policy
//	PUT  /policy         a validation policy
//	PUT  /quota          {"value": n}
//	PUT  /pending        {"polls": n, "for": "2s"}
//	POST /reject         {"count": n}
//	POST /reset
//	POST /seed           {"count": n}: n issued certificates of other clients
//	GET  /tokens         every access token issued so far, expired ones too
//	GET  /credentials    Credentials, for a harness that cannot read the
//	                     fake's files (the fake runs in a pod)
//	GET  /clock          {"offset": "5m"}: the clock's offset
//	PUT  /clock          {"offset": "-5m"}: skew the clock (SetClockOffset)
//
// Changes answer 204; a bad body answers 400 with a plain-text reason.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /issued", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.IssuedCertificates())
	})
	mux.HandleFunc("GET /spans", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.CallSpans())
	})
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("PUT /faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if adminDecode(w, r, &f, true) {
			s.SetFaults(f)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /expire-tokens", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /policy", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.currentPolicy())
	})
	mux.HandleFunc("PUT /policy", func(w http.ResponseWriter, r *http.Request) {
		var p atlas.ValidationPolicy
		if adminDecode(w, r, &p, false) {
			s.SetPolicy(&p)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("PUT /quota", func(w http.ResponseWriter, r *http.Request) {
		var c atlas.Counter
		if adminDecode(w, r, &c, true) {
			s.SetQuota(c.Value)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("PUT /pending", func(w http.ResponseWriter, r *http.Request) {
		var p adminPending
		if adminDecode(w, r, &p, true) {
			s.SetPending(p.Polls, time.Duration(p.For))
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /reject", func(w http.ResponseWriter, r *http.Request) {
		var c adminCount
		if adminDecode(w, r, &c, true) {
			s.RejectNext(c.Count)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /seed", func(w http.ResponseWriter, r *http.Request) {
		var c adminCount
		if adminDecode(w, r, &c, true) {
			if err := s.Seed(c.Count); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.IssuedTokens())
	})
	mux.HandleFunc("GET /credentials", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Credentials())
	})
	s.addClockRoutes(mux)
	return mux
}

// adminDecode reads a JSON body. strict rejects unknown keys, so a harness
// that misspells a fault name finds out instead of running without it; a
// policy is read leniently because real policies carry keys we do not model.
func adminDecode(w http.ResponseWriter, r *http.Request, v any, strict bool) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		http.Error(w, "bad request body: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// AdminClient drives a fake's admin API over HTTP, for harnesses that run
// the fake as a separate process (hack/fake-atlas).
type AdminClient struct {
	// URL is the admin base URL, e.g. "http://127.0.0.1:9000".
	URL string
	// HTTPClient is used when set; http.DefaultClient otherwise.
	HTTPClient *http.Client
}

// Stats reads the counters.
func (c *AdminClient) Stats(ctx context.Context) (AdminStats, error) {
	var st AdminStats
	err := c.do(ctx, http.MethodGet, "/stats", nil, &st)
	return st, err
}

// Issued lists every certificate the fake accepted, so that a harness can
// tell which of them no Secret holds.
func (c *AdminClient) Issued(ctx context.Context) ([]IssuedCertificate, error) {
	var out []IssuedCertificate
	err := c.do(ctx, http.MethodGet, "/issued", nil, &out)
	return out, err
}

// Spans reads the calls answered since the last reset.
func (c *AdminClient) Spans(ctx context.Context) ([]CallSpan, error) {
	var spans []CallSpan
	err := c.do(ctx, http.MethodGet, "/spans", nil, &spans)
	return spans, err
}

// SetFaults replaces the injected faults.
func (c *AdminClient) SetFaults(ctx context.Context, f Faults) error {
	return c.do(ctx, http.MethodPut, "/faults", f, nil)
}

// ExpireTokens invalidates every token issued so far.
func (c *AdminClient) ExpireTokens(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/expire-tokens", nil, nil)
}

// SetPolicy replaces the validation policy.
func (c *AdminClient) SetPolicy(ctx context.Context, p *atlas.ValidationPolicy) error {
	return c.do(ctx, http.MethodPut, "/policy", p, nil)
}

// SetQuota sets the remaining issuance quota.
func (c *AdminClient) SetQuota(ctx context.Context, n int64) error {
	return c.do(ctx, http.MethodPut, "/quota", atlas.Counter{Value: n}, nil)
}

// SetPending sets how long new certificates stay pending.
func (c *AdminClient) SetPending(ctx context.Context, polls int, d time.Duration) error {
	return c.do(ctx, http.MethodPut, "/pending", adminPending{Polls: polls, For: jsonDuration(d)}, nil)
}

// Reject makes the next n accepted certificates end REJECTED.
func (c *AdminClient) Reject(ctx context.Context, n int) error {
	return c.do(ctx, http.MethodPost, "/reject", adminCount{Count: n}, nil)
}

// Seed adds n issued certificates of other clients to the account.
func (c *AdminClient) Seed(ctx context.Context, n int) error {
	return c.do(ctx, http.MethodPost, "/seed", adminCount{Count: n}, nil)
}

// Reset zeroes the call and issuance counters.
func (c *AdminClient) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/reset", nil, nil)
}

func (c *AdminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("fake atlas admin %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("fake atlas admin %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("fake atlas admin %s %s: %w", method, path, err)
		}
	}
	return nil
}

// IssuedTokens returns every access token the fake has handed out since it
// started, in order, including expired ones and those whose login answer
// was lost. Chaos runs search logs, events and statuses for them.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.tokenLog...)
}

// Tokens reads every access token issued so far (GET /tokens).
func (c *AdminClient) Tokens(ctx context.Context) ([]string, error) {
	var out []string
	err := c.do(ctx, http.MethodGet, "/tokens", nil, &out)
	return out, err
}

// Credentials reads the login credentials, the mTLS client certificate and
// the server CA (GET /credentials).
func (c *AdminClient) Credentials(ctx context.Context) (Credentials, error) {
	var out Credentials
	err := c.do(ctx, http.MethodGet, "/credentials", nil, &out)
	return out, err
}
