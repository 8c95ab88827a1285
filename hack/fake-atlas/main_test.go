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

package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

var startLine = regexp.MustCompile(`^fake-atlas url=(https://127\.0\.0\.1:\d+/v2) admin=(http://127\.0\.0\.1:\d+) credentials=(\S+)$`)

func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "creds")
	policy := fake.DefaultECDSAPolicy()
	policy.PublicKey.AllowedLengths = []int{384}
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	b, _ := json.Marshal(policy)
	if err := os.WriteFile(policyFile, b, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--credentials-dir", dir, "--quota", "7", "--pending-polls", "2", "--policy-file", policyFile}, pw, io.Discard)
		_ = pw.Close()
	}()

	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("no start line: %v", <-done)
	}
	m := startLine.FindStringSubmatch(sc.Text())
	if m == nil {
		t.Fatalf("start line %q does not match %v", sc.Text(), startLine)
	}
	apiURL, adminURL := m[1], m[2]
	if m[3] != dir {
		t.Errorf("credentials dir %q, want %q", m[3], dir)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }() // nothing more is expected; never block run

	read := func(name string) []byte {
		t.Helper()
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, fi.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		return b
	}
	apiKey, apiSecret := read("apiKey"), read("apiSecret")
	pair, err := tls.X509KeyPair(read("tls.crt"), read("tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(read("ca.crt")) {
		t.Fatal("ca.crt holds no certificate")
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}},
	}}
	defer hc.CloseIdleConnections()

	body, _ := json.Marshal(atlas.LoginRequest{APIKey: string(apiKey), APISecret: string(apiSecret)})
	req, _ := http.NewRequest(http.MethodPost, apiURL+"/login", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var lr atlas.LoginResponse
	if err := json.NewDecoder(resp.Body).Decode(&lr); err != nil {
		t.Fatalf("login answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || lr.AccessToken == "" {
		t.Fatalf("login with the written credentials: %d", resp.StatusCode)
	}
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, apiURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+lr.AccessToken)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var q atlas.Counter
	get("/quotas/issuance", &q)
	if q.Value != 7 {
		t.Errorf("quota = %d, want --quota 7", q.Value)
	}
	var p atlas.ValidationPolicy
	get("/validationpolicy", &p)
	if p.PublicKey == nil || p.PublicKey.KeyType != atlas.KeyTypeECDSA || len(p.PublicKey.AllowedLengths) != 1 || p.PublicKey.AllowedLengths[0] != 384 {
		t.Errorf("policy from --policy-file not served: %+v", p.PublicKey)
	}

	admin := &fake.AdminClient{URL: adminURL}
	st, err := admin.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Calls[fake.OpLogin] != 1 || st.Calls[fake.OpQuota] != 1 || st.Quota != 7 {
		t.Errorf("admin stats = %+v", st)
	}
	if err := admin.SetQuota(ctx, 3); err != nil {
		t.Fatal(err)
	}
	get("/quotas/issuance", &q)
	if q.Value != 3 {
		t.Errorf("quota after admin SetQuota = %d", q.Value)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"--policy-file", "/does/not/exist"}, {"extra"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}
