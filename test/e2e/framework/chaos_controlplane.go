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
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// Component is a process of envtest's control plane.
type Component string

// The control plane's processes.
const (
	ComponentAPIServer Component = "kube-apiserver"
	ComponentEtcd      Component = "etcd"
)

// StoppedComponent is a control-plane process the harness stopped, with
// what it takes to start it again as it was: the same binary, arguments
// and environment, so the same ports, certificates and data directory.
type StoppedComponent struct {
	e         *Env
	component Component
	path      string
	args, env []string
}

// procInfo is what /proc tells of a process.
type procInfo struct {
	pid       int
	path      string
	args, env []string
}

// marker is the argument that tells this run's process of a component from
// any other on the machine: its certificate or data directory.
func (e *Env) marker(c Component) (flag, value string, err error) {
	if e.testEnv == nil || e.testEnv.ControlPlane.APIServer == nil || e.testEnv.ControlPlane.Etcd == nil {
		return "", "", errors.New("the control plane is not running")
	}
	switch c {
	case ComponentAPIServer:
		return "--cert-dir", e.testEnv.ControlPlane.APIServer.CertDir, nil
	case ComponentEtcd:
		return "--data-dir", e.testEnv.ControlPlane.Etcd.DataDir, nil
	}
	return "", "", fmt.Errorf("unknown component %q", c)
}

// hasArg reports whether args hold flag=value or flag followed by value.
func hasArg(args []string, flag, value string) bool {
	for i, a := range args {
		if a == flag+"="+value || (a == flag && i+1 < len(args) && args[i+1] == value) {
			return true
		}
	}
	return false
}

// findComponent finds the running process of a component in /proc.
func (e *Env) findComponent(c Component) (procInfo, error) {
	flag, value, err := e.marker(c)
	if err != nil {
		return procInfo{}, err
	}
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return procInfo{}, err
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if filepath.Base(argv[0]) != string(c) || !hasArg(argv[1:], flag, value) {
			continue
		}
		path, err := os.Readlink(filepath.Join("/proc", d.Name(), "exe"))
		if err != nil {
			return procInfo{}, err
		}
		environ, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil {
			return procInfo{}, err
		}
		var env []string
		for kv := range bytes.SplitSeq(bytes.TrimRight(environ, "\x00"), []byte{0}) {
			if len(kv) > 0 {
				env = append(env, string(kv))
			}
		}
		return procInfo{pid: pid, path: path, args: argv[1:], env: env}, nil
	}
	return procInfo{}, fmt.Errorf("no running %s with %s=%s", c, flag, value)
}

// StopComponent stops the control plane's kube-apiserver or etcd with
// SIGTERM, as an operator or a node shutdown would, and SIGKILL after
// grace; it returns once the process is gone. The first time the process
// is envtest's own; after a StopComponent and Start it is the harness's.
func (e *Env) StopComponent(c Component, grace time.Duration) (*StoppedComponent, error) {
	info, err := e.findComponent(c)
	if err != nil {
		return nil, err
	}
	e.logf("stopping %s (pid %d)", c, info.pid)
	if p := e.restartedCP[c]; p != nil && p.Pid() == info.pid {
		_ = p.Stop(grace) // killed after grace; gone either way
	} else if err := stopPid(info.pid, grace); err != nil {
		return nil, err
	}
	return &StoppedComponent{e: e, component: c, path: info.path, args: info.args, env: info.env}, nil
}

// stopPid ends a process this program did not start through Start (envtest
// reaps it): SIGTERM, then SIGKILL after grace, until /proc no longer has
// it.
func stopPid(pid int, grace time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	killed := false
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			return nil
		}
		if !killed && time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			killed = true
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			return fmt.Errorf("pid %d did not exit", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Start runs the component again with the arguments and environment it
// had, logging to WorkDir/<component>-<n>.log, and waits until the API
// server answers /readyz (which checks etcd too).
func (s *StoppedComponent) Start(ctx context.Context, timeout time.Duration) error {
	e := s.e
	e.restarts++
	p, err := Start(e.WorkDir, fmt.Sprintf("%s-%d", s.component, e.restarts), s.path, s.args, s.env, nil)
	if err != nil {
		return err
	}
	if e.restartedCP == nil {
		e.restartedCP = map[Component]*Process{}
	}
	e.restartedCP[s.component] = p
	e.logf("started %s again (pid %d)", s.component, p.Pid())
	return e.WaitAPIReady(ctx, timeout)
}

// WaitAPIReady waits until the API server answers /readyz with 200.
func (e *Env) WaitAPIReady(ctx context.Context, timeout time.Duration) error {
	hc, err := rest.HTTPClientFor(e.RESTConfig)
	if err != nil {
		return err
	}
	hc.Timeout = 5 * time.Second
	url := strings.TrimSuffix(e.RESTConfig.Host, "/") + "/readyz"
	deadline := time.Now().Add(timeout)
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/readyz: %s", resp.Status)
		} else {
			last = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server is not ready after %s: %w", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
