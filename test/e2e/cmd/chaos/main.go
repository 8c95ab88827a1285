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

// Command chaos is the end-to-end half of `make test-chaos`: it builds and
// starts the e2e setup (envtest, cert-manager's controllers, the fake Atlas,
// the manager) and runs package chaos against it: malformed input and
// broken Secrets, 500 Certificates under injected Atlas faults, a
// well-behaved tenant alone and beside a hostile one, 200 while managers
// are SIGKILLed (failpoints and leader election included), restarts whose
// lookup fails, bursts while the API server, etcd, Atlas's sessions or
// Atlas's clock misbehave, a count of the certificates no Secret holds, and
// a canary scan of every log, event and status. It writes
// bin/chaos/report.json and exits non-zero when a goal of
// docs/reliability.md is missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/globalsign/atlas-issuer/test/e2e/chaos"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

func main() {
	var cfg chaos.Config
	out := flag.String("report", "", "report path (default: bin/chaos/report.json in the repository)")
	flag.IntVar(&cfg.FaultCerts, "fault-certs", 500, "Certificates issued under injected faults")
	flag.IntVar(&cfg.CrashCerts, "crash-certs", 200, "Certificates issued while managers are killed")
	flag.IntVar(&cfg.MinKills, "min-kills", 20, "manager kills the crash run must reach")
	flag.IntVar(&cfg.TenantCerts, "tenant-certs", 40, "the well-behaved tenant's Certificates alone, and again beside the hostile tenant")
	flag.IntVar(&cfg.LeaderKills, "leader-kills", 4, "kills of the leader among two replicas")
	flag.DurationVar(&cfg.FaultTimeout, "fault-timeout", 9*time.Minute, "how long the fault run may take")
	flag.DurationVar(&cfg.CrashTimeout, "crash-timeout", 8*time.Minute, "how long the crash run may take")
	flag.Uint64Var(&cfg.Seed, "seed", 0, "seed of the harness's random choices (default: the clock)")
	skip := flag.String("skip", "", "comma-separated phases or scenarios not to run, for development (the run then misses their goals): badinput, faults, tenants, crash, lookup, controlplane, or a key of lookup_failure or control_plane")
	flag.Parse()
	cfg.Skip = map[string]bool{}
	for p := range strings.SplitSeq(*skip, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.Skip[p] = true
		}
	}

	// The harness's own clients log nothing.
	ctrllog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	cfg.Logf = func(format string, args ...any) {
		fmt.Printf("%6.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	root, err := framework.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	cfg.WorkDir = filepath.Join(root, "bin", "chaos", "run")
	if *out == "" {
		*out = filepath.Join(root, "bin", "chaos", "report.json")
	}
	rep, err := chaos.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\nlogs are in %s\n", err, cfg.WorkDir)
		os.Exit(2)
	}
	if err := rep.Write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	b, _ := os.ReadFile(*out)
	fmt.Printf("report %s:\n%s", *out, b)
	if len(rep.Goals) > 0 {
		fmt.Fprintf(os.Stderr, "chaos: goals missed:\n")
		for _, g := range rep.Goals {
			fmt.Fprintf(os.Stderr, "  - %s\n", g)
		}
		fmt.Fprintf(os.Stderr, "logs are in %s\n", cfg.WorkDir)
		os.Exit(1)
	}
	fmt.Printf("chaos: every goal met in %s\n", time.Since(start).Round(time.Second))
}
