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

// Command bench is `make bench`: it measures the issuer on the end-to-end
// setup side by side with cert-manager's own CA issuer and writes
// bin/bench/report.json, report.md and throughput.png (see
// docs/performance.md).
//
// Environment:
//
//	BENCH_QUICK=1        the smaller variant, within 10 minutes
//	BENCH_ONLY=p1,p4     run only these phases (p1 p2 p4 p5 plot; P3 comes from p1)
//	BENCH_PPROF=1        serve the manager's pprof endpoints; save a heap profile after P4
//	                     (BENCH_PPROF=every: also every 10 s while P4 signs)
//	BENCH_OUT=dir        output directory (default: bin/bench in the repository)
//	BENCH_MANAGER_ENV="GODEBUG=gctrace=1"  extra environment for the manager alone (investigations)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/globalsign/atlas-issuer/test/e2e/bench"
	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := framework.RepoRoot()
	if err != nil {
		return err
	}
	cfg := bench.Config{
		Quick:      truthy(os.Getenv("BENCH_QUICK")),
		Pprof:      truthy(os.Getenv("BENCH_PPROF")),
		PprofEvery: os.Getenv("BENCH_PPROF") == "every",
		OutDir:     os.Getenv("BENCH_OUT"),
		Logf: func(format string, args ...any) {
			fmt.Printf("%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
		},
	}
	cfg.ManagerEnv = strings.Fields(os.Getenv("BENCH_MANAGER_ENV"))
	if cfg.OutDir == "" {
		cfg.OutDir = filepath.Join(root, "bin", "bench")
	}
	for p := range strings.SplitSeq(os.Getenv("BENCH_ONLY"), ",") {
		if p = strings.TrimSpace(strings.ToLower(p)); p != "" {
			cfg.Only = append(cfg.Only, p)
		}
	}
	rep, err := bench.Run(ctx, cfg)
	if rep != nil {
		fmt.Printf("\n%s\nreport: %s\n", rep.Table(), filepath.Join(cfg.OutDir, "report.md"))
	}
	return err
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false", "no":
		return false
	}
	return true
}
