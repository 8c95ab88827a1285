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

package framework

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"testing"
)

func TestHasArg(t *testing.T) {
	args := []string{"--cert-dir=/tmp/a", "--data-dir", "/tmp/b", "--x"}
	for _, tc := range []struct {
		flag, value string
		want        bool
	}{
		{"--cert-dir", "/tmp/a", true},
		{"--data-dir", "/tmp/b", true},
		{"--cert-dir", "/tmp/b", false},
		{"--data-dir", "/tmp/a", false},
		{"--x", "", false},
	} {
		if got := hasArg(args, tc.flag, tc.value); got != tc.want {
			t.Errorf("hasArg(%s, %s) = %v, want %v", tc.flag, tc.value, got, tc.want)
		}
	}
}

func TestEstablishedPeers(t *testing.T) {
	const table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A1B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 20 4 30 10 -1
   1: 0100007F:A1B3 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:A1B4 0100007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 20 4 30 10 -1
   4: 0100007F:A1B5 0100007F:0050 06 00000000:00000000 00:00000000 00000000     0        0 5555 1 0000000000000000 20 4 30 10 -1
`
	got := establishedPeers(table, map[string]bool{"1111": true, "3333": true, "4444": true, "5555": true})
	// 2222 is another process's; 4444 listens; 5555 is in TIME_WAIT.
	if len(got) != 2 || got[8080] != 1 || got[80] != 1 {
		t.Errorf("establishedPeers = %v, want map[80:1 8080:1]", got)
	}
}

// TestTCPPeers sees this process's own connection to a test server.
func TestTCPPeers(t *testing.T) {
	if _, err := os.Stat("/proc/self/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp")
	}
	hs := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(hs.Close)
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_, portStr, _ := net.SplitHostPort(hs.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	peers, err := TCPPeers(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if peers[port] < 1 {
		t.Errorf("TCPPeers = %v, want a connection to port %d", peers, port)
	}
}

func TestSlowProxyHandler(t *testing.T) {
	var sawAuth []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = append(sawAuth, r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "upstream "+r.URL.Path)
	}))
	t.Cleanup(upstream.Close)
	u, _ := url.Parse(upstream.URL)
	waiting, release := make(chan struct{}), make(chan struct{})
	p := &SlowProxy{}
	h := p.handler(u, http.DefaultTransport, "sekrit", func(context.Context) error {
		waiting <- struct{}{}
		<-release
		return nil
	})
	proxy := httptest.NewServer(h)
	t.Cleanup(proxy.Close)

	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, proxy.URL+"/api/v1/namespaces", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, token := range []string{"", "wrong"} {
		if status, _ := get(token); status != http.StatusUnauthorized {
			t.Errorf("token %q: %d, want 401", token, status)
		}
	}
	if p.Requests() != 0 || len(sawAuth) != 0 {
		t.Fatalf("refused requests were counted (%d) or passed on (%v)", p.Requests(), sawAuth)
	}

	done := make(chan string)
	go func() {
		_, body := get("sekrit")
		done <- body
	}()
	<-waiting
	if len(sawAuth) != 0 {
		t.Fatal("the request reached the API server before the delay ended")
	}
	close(release)
	if body := <-done; body != "upstream /api/v1/namespaces" {
		t.Errorf("body %q", body)
	}
	if p.Requests() != 1 || len(sawAuth) != 1 || sawAuth[0] != "" {
		t.Errorf("requests %d, upstream saw Authorization %q; want 1 request without the proxy's token", p.Requests(), sawAuth)
	}
}
