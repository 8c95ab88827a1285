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
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// RetryPolicy says how often and how long the client retries a failed call.
// Zero fields take their defaults.
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts, the first included.
	// Default 4; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the backoff before the first retry; it doubles with every
	// retry up to MaxDelay, and the actual wait is drawn uniformly from
	// [0, backoff] (full jitter). Default 200ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. Default 10s.
	MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for; a
	// longer one ends the call with the error, whose RetryAfter tells the
	// caller when to come back. Default 60s. A caller may ask for no wait
	// at all with ReturnRetryAfter.
	MaxRetryAfter time.Duration
}

type returnRetryAfterKey struct{}

// ReturnRetryAfter returns a context whose calls end with the error at any
// Retry-After instead of waiting for it. It is for callers that hold a
// shared resource while they call (a signing slot) and would rather come
// back later: RetryAfter(err) tells them when. The same client may serve
// callers that can wait, such as issuer checks.
func ReturnRetryAfter(ctx context.Context) context.Context {
	return context.WithValue(ctx, returnRetryAfterKey{}, true)
}

func returnsRetryAfter(ctx context.Context) bool {
	v, _ := ctx.Value(returnRetryAfterKey{}).(bool)
	return v
}

// Defaults of RetryPolicy.
const (
	DefaultMaxAttempts   = 4
	DefaultBaseDelay     = 200 * time.Millisecond
	DefaultMaxDelay      = 10 * time.Second
	DefaultMaxRetryAfter = 60 * time.Second
)

func (p RetryPolicy) withDefaults() (RetryPolicy, error) {
	if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 || p.MaxRetryAfter < 0 {
		return p, errors.New("atlas: retry policy values must not be negative")
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	p.BaseDelay = orDefault(p.BaseDelay, DefaultBaseDelay)
	p.MaxDelay = orDefault(p.MaxDelay, DefaultMaxDelay)
	p.MaxRetryAfter = orDefault(p.MaxRetryAfter, DefaultMaxRetryAfter)
	if p.MaxDelay < p.BaseDelay {
		return p, fmt.Errorf("atlas: retry MaxDelay %s is shorter than BaseDelay %s", p.MaxDelay, p.BaseDelay)
	}
	return p, nil
}

// backoff returns BaseDelay*2^retry capped at MaxDelay, before jitter.
func (p RetryPolicy) backoff(retry int) time.Duration {
	d := p.BaseDelay
	for i := 0; i < retry && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// mayRepeat reports whether a failed attempt can be sent again. Calls with
// side effects are repeated only when Atlas certainly did not act: it said so
// with 429 or 503, or the request never left the client. After a timeout, a
// reset or a 500 the certificate may exist, and a second POST would issue a
// duplicate; the caller recovers from that with the serial it keeps.
func mayRepeat(r *request, err error) bool {
	if !IsRetryable(err) {
		return false
	}
	if !r.unsafe {
		return true
	}
	if ae, ok := errors.AsType[*Error](err); ok {
		return ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode == http.StatusServiceUnavailable
	}
	var te *transportError
	return errors.As(err, &te) && !te.sent
}

// do runs r to completion: it attaches a fresh token, logs in again once on
// a 401, and retries with backoff while mayRepeat allows and attempts
// remain. When ctx ends it returns at once with an error wrapping ctx.Err()
// and the last attempt's error.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	if r.limit <= 0 {
		return nil, fmt.Errorf("atlas %s: the request sets no response limit", r.op)
	}
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("atlas %s: encoding request: %w", r.op, err)
		}
	}

	var lastErr error
	reauthenticated := false
	tries := 0
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, &ctxDoneError{op: r.op, ctx: err, last: lastErr}
		}
		var token string
		if !r.noAuth {
			t, err := c.token(ctx)
			if err != nil {
				return nil, err
			}
			token = t
		}

		resp, err := c.send(ctx, r, payload, token, attempt)
		if err == nil {
			return resp, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			// A transport error now is only a symptom of the cancellation,
			// so the previous attempt's error says more; a response that
			// arrived in time is kept.
			if _, ok := errors.AsType[*Error](err); ok {
				lastErr = err
			}
			return nil, &ctxDoneError{op: r.op, ctx: ctxErr, last: lastErr}
		}
		lastErr = err

		// A 401 means the token was refused before Atlas acted, so even a
		// POST may be repeated once with a new token.
		if !r.noAuth && StatusCode(err) == http.StatusUnauthorized && !reauthenticated {
			reauthenticated = true
			c.tokens.invalidate(token)
			c.log.V(1).Info("atlas token refused, logging in again", "operation", r.op)
			continue
		}

		tries++
		if tries >= c.retry.MaxAttempts || !mayRepeat(r, err) {
			return nil, err
		}
		delay := c.jitter(c.retry.backoff(tries - 1))
		var ae *Error
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			if ae.RetryAfter > c.retry.MaxRetryAfter || returnsRetryAfter(ctx) {
				return nil, err
			}
			delay = ae.RetryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
			// Waiting would outlive the caller; give it the error now.
			return nil, err
		}
		c.log.V(1).Info("atlas retrying", "operation", r.op, "attempt", attempt, "delay", delay)
		if err := c.sleep(ctx, delay); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return nil, &ctxDoneError{op: r.op, ctx: err, last: lastErr}
		}
	}
}
