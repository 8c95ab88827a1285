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
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// handleLogin is POST /login: 200 with a fresh token for the right key and
// secret, 401 for wrong ones, 422 for a body that is not a login request.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req atlas.LoginRequest
	if err := readJSON(r, &req); err != nil || req.APIKey == "" || req.APISecret == "" {
		writeProblem(w, http.StatusUnprocessableEntity, "Invalid login request", nil)
		return
	}
	keyOK := subtle.ConstantTimeCompare([]byte(req.APIKey), []byte(s.opts.APIKey)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(req.APISecret), []byte(s.opts.APISecret)) == 1
	if !keyOK || !secretOK {
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", nil)
		return
	}
	token := newToken()
	now := s.now()
	s.mu.Lock()
	for t, exp := range s.tokens {
		if !now.Before(exp) {
			delete(s.tokens, t)
		}
	}
	s.tokens[token] = now.Add(s.opts.TokenLifetime)
	s.tokenLog = append(s.tokenLog, token)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, atlas.LoginResponse{AccessToken: token})
}

// newToken looks like the compact JWE Atlas hands out, so a client that
// wrongly tries to parse it as a JWT fails here too.
func newToken() string {
	b := make([]byte, 48)
	rand.Read(b)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"dir","enc":"A128GCM","zip":"DEF"}`)) + ".." +
		enc.EncodeToString(b[:12]) + "." + enc.EncodeToString(b[12:40]) + "." + enc.EncodeToString(b[40:])
}

// authorized reports whether the request carries a live bearer token.
func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	token = strings.TrimSpace(token)
	now := s.now()
	s.mu.Lock()
	exp, ok := s.tokens[token]
	s.mu.Unlock()
	return ok && now.Before(exp)
}

// ExpireTokens invalidates every token issued so far, as if Atlas had ended
// the sessions early: the next call with any of them gets 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	clear(s.tokens)
	s.mu.Unlock()
}
