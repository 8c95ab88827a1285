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

// Package framework runs the end-to-end setup as separate processes, the
// way a cluster would: envtest's kube-apiserver and etcd, cert-manager's
// own controllers, the fake Atlas and our manager, each built from source.
// The e2e suite, `make demo`, the benchmarks and the chaos runs share it.
package framework

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a child process whose output goes to a log file.
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	logFile *os.File
}

// Start runs bin with args, logging to dir/<name>.log. When firstLine is
// not nil, Start waits for the first stdout line and returns it, so callers
// can read an address the process prints.
func Start(dir, name, bin string, args []string, env []string, firstLine *string) (*Process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(ChildEnv(), env...)
	cmd.Stderr = f
	// A process group of its own, so SIGKILL in chaos tests hits only it
	// and the terminal's Ctrl-C reaches it through us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout io.ReadCloser
	if firstLine != nil {
		stdout, err = cmd.StdoutPipe()
		if err != nil {
			_ = f.Close()
			return nil, err
		}
	} else {
		cmd.Stdout = f
	}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{}), logFile: f}
	lines := make(chan string, 1)
	if stdout != nil {
		go func() {
			r := bufio.NewReader(stdout)
			line, _ := r.ReadString('\n')
			lines <- strings.TrimSpace(line)
			_, _ = f.WriteString(line)
			_, _ = io.Copy(f, r)
		}()
	}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close() // the process has exited; its log is complete
		close(p.done)
	}()
	if firstLine != nil {
		select {
		case *firstLine = <-lines:
		case <-p.done:
			return nil, fmt.Errorf("%s exited before it was ready: %w; log: %s", name, p.err, Tail(logPath, 20))
		case <-time.After(60 * time.Second):
			p.Kill()
			return nil, fmt.Errorf("%s printed nothing within 60s; log: %s", name, Tail(logPath, 20))
		}
	}
	return p, nil
}

// childEnvKeys are the only variables a child process gets from ours:
// whatever else the caller's shell holds (GOGC, GOMEMLIMIT, GODEBUG,
// proxies) must not change what a test or benchmark measures unseen.
var childEnvKeys = []string{"PATH", "HOME", "TMPDIR"}

// ChildEnv is the environment Start gives every child before the
// variables the caller adds: PATH, HOME and TMPDIR from ours, when set.
func ChildEnv() []string {
	var env []string
	for _, k := range childEnvKeys {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// goRuntimeEnvKeys are the variables that change how a Go program runs
// (its garbage collector, memory limit, scheduler and debug settings).
var goRuntimeEnvKeys = []string{"GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS", "GOTRACEBACK"}

// RemoveGoRuntimeEnv unsets the Go runtime variables in this process's
// environment and returns the ones it removed as NAME=value. envtest
// starts kube-apiserver and etcd with this process's environment, not
// through Start, so a benchmark calls this before Setup.
func RemoveGoRuntimeEnv() []string {
	var removed []string
	for _, k := range goRuntimeEnvKeys {
		if v, ok := os.LookupEnv(k); ok {
			removed = append(removed, k+"="+v)
			_ = os.Unsetenv(k)
		}
	}
	return removed
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop sends SIGTERM and waits up to timeout, then kills.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not stop within %s", p.Name, timeout)
	}
}

// Kill sends SIGKILL and waits for the exit: a crash, not a shutdown.
func (p *Process) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Tail returns the last n lines of a file, for error messages.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n" + strings.Join(lines, "\n")
}

var buildMu sync.Mutex

// Build compiles a main package with `go build -C dir`, so each binary is
// built from its own module exactly as a release would be.
func Build(ctx context.Context, dir, pkg, out string) error {
	buildMu.Lock()
	defer buildMu.Unlock()
	cmd := exec.CommandContext(ctx, "go", "build", "-C", dir, "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// RepoRoot finds the main module's directory from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/globalsign/atlas-issuer\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("not inside the atlas-issuer repository")
		}
	}
}
