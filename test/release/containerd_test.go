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

package release

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// checkContainerdImport imports make image's tarball into a containerd of
// its own (socket and state in a temporary directory) as a node would with
// `ctr -n k8s.io images import`, then runs the manager from it.
func checkContainerdImport(t *testing.T, tarball, ref, wantVersion string) {
	if os.Getuid() != 0 {
		t.Skip("containerd needs root to unpack and run images")
	}
	for _, bin := range []string{"containerd", "ctr"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed; make test-release installs it (hack/deb.sh)", bin)
		}
	}
	// Short paths: a unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "ctrd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sock")
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = logFile.Close() }() // only read after a failure
	daemon := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	daemon.Stdout, daemon.Stderr = logFile, logFile
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	t.Cleanup(func() {
		_ = daemon.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			t.Logf("containerd stopped: %v", err)
		case <-time.After(30 * time.Second):
			_ = daemon.Process.Kill()
			t.Logf("containerd killed after 30 s: %v", <-exited)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ctr := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", sock, "-n", "k8s.io"}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// containerd answers once its socket is up.
	for {
		if _, err := ctr("version"); err == nil {
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("containerd exited: %v\n%s", err, log)
		case <-ctx.Done():
			t.Fatal("containerd did not start")
		case <-time.After(100 * time.Millisecond):
		}
	}
	if out, err := ctr("images", "import", tarball); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	list, err := ctr("images", "ls")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, ref) || !strings.Contains(list, "linux/amd64") || !strings.Contains(list, "linux/arm64") {
		t.Errorf("ctr images ls after the import:\n%s", list)
	}
	out, err := ctr("run", "--rm", ref, "manager-version", "/manager", "--version")
	if err != nil {
		t.Fatalf("ctr run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "atlas-issuer "+wantVersion+" ") {
		t.Errorf("the imported image's /manager --version printed %q", out)
	}
}
