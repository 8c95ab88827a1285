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

// Command scrape GETs one URL and copies the body to stdout: the cluster
// suite runs it in a pod to read the manager's metrics from inside the
// cluster, through the metrics Service, as Prometheus would. With
// --token-file it sends that file's content as a bearer token (a pod's
// ServiceAccount token). It exits 0 when the answer has the status
// --want-status, so a pod can also prove that a scrape is refused.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	tokenFile := flag.String("token-file", "", "file with a bearer token to send")
	insecure := flag.Bool("insecure-skip-verify", false, "accept any server certificate (the manager's self-signed one)")
	want := flag.Int("want-status", http.StatusOK, "the HTTP status that counts as success")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: scrape [--token-file FILE] [--insecure-skip-verify] [--want-status N] URL")
		os.Exit(2)
	}
	if err := scrape(flag.Arg(0), *tokenFile, *insecure, *want); err != nil {
		fmt.Fprintln(os.Stderr, "scrape:", err)
		os.Exit(1)
	}
}

func scrape(url, tokenFile string, insecure bool, want int) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(b)))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: insecure} //nolint:gosec // only for a self-signed test endpoint, by flag
	resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	fmt.Fprintln(os.Stderr, "status:", resp.Status)
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s: %s, want %d", url, resp.Status, want)
	}
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}
