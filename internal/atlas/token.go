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

package atlas

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// tokenCache holds the access token. Atlas returns no expiry, so the token's
// age is measured from the moment its login started.
type tokenCache struct {
	lifetime, margin time.Duration

	mu       sync.Mutex
	token    string
	obtained time.Time
	// inflight is the login under way, which every other caller waits for:
	// a burst of reconciles after a restart must cost one login, not one
	// each.
	inflight *loginCall
}

type loginCall struct {
	done chan struct{}
	err  error
	// abandoned means the leading caller's context ended, which says
	// nothing about the credentials: waiters try again themselves.
	abandoned bool
}

// invalidate forgets token if it is still the current one. A caller that
// got a 401 with an old token must not throw away the new token another
// caller has just obtained.
func (tc *tokenCache) invalidate(token string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.token == token {
		tc.token = ""
	}
}

// Login logs in now and replaces the cached token, which proves that the
// credentials and the mTLS certificate work (health checks). If another
// login is already under way, Login shares its result.
func (c *Client) Login(ctx context.Context) error {
	_, err := c.acquire(ctx, true)
	return err
}

// token returns a token young enough to outlast the request, logging in if
// needed.
func (c *Client) token(ctx context.Context) (string, error) {
	return c.acquire(ctx, false)
}

func (c *Client) acquire(ctx context.Context, force bool) (string, error) {
	tc := c.tokens
	for {
		tc.mu.Lock()
		if !force && tc.token != "" && c.clock.Now().Sub(tc.obtained) < tc.lifetime-tc.margin {
			t := tc.token
			tc.mu.Unlock()
			return t, nil
		}
		if call := tc.inflight; call != nil {
			tc.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return "", &ctxDoneError{op: "Login", ctx: ctx.Err()}
			}
			if call.err != nil && !call.abandoned {
				return "", call.err
			}
			// A login that completed after we asked is as fresh as one of
			// our own, even for Login.
			force = false
			continue
		}
		call := &loginCall{done: make(chan struct{})}
		tc.inflight = call
		tc.mu.Unlock()

		started := c.clock.Now()
		tok, err := c.login(ctx)

		tc.mu.Lock()
		tc.inflight = nil
		if err == nil {
			tc.token, tc.obtained = tok, started
		}
		call.err, call.abandoned = err, ctx.Err() != nil
		tc.mu.Unlock()
		close(call.done)
		return tok, err
	}
}

// login performs POST /login with retries. The body carries the secret, so
// it goes nowhere but the wire.
func (c *Client) login(ctx context.Context) (string, error) {
	resp, err := c.do(ctx, &request{
		op:     "Login",
		method: http.MethodPost,
		path:   "/login",
		body:   LoginRequest{APIKey: c.creds.apiKey, APISecret: c.creds.apiSecret},
		noAuth: true,
		// 200 is documented; some clients saw 201.
		accept: []int{http.StatusOK, http.StatusCreated},
		limit:  limitSmall,
	})
	var out LoginResponse
	if err == nil {
		err = decode("Login", resp, &out, false)
	}
	if err == nil && out.AccessToken == "" {
		err = errors.New("atlas Login: response has no access_token")
	}
	c.metrics.observeLogin(err)
	if err != nil {
		c.log.V(1).Info("atlas login failed", "error", err.Error())
		return "", err
	}
	c.logins.Add(1)
	c.log.V(1).Info("atlas login succeeded")
	return out.AccessToken, nil
}
