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
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"time"
)

// DiagnoseTLS opens one TLS connection to the endpoint with the client's
// certificate and returns the error the server answers it with, or nil when
// the server accepts the connection. A server that requires client
// certificates refuses an untrusted one with an alert that TLS 1.3 delivers
// only on the first read, and Go's HTTP/2 transport reports that as "client
// conn could not be established"; this probe recovers the alert so a user
// is told their mTLS certificate was refused rather than that Atlas is down.
func (c *Client) DiagnoseTLS(ctx context.Context) error {
	u, err := url.Parse(c.base)
	if err != nil {
		return err
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "443")
	}
	cfg := c.transport.TLSClientConfig.Clone()
	cfg.ServerName = u.Hostname()
	// HTTP/1.1 only: an HTTP/2 server would speak first and hide nothing,
	// but an HTTP/1.1 server stays silent until asked, so any byte or
	// error that arrives is the handshake's verdict.
	cfg.NextProtos = []string{"http/1.1"}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: c.timeout}, Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(c.clock.Now().Add(2 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		return nil
	}
	return err
}
