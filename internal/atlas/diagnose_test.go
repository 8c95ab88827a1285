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

package atlas_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// connectProxy is an HTTP CONNECT proxy on 127.0.0.1 that records the
// targets it tunnels to.
type connectProxy struct {
	srv     *httptest.Server
	mu      sync.Mutex
	targets []string
}

func newConnectProxy(t *testing.T) *connectProxy {
	t.Helper()
	p := &connectProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		p.mu.Lock()
		p.targets = append(p.targets, r.Host)
		p.mu.Unlock()
		upstream, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			_ = upstream.Close()
			return
		}
		go func() {
			_, _ = io.Copy(upstream, buf)
			_ = upstream.Close()
		}()
		_, _ = io.Copy(conn, upstream)
		_ = conn.Close()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

func TestDiagnoseTLSGoesThroughTheProxy(t *testing.T) {
	p := getPKI(t)
	tests := []struct {
		name       string
		wantReject bool
	}{
		{name: "trusted client certificate"},
		{name: "untrusted client certificate", wantReject: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAtlas(t, true)
			proxy := newConnectProxy(t)
			proxyURL, err := url.Parse(proxy.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := newClient(t, f, func(cfg *atlas.Config) {
				cfg.Proxy = http.ProxyURL(proxyURL)
				if tt.wantReject {
					cfg.ClientCertificate = p.stranger
				}
			})
			err = c.DiagnoseTLS(testCtx(t))
			if got := atlas.IsTLSRejection(err); got != tt.wantReject {
				t.Fatalf("DiagnoseTLS = %v; TLS rejection %v, want %v", err, got, tt.wantReject)
			}
			target := f.srv.Listener.Addr().String()
			if seen := proxy.seen(); len(seen) != 1 || seen[0] != target {
				t.Fatalf("proxy tunnelled to %v, want exactly [%s]", seen, target)
			}
		})
	}
}
