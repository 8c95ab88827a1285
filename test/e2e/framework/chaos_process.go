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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// StartManagerProcess starts one more manager process, logging to
// WorkDir/<name>.log, with ManagerArgs plus extra and the given environment
// added (for example the failpoint variable). Unlike StartManager it leaves
// Manager() alone: chaos runs keep several managers, kill them and stop the
// survivors themselves.
func (e *Env) StartManagerProcess(name string, env []string, extra ...string) (*Process, error) {
	e.logf("starting manager %s", name)
	return Start(e.WorkDir, name, filepath.Join(e.BinDir, "manager"), e.ManagerArgs(extra...),
		append([]string{"POD_NAMESPACE=" + ClusterResourceNamespace}, env...), nil)
}

// Exited reports whether the process has ended and, if so, how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// KilledBySignal reports whether the ended process died of SIGKILL, the way
// a crash (or a failpoint) ends it.
func (p *Process) KilledBySignal() bool {
	done, err := p.Exited()
	if !done || err == nil {
		return false
	}
	var ee interface{ Sys() any }
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return ws.Signaled() && ws.Signal() == syscall.SIGKILL
		}
	}
	return strings.Contains(err.Error(), "signal: killed")
}

// LogContains reports whether the process's log holds s (case-insensitive).
func (p *Process) LogContains(s string) bool {
	b, err := os.ReadFile(p.LogPath)
	return err == nil && strings.Contains(strings.ToLower(string(b)), strings.ToLower(s))
}

// WatchCache starts an informer cache of the e2e scheme's kinds, limited to
// namespaces (all when none are given), so that a harness can follow
// hundreds of objects by watching instead of polling each one. It returns
// once the caches have synced for the kinds in prime, which it lists once.
func (e *Env) WatchCache(ctx context.Context, prime []client.ObjectList, namespaces ...string) (cache.Cache, error) {
	opts := cache.Options{Scheme: Scheme()}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	c, err := cache.New(e.RESTConfig, opts)
	if err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, l := range prime {
		// The first List starts the informer of that kind.
		if err := c.List(syncCtx, l); err != nil {
			return nil, fmt.Errorf("watch cache: %w", err)
		}
	}
	if !c.WaitForCacheSync(syncCtx) {
		return nil, errors.New("watch cache did not sync within a minute")
	}
	return c, nil
}
