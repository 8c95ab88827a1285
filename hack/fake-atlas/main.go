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

// Command fake-atlas runs the fake GlobalSign Atlas HVCA API of
// internal/atlas/fake as a process, for e2e tests, benchmarks, chaos runs
// and demos, with a plain-HTTP admin API on loopback to steer it.
//
// On start it writes the credentials (apiKey, apiSecret, tls.crt, tls.key:
// the keys of an issuer's Secret, plus ca.crt, the CA of the server
// certificate) to --credentials-dir, then prints exactly one line to
// stdout:
//
//	fake-atlas url=https://127.0.0.1:PORT/v2 admin=http://127.0.0.1:PORT credentials=DIR
//
// and serves until SIGINT or SIGTERM. See fake.Server.AdminHandler for the
// admin API and fake.AdminClient for a client of it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fake-atlas:", err)
		os.Exit(1)
	}
}

// run is main without the process: it serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fake-atlas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "HTTPS listen address of the Atlas API")
	adminAddr := fs.String("admin-addr", "127.0.0.1:0", "plain-HTTP listen address of the admin API; it has no authentication, keep it on loopback")
	credDir := fs.String("credentials-dir", "", "directory to write apiKey, apiSecret, tls.crt, tls.key and ca.crt to (default: a new temporary directory)")
	apiKey := fs.String("api-key", "", "API key (default: random)")
	apiSecret := fs.String("api-secret", "", "API secret (default: random)")
	pendingPolls := fs.Int("pending-polls", 0, "GET /certificates/{serial} answers 202 this many times before 200")
	pendingFor := fs.Duration("pending-for", 0, "certificates stay pending this long after acceptance")
	tokenLifetime := fs.Duration("token-lifetime", 10*time.Minute, "access token lifetime")
	quota := fs.Int64("quota", 1_000_000, "remaining issuance quota")
	policyFile := fs.String("policy-file", "", "JSON validation policy (default: fake.DefaultPolicy, RSA)")
	ecdsaPolicy := fs.Bool("ecdsa", false, "use fake.DefaultECDSAPolicy when no --policy-file is given")
	verbose := fs.Bool("v", false, "log every request to stderr")
	var serverNames stringList
	fs.Var(&serverNames, "server-name", "a further DNS name or IP of the server certificate, e.g. the fake's Service name (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}

	opts := fake.Options{
		Addr:          *addr,
		APIKey:        *apiKey,
		APISecret:     *apiSecret,
		TokenLifetime: *tokenLifetime,
		PendingPolls:  *pendingPolls,
		PendingFor:    *pendingFor,
		ServerNames:   serverNames,
	}
	policy, err := loadPolicy(*policyFile, *ecdsaPolicy)
	if err != nil {
		return err
	}
	opts.Policy = policy
	if *verbose {
		opts.Logger = log.New(stderr, "", log.LstdFlags|log.Lmicroseconds)
	}

	srv, err := fake.Start(opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.SetQuota(*quota)

	dir := *credDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "fake-atlas-"); err != nil {
			return err
		}
	}
	if err := writeCredentials(dir, srv.Credentials()); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *adminAddr)
	if err != nil {
		return fmt.Errorf("admin listen: %w", err)
	}
	admin := &http.Server{Handler: srv.AdminHandler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- admin.Serve(ln) }()

	fmt.Fprintf(stdout, "fake-atlas url=%s admin=http://%s credentials=%s\n", srv.URL(), dialAddr(ln.Addr()), dir)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("admin: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadPolicy reads the validation policy from path; without a path it is
// the fake's ECDSA policy when ecdsa is set, else nil (the fake's default).
func loadPolicy(path string, ecdsa bool) (*atlas.ValidationPolicy, error) {
	if path == "" {
		if ecdsa {
			return fake.DefaultECDSAPolicy(), nil
		}
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p atlas.ValidationPolicy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// writeCredentials writes the files an issuer's Secret is made of. They
// hold the API secret and a private key, hence 0600.
func writeCredentials(dir string, c fake.Credentials) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files := map[string][]byte{
		"apiKey":    []byte(c.APIKey),
		"apiSecret": []byte(c.APISecret),
		"tls.crt":   c.CertPEM,
		"tls.key":   c.KeyPEM,
		"ca.crt":    c.ServerCAPEM,
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
		// WriteFile keeps the mode of a file that already exists.
		if err := os.Chmod(p, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// dialAddr is the address to print: a wildcard listener is reached on
// loopback.
func dialAddr(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok && (t.IP == nil || t.IP.IsUnspecified()) {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(t.Port))
	}
	return a.String()
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
