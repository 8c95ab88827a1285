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
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// Faults are the failures the fake injects before a call reaches its
// handler (and after it is counted). Rates are probabilities in [0, 1],
// drawn independently per call. In JSON the durations are Go duration
// strings such as "250ms" (a number is taken as nanoseconds), and the keys
// are snake_case: latency, latency_spike_rate, latency_spike, error_rate,
// server_error_rate, rate_limit_rate, retry_after, drop_rate, down,
// oversize_bytes, trust_chain_extra, operations.
//
// The fake counts every fault it injects, by kind (FaultCounts), so that a
// harness reports the faults a run really saw rather than the rates it
// asked for.
type Faults struct {
	// Latency is added to every call.
	Latency time.Duration
	// LatencySpikeRate is the probability of a further LatencySpike.
	LatencySpikeRate float64
	LatencySpike     time.Duration
	// ErrorRate is the probability of 503 "Service busy, please retry later"
	// with an incident id, Atlas's documented overload answer.
	ErrorRate float64
	// ServerErrorRate is the probability of a 500 problem+json.
	ServerErrorRate float64
	// RateLimitRate is the probability of 429 "Rate Limit Reached", with a
	// Retry-After header in whole seconds when RetryAfter > 0 (Atlas does
	// not document one; clients must cope either way).
	RateLimitRate float64
	RetryAfter    time.Duration
	// DropRate is the probability of closing the connection (HTTP/1.1) or
	// resetting the stream (HTTP/2) without any response.
	DropRate float64
	// LostResponseRate is the probability that the call is carried out
	// and then its response is lost the same way: the case where Atlas
	// issued a certificate but the issuer never heard the serial.
	LostResponseRate float64
	// Down makes every call answer 503.
	Down bool
	// OversizeBytes pads every JSON answer with this many bytes of
	// trailing whitespace: still valid JSON, but far more than an
	// operation needs, as a hostile or broken server would send.
	OversizeBytes int
	// TrustChainExtra adds this many copies of the root to the answer of
	// GET /trustchain: a chain far larger than a few certificates.
	TrustChainExtra int
	// Operations, when non-empty, limits the faults to these operation
	// names (OpLogin, OpRequestCertificate, ...).
	Operations []string
	// SubmitHold holds the answer to a POST /certificates this long after
	// the certificate exists, whatever Operations names: a client killed
	// meanwhile leaves a certificate whose serial it never learnt, the case
	// an issuer's restart lookup is for.
	SubmitHold time.Duration
	// StatsIssued makes GET /stats/issued answer StatsNotFound (404),
	// StatsServerError (500) or StatsEmpty (an empty page whatever was
	// issued), whatever Operations names: a restart lookup that cannot
	// decide. Empty answers as Atlas does.
	StatsIssued string
}

// The StatsIssued modes.
const (
	StatsNotFound    = "404"
	StatsServerError = "500"
	StatsEmpty       = "empty"
)

type faultsJSON struct {
	Latency          jsonDuration `json:"latency,omitempty"`
	LatencySpikeRate float64      `json:"latency_spike_rate,omitempty"`
	LatencySpike     jsonDuration `json:"latency_spike,omitempty"`
	ErrorRate        float64      `json:"error_rate,omitempty"`
	ServerErrorRate  float64      `json:"server_error_rate,omitempty"`
	RateLimitRate    float64      `json:"rate_limit_rate,omitempty"`
	RetryAfter       jsonDuration `json:"retry_after,omitempty"`
	DropRate         float64      `json:"drop_rate,omitempty"`
	LostResponseRate float64      `json:"lost_response_rate,omitempty"`
	Down             bool         `json:"down,omitempty"`
	OversizeBytes    int          `json:"oversize_bytes,omitempty"`
	TrustChainExtra  int          `json:"trust_chain_extra,omitempty"`
	Operations       []string     `json:"operations,omitempty"`
	SubmitHold       jsonDuration `json:"submit_hold,omitempty"`
	StatsIssued      string       `json:"stats_issued,omitempty"`
}

// MarshalJSON writes durations as Go duration strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		Latency: jsonDuration(f.Latency), LatencySpikeRate: f.LatencySpikeRate, LatencySpike: jsonDuration(f.LatencySpike),
		ErrorRate: f.ErrorRate, ServerErrorRate: f.ServerErrorRate,
		RateLimitRate: f.RateLimitRate, RetryAfter: jsonDuration(f.RetryAfter),
		DropRate: f.DropRate, LostResponseRate: f.LostResponseRate, Down: f.Down,
		OversizeBytes: f.OversizeBytes, TrustChainExtra: f.TrustChainExtra, Operations: f.Operations,
		SubmitHold: jsonDuration(f.SubmitHold), StatsIssued: f.StatsIssued,
	})
}

// UnmarshalJSON reads the form MarshalJSON writes. Unknown keys are an
// error: a misspelt fault would otherwise silently not be injected.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	*f = Faults{
		Latency: time.Duration(j.Latency), LatencySpikeRate: j.LatencySpikeRate, LatencySpike: time.Duration(j.LatencySpike),
		ErrorRate: j.ErrorRate, ServerErrorRate: j.ServerErrorRate,
		RateLimitRate: j.RateLimitRate, RetryAfter: time.Duration(j.RetryAfter),
		DropRate: j.DropRate, LostResponseRate: j.LostResponseRate, Down: j.Down,
		OversizeBytes: j.OversizeBytes, TrustChainExtra: j.TrustChainExtra, Operations: j.Operations,
		SubmitHold: time.Duration(j.SubmitHold), StatsIssued: j.StatsIssued,
	}
	return f.validate()
}

func (f Faults) validate() error {
	for name, r := range map[string]float64{
		"latency_spike_rate": f.LatencySpikeRate, "error_rate": f.ErrorRate, "server_error_rate": f.ServerErrorRate,
		"rate_limit_rate": f.RateLimitRate, "drop_rate": f.DropRate, "lost_response_rate": f.LostResponseRate,
	} {
		if r < 0 || r > 1 || math.IsNaN(r) {
			return fmt.Errorf("%s: %v is not a probability", name, r)
		}
	}
	switch f.StatsIssued {
	case "", StatsNotFound, StatsServerError, StatsEmpty:
	default:
		return fmt.Errorf("stats_issued: %q is none of %q, %q, %q", f.StatsIssued, StatsNotFound, StatsServerError, StatsEmpty)
	}
	if f.Latency < 0 || f.LatencySpike < 0 || f.RetryAfter < 0 || f.SubmitHold < 0 {
		return fmt.Errorf("durations must not be negative")
	}
	if f.OversizeBytes < 0 || f.OversizeBytes > maxOversizeBytes || f.TrustChainExtra < 0 || f.TrustChainExtra > maxTrustChainExtra {
		return fmt.Errorf("oversize_bytes must be in [0, %d] and trust_chain_extra in [0, %d]", maxOversizeBytes, maxTrustChainExtra)
	}
	return nil
}

// Bounds of the hostile answers, so that a typo cannot make the fake itself
// run out of memory.
const (
	maxOversizeBytes   = 256 << 20
	maxTrustChainExtra = 100_000
)

// Kinds of injected faults, the keys of FaultCounts.
const (
	FaultLatency      = "latency"
	FaultLatencySpike = "latency_spike"
	FaultDown         = "down"
	FaultDrop         = "drop"
	FaultRateLimit    = "429"
	FaultBusy         = "503"
	FaultServerError  = "500"
	FaultLostResponse = "lost_response"
	FaultOversize     = "oversize"
	FaultHugeChain    = "huge_chain"
	FaultSubmitHold   = "submit_hold"
	FaultStatsIssued  = "stats_issued"
)

// jsonDuration is a time.Duration that reads and writes "250ms".
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("duration: want a string like \"250ms\": %w", err)
		}
		*d = jsonDuration(n)
		return nil
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = jsonDuration(v)
	return nil
}

// SetFaults replaces the injected faults; the zero Faults turns them off.
func (s *Server) SetFaults(f Faults) {
	f.Operations = slices.Clone(f.Operations)
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	f.Operations = slices.Clone(f.Operations)
	return f
}

// countCall counts a call and marks it in flight until leaveCall, which
// it returns.
func (s *Server) countCall(op string) (leaveCall func()) {
	start := s.now()
	s.cmu.Lock()
	s.calls[op]++
	s.inFlight++
	s.inFlightByOp[op]++
	s.peakInFlight = max(s.peakInFlight, s.inFlight)
	if s.busy.First.IsZero() {
		s.busy.First = start
	}
	s.cmu.Unlock()
	return func() {
		end := s.now()
		s.cmu.Lock()
		s.inFlight--
		if s.inFlightByOp[op]--; s.inFlightByOp[op] == 0 {
			delete(s.inFlightByOp, op)
		}
		s.busy.Seconds += end.Sub(start).Seconds()
		s.busy.Last = end
		if len(s.spans) < maxSpans {
			s.spans = append(s.spans, CallSpan{Op: op, Start: start, End: end})
		}
		s.cmu.Unlock()
	}
}

// maxSpans bounds the calls CallSpans keeps: a benchmark's burst is a few
// thousand calls, and a fake that runs for hours must not grow without end.
const maxSpans = 100_000

// CallSpan is one call the fake served: its operation and when it arrived
// and was answered, injected latency included.
type CallSpan struct {
	Op    string    `json:"op"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// CallSpans returns the calls answered since start or the last Reset, in
// the order they ended, the first maxSpans of them: a benchmark reads how
// its calls filled time (how soon the first came, when every slot was in
// use), which the totals of Busy cannot tell.
func (s *Server) CallSpans() []CallSpan {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return slices.Clone(s.spans)
}

// Busy is how the calls since start or the last Reset filled time: the
// sum of their durations, injected latency included, the start of the
// first and the end of the last. A benchmark divides Seconds by the span
// and its concurrency to tell idle slots from busy ones.
type Busy struct {
	Seconds float64   `json:"seconds"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// BusyTime returns the calls' Busy since start or the last Reset.
func (s *Server) BusyTime() Busy {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.busy
}

// SetCallHook makes every later call run h(op) once it is counted in
// flight and before anything else happens to it; nil removes the hook.
// Tests block in h to hold calls in flight and make their overlap certain
// rather than a matter of timing.
func (s *Server) SetCallHook(h func(op string)) {
	s.cmu.Lock()
	s.callHook = h
	s.cmu.Unlock()
}

func (s *Server) runCallHook(op string) {
	s.cmu.Lock()
	h := s.callHook
	s.cmu.Unlock()
	if h != nil {
		h(op)
	}
}

// countFault counts one injected fault of a kind.
func (s *Server) countFault(kind string) {
	s.cmu.Lock()
	s.faultCounts[kind]++
	s.cmu.Unlock()
}

// FaultCounts counts, per kind (FaultLatency, FaultRateLimit, ...), the
// faults injected since start or the last Reset.
func (s *Server) FaultCounts() map[string]int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	out := make(map[string]int, len(s.faultCounts))
	maps.Copy(out, s.faultCounts)
	return out
}

// InFlight is the number of calls being served right now.
func (s *Server) InFlight() int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.inFlight
}

// InFlightByOp is the number of calls being served right now per
// operation, for the operations with at least one.
func (s *Server) InFlightByOp() map[string]int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return maps.Clone(s.inFlightByOp)
}

// PeakInFlight is the most calls served at once since start or the last
// Reset, injected latency included.
func (s *Server) PeakInFlight() int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.peakInFlight
}

// Calls counts, per operation name, every request that reached an endpoint
// since start or the last Reset, faulted ones included.
func (s *Server) Calls() map[string]int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	out := make(map[string]int, len(s.calls))
	maps.Copy(out, s.calls)
	return out
}

// CallCount is Calls()[op].
func (s *Server) CallCount(op string) int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.calls[op]
}

// TotalCalls is the sum of Calls.
func (s *Server) TotalCalls() int {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	n := 0
	for _, v := range s.calls {
		n += v
	}
	return n
}

// Reset zeroes the call, fault and issuance counters. Certificates, claims,
// tokens, quota, policy and faults stay as they are.
func (s *Server) Reset() {
	s.cmu.Lock()
	clear(s.calls)
	clear(s.faultCounts)
	clear(s.perKey)
	s.issued = 0
	s.peakInFlight = s.inFlight
	s.busy = Busy{}
	s.spans = nil
	s.cmu.Unlock()
}

// injectFault applies the faults to one call and reports whether it
// answered (or dropped) the call. Latency comes first so that a slow call
// can also fail, as under real overload.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, op string) bool {
	f, ok := s.faultsFor(op)
	if !ok {
		return false
	}
	delay := f.Latency
	if delay > 0 {
		s.countFault(FaultLatency)
	}
	if hit(f.LatencySpikeRate) {
		delay += f.LatencySpike
		s.countFault(FaultLatencySpike)
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch {
	case f.Down:
		s.countFault(FaultDown)
		writeBusy(w)
	case hit(f.DropRate):
		s.countFault(FaultDrop)
		drop(w)
	case hit(f.RateLimitRate):
		s.countFault(FaultRateLimit)
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		writeProblem(w, http.StatusTooManyRequests, "Rate Limit Reached", nil)
	case hit(f.ErrorRate):
		s.countFault(FaultBusy)
		writeBusy(w)
	case hit(f.ServerErrorRate):
		s.countFault(FaultServerError)
		writeProblemBody(w, http.StatusInternalServerError, atlas.ErrorBody{Description: "Internal Server Error", ID: incidentID()})
	default:
		return false
	}
	return true
}

// faultsFor returns the faults in force and whether they apply to op.
func (s *Server) faultsFor(op string) (Faults, bool) {
	f := s.Faults()
	return f, len(f.Operations) == 0 || slices.Contains(f.Operations, op)
}

// pad appends the OversizeBytes of whitespace to a JSON answer the
// handler wrote; other answers (204, 202 without JSON) stay as they are.
func (s *Server) pad(w *padWriter, op string) {
	f, ok := s.faultsFor(op)
	if !ok || f.OversizeBytes == 0 || !w.json {
		return
	}
	s.countFault(FaultOversize)
	chunk := make([]byte, min(f.OversizeBytes, 64<<10))
	for i := range chunk {
		chunk[i] = ' '
	}
	for left := f.OversizeBytes; left > 0; left -= len(chunk) {
		if _, err := w.ResponseWriter.Write(chunk[:min(left, len(chunk))]); err != nil {
			return // the client went away
		}
	}
}

// padWriter notes whether the handler answered with a JSON body, so that
// pad knows it may append whitespace. Unwrap lets
// http.ResponseController reach the connection for dropped-call faults.
type padWriter struct {
	http.ResponseWriter
	json bool
}

func (p *padWriter) Write(b []byte) (int, error) {
	if len(b) > 0 && strings.Contains(p.Header().Get("Content-Type"), "json") {
		p.json = true
	}
	return p.ResponseWriter.Write(b)
}

func (p *padWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// loseResponse reports whether this call's response is to be lost after
// the handler has run.
func (s *Server) loseResponse(op string) bool {
	f, ok := s.faultsFor(op)
	if !ok || !hit(f.LostResponseRate) {
		return false
	}
	s.countFault(FaultLostResponse)
	return true
}

// discardWriter takes a handler's response and keeps none of it.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func writeBusy(w http.ResponseWriter) {
	writeProblemBody(w, http.StatusServiceUnavailable, atlas.ErrorBody{Description: "Service busy, please retry later", ID: incidentID()})
}

// drop ends the call without a response: an HTTP/1.1 connection is closed,
// an HTTP/2 stream is reset (its connection serves other calls and cannot
// be hijacked).
func drop(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

func hit(rate float64) bool {
	return rate > 0 && rand.Float64() < rate //nolint:gosec // G404: fault injection odds, not a secret.
}
