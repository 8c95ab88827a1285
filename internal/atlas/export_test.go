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
	"net/http"
	"time"
)

// SetSleep replaces the wait between attempts, so tests record delays
// instead of spending them.
func SetSleep(c *Client, f func(ctx context.Context, d time.Duration) error) { c.sleep = f }

// SetJitter replaces the full-jitter draw, so backoff tests are exact.
func SetJitter(c *Client, f func(ceiling time.Duration) time.Duration) { c.jitter = f }

// SleepContext is the default sleep, exported for its own test.
var SleepContext = sleepContext

// The per-operation answer caps, for the limit tests.
const (
	LimitSmall       = limitSmall
	LimitTrustChain  = limitTrustChain
	LimitCertificate = limitCertificate
	LimitPolicy      = limitPolicy
	LimitPage        = limitPage
)

// WrapTransport puts wrap around the client's transport, so a test can see
// or replace what the client reads.
func WrapTransport(c *Client, wrap func(http.RoundTripper) http.RoundTripper) {
	c.http.Transport = wrap(c.http.Transport)
}
