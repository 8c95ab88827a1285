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
	"net/http"
)

// DiagnoseTLS sends one request, without credentials, to the endpoint over
// a new HTTP/1.1 connection with the client's certificate and returns the
// error the server answers it with, or nil when any HTTP response comes
// back. A server that requires client certificates refuses an untrusted
// one with an alert that TLS 1.3 delivers only on the first read, and Go's
// HTTP/2 transport reports that as "client conn could not be established";
// over HTTP/1.1 the alert surfaces as the request's error, so a user is
// told their mTLS certificate was refused rather than that Atlas is down.
// The probe goes through the client's own proxy and dialer, as every other
// call does.
func (c *Client) DiagnoseTLS(ctx context.Context) error {
	t := c.transport.Clone()
	defer t.CloseIdleConnections()
	t.ForceAttemptHTTP2 = false
	// A non-nil empty map turns HTTP/2 off.
	t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	t.TLSClientConfig.NextProtos = []string{"http/1.1"}
	t.DisableKeepAlives = true

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/", nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := t.RoundTrip(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
