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
	"context"
	"net/http"
	"time"
)

// SetClockOffset moves the server's clock d away from Options.Clock (ahead
// when positive): Atlas whose clock is skewed against its clients'. Every
// use of the server's time follows it (token expiry, the not_before skew
// check, pending delays, acceptance times and the statistics windows, the
// Date header); the TLS and CA certificates keep the real time.
func (s *Server) SetClockOffset(d time.Duration) {
	s.clockOffset.Store(int64(d))
}

// ClockOffset is the offset SetClockOffset set.
func (s *Server) ClockOffset() time.Duration {
	return time.Duration(s.clockOffset.Load())
}

// withDate stamps every answer's Date header with the server's clock, as
// an Atlas whose clock is off would send it; net/http would otherwise send
// the real time.
func (s *Server) withDate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		h.ServeHTTP(w, r)
	})
}

// adminClock is the body of GET and PUT /clock; Offset is a Go duration
// string such as "5m" or "-5m".
type adminClock struct {
	Offset jsonDuration `json:"offset"`
}

// addClockRoutes serves the clock offset on the admin API.
func (s *Server) addClockRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /clock", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, adminClock{Offset: jsonDuration(s.ClockOffset())})
	})
	mux.HandleFunc("PUT /clock", func(w http.ResponseWriter, r *http.Request) {
		var c adminClock
		if adminDecode(w, r, &c, true) {
			s.SetClockOffset(time.Duration(c.Offset))
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

// SetClockOffset moves the fake's clock d away from the real time (PUT
// /clock).
func (c *AdminClient) SetClockOffset(ctx context.Context, d time.Duration) error {
	return c.do(ctx, http.MethodPut, "/clock", adminClock{Offset: jsonDuration(d)}, nil)
}

// ClockOffset reads the fake's clock offset (GET /clock).
func (c *AdminClient) ClockOffset(ctx context.Context) (time.Duration, error) {
	var out adminClock
	err := c.do(ctx, http.MethodGet, "/clock", nil, &out)
	return time.Duration(out.Offset), err
}
