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
//	BENCH_ONLY=start,memory  run only these phases (side-by-side start latency plot
//	                     memory), or the phases of these goals (p1 ... p8)
//	BENCH_PPROF=1        save a heap profile after the memory phase's burst
//	                     (BENCH_PPROF=every: also every 10 s while it signs;
//	                     BENCH_PPROF=cpu: a CPU profile of the manager during every
//	                     run of the side-by-side phase, bin/bench/cpu-<namespace>.pprof)
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

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

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
	// controller-runtime's client and envtest log through its global
	// logger; the benchmark prints its own lines only.
	ctrllog.SetLogger(logr.Discard())
	removed := framework.RemoveGoRuntimeEnv()
	root, err := framework.RepoRoot()
	if err != nil {
		return err
	}
	cfg := bench.Config{
		Quick:      truthy(os.Getenv("BENCH_QUICK")),
		Pprof:      truthy(os.Getenv("BENCH_PPROF")),
		PprofEvery: os.Getenv("BENCH_PPROF") == "every",
		CPUProfile: os.Getenv("BENCH_PPROF") == "cpu",
		OutDir:     os.Getenv("BENCH_OUT"),
		Logf: func(format string, args ...any) {
			fmt.Printf("%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
		},
	}
	cfg.ManagerEnv = strings.Fields(os.Getenv("BENCH_MANAGER_ENV"))
	cfg.Environment = bench.Environment{Children: framework.ChildEnv(), Removed: removed}
	if cfg.OutDir == "" {
		cfg.OutDir = filepath.Join(root, "bin", "bench")
	}
	for p := range strings.SplitSeq(os.Getenv("BENCH_ONLY"), ",") {
		if p = strings.TrimSpace(strings.ToLower(p)); p != "" {
			name := bench.PhaseName(p)
			if name == "" {
				return fmt.Errorf("BENCH_ONLY: no phase %q (phases: %s)", p, strings.Join(bench.Phases, " "))
			}
			cfg.Only = append(cfg.Only, name)
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
