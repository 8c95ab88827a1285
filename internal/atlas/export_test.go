package atlas

import (
	"context"
	"time"
)

// SetSleep replaces the wait between attempts, so tests record delays
// instead of spending them.
func SetSleep(c *Client, f func(ctx context.Context, d time.Duration) error) { c.sleep = f }

// SetJitter replaces the full-jitter draw, so backoff tests are exact.
func SetJitter(c *Client, f func(max time.Duration) time.Duration) { c.jitter = f }

// SleepContext is the default sleep, exported for its own test.
var SleepContext = sleepContext
