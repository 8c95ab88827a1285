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

package chart

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/globalsign/atlas-issuer/test/buildenv"
)

// No Docker engine runs here, so the Dockerfile is checked by its shape,
// by building the binary exactly as its builder stage does, and by
// checking that its build context holds every file that build needs.

// instruction is one Dockerfile instruction with continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

func dockerfile(t *testing.T) []instruction {
	t.Helper()
	var out []instruction
	var cur string
	for line := range strings.SplitSeq(readFile(t, filepath.Join(root, "Dockerfile")), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if before, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur += before + " "
			continue
		}
		cur += trimmed
		cmd, args, _ := strings.Cut(cur, " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur = ""
	}
	return out
}

func TestDockerfileShape(t *testing.T) {
	t.Parallel()
	ins := dockerfile(t)
	var froms []string
	last := 0
	for i, in := range ins {
		if in.cmd == "FROM" {
			froms = append(froms, in.args)
			last = i
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got FROM %v", froms)
	}
	if !regexp.MustCompile(`^golang:1\.26(\S*)? (?i:AS) builder$`).MatchString(froms[0]) {
		t.Errorf("first stage = %q, want golang:1.26 AS builder", froms[0])
	}
	if got := froms[len(froms)-1]; got != "gcr.io/distroless/static:nonroot" {
		t.Errorf("final stage = %q, want the distroless static nonroot image", got)
	}

	env := buildEnv(t)
	build := goBuildInstruction(t, ins)
	wantFlags := append([]string{"CGO_ENABLED=0"}, strings.Fields(env["GO_BUILD_FLAGS"])...)
	wantFlags = append(wantFlags, fmt.Sprintf(`-ldflags "%s -X %s.Version=${VERSION} -X %[2]s.Revision=${REVISION}"`,
		env["GO_LDFLAGS"], env["VERSION_PACKAGE"]))
	for _, want := range wantFlags {
		if !strings.Contains(build, want) {
			t.Errorf("the go build RUN lacks %s (hack/build.env): %s", want, build)
		}
	}

	final := ins[last+1:]
	var user, entrypoint string
	var copied bool
	labels := map[string]string{}
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "COPY":
			copied = copied || (strings.HasPrefix(in.args, "--from=builder ") && strings.HasSuffix(in.args, " "+env["IMAGE_ENTRYPOINT"]))
		case "LABEL":
			for _, m := range regexp.MustCompile(`(org\.opencontainers\.image\.[a-z]+)="([^"]*)"`).FindAllStringSubmatch(in.args, -1) {
				labels[m[1]] = m[2]
			}
		case "RUN":
			t.Errorf("the final stage runs %q; distroless has no shell", in.args)
		}
	}
	// Numeric, so the kubelet can enforce runAsNonRoot; the same user as
	// make image's.
	if user != env["IMAGE_USER"] || !regexp.MustCompile(`^\d+:\d+$`).MatchString(user) {
		t.Errorf("final USER = %q, want hack/build.env's numeric IMAGE_USER %q", user, env["IMAGE_USER"])
	}
	if want := `["` + env["IMAGE_ENTRYPOINT"] + `"]`; entrypoint != want {
		t.Errorf("ENTRYPOINT %q, want %s: exec form (there is no shell) at hack/build.env's IMAGE_ENTRYPOINT", entrypoint, want)
	}
	if !copied {
		t.Errorf("the final stage does not copy the binary from the builder to %s", env["IMAGE_ENTRYPOINT"])
	}
	want := map[string]string{"version": "${VERSION}", "revision": "${REVISION}"}
	for _, l := range []string{"title", "description", "url", "source", "vendor", "licenses"} {
		want[l] = env["IMAGE_"+strings.ToUpper(l)]
	}
	for l, v := range want {
		if got, ok := labels["org.opencontainers.image."+l]; !ok || got != v {
			t.Errorf("label org.opencontainers.image.%s = %q, want %q as in hack/build.env", l, got, v)
		}
	}
}

// buildEnv reads hack/build.env, the build flags, user and labels the
// Makefile's image and the Dockerfile share.
func buildEnv(t *testing.T) map[string]string {
	t.Helper()
	env, err := buildenv.Read(root)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestMakefileUsesBuildEnv: make image takes its flags, user and labels
// from hack/build.env rather than spelling them out again.
func TestMakefileUsesBuildEnv(t *testing.T) {
	t.Parallel()
	mk := readFile(t, filepath.Join(root, "Makefile"))
	if !regexp.MustCompile(`(?m)^include hack/build\.env$`).MatchString(mk) {
		t.Error("the Makefile does not include hack/build.env")
	}
	script := readFile(t, filepath.Join(root, "hack", "image.sh"))
	release := readFile(t, filepath.Join(root, "hack", "release.sh"))
	for k, v := range buildEnv(t) {
		spelled := regexp.MustCompile(`(^|[\s="])` + regexp.QuoteMeta(v) + `($|[\s"])`)
		if strings.HasPrefix(k, "PLUGIN_") {
			// The plugin's archives are hack/release.sh's.
			if spelled.MatchString(release) || !strings.Contains(release, "$"+k) {
				t.Errorf("hack/release.sh does not take %s from hack/build.env", k)
			}
			continue
		}
		if strings.HasPrefix(k, "IMAGE_") && spelled.MatchString(script) {
			t.Errorf("hack/image.sh spells out %s's value %q instead of using $%s", k, v, k)
		}
		if !strings.Contains(script, "$"+k) {
			t.Errorf("hack/image.sh does not use %s from hack/build.env", k)
		}
	}
}

func goBuildInstruction(t *testing.T, ins []instruction) string {
	t.Helper()
	for _, in := range ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			return in.args
		}
	}
	t.Fatal("no RUN go build in the Dockerfile")
	return ""
}

// TestDockerfileBinaryIsStatic builds the manager with the Dockerfile's
// own go build flags and checks the result needs no dynamic loader and no
// shared library: the distroless static image has neither.
func TestDockerfileBinaryIsStatic(t *testing.T) {
	t.Parallel()
	build := goBuildInstruction(t, dockerfile(t))
	_, cmdline, _ := strings.Cut(build, "go build ")
	// As docker build --build-arg VERSION=... --build-arg REVISION=... would.
	cmdline = strings.NewReplacer("${VERSION}", "v9.9.9-test", "${REVISION}", "0123abc").Replace(cmdline)
	args := shellFields(t, cmdline)
	// Keep the flags, drop the Dockerfile's output path and package.
	if i := slices.Index(args, "-o"); i >= 0 {
		args = args[:i]
	}
	bin := filepath.Join(t.TempDir(), "manager")
	cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", bin, ".")...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a PT_INTERP program header: it is dynamically linked")
		}
	}
	needed, err := f.DynString(elf.DT_NEEDED)
	if err != nil {
		t.Fatal(err)
	}
	if len(needed) > 0 {
		t.Errorf("the binary needs shared libraries %v", needed)
	}
	if f.Section(".symtab") != nil {
		t.Error(`the binary has a symbol table: -ldflags "-s -w" did not apply`)
	}
	// The -X paths name real variables: a stale one would leave released
	// images reporting the default silently, so stamp a value and read it.
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	if got := strings.TrimSpace(string(out)); got != "atlas-issuer v9.9.9-test (revision 0123abc)" {
		t.Errorf("--version printed %q", got)
	}
}

// shellFields splits a command line the way sh would for plain words and
// double-quoted strings, which is all the Dockerfile's build uses.
func shellFields(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile(`"([^"]*)"|(\S+)`).FindAllStringSubmatch(s, -1) {
		if m[2] != "" {
			if strings.ContainsAny(m[2], `'$`) {
				t.Fatalf("cannot run %q from the Dockerfile here", m[2])
			}
			out = append(out, m[2])
		} else {
			out = append(out, m[1])
		}
	}
	return out
}

// TestDockerBuildContext: every Go package and embedded file the manager
// is built from is COPYed into the builder and not excluded by
// .dockerignore, so a new top-level package cannot break the image build
// unnoticed.
func TestDockerBuildContext(t *testing.T) {
	t.Parallel()
	var copied []string
	for _, in := range dockerfile(t) {
		if in.cmd != "COPY" || strings.HasPrefix(in.args, "--from") {
			continue
		}
		fields := strings.Fields(in.args)
		for _, src := range fields[:len(fields)-1] {
			copied = append(copied, filepath.Clean(src))
		}
	}
	ignore := dockerignore(t)
	out, err := run(t, "go", "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{range .GoFiles}}{{$.Dir}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$.Dir}}/{{.}}
{{end}}{{end}}{{end}}`, ".")
	if err != nil {
		t.Fatal(err)
	}
	files := append(strings.Fields(out), filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
	if len(files) < 10 {
		t.Fatalf("go list found only %d files", len(files))
	}
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		if !slices.ContainsFunc(copied, func(src string) bool { return src == rel || strings.HasPrefix(rel, src+"/") }) {
			t.Errorf("%s is not COPYed into the builder stage", rel)
		}
		if ignore.excludes(rel) {
			t.Errorf("%s is excluded from the build context by .dockerignore", rel)
		}
	}
}

type ignoreRule struct {
	re     *regexp.Regexp
	negate bool
}

type ignoreRules []ignoreRule

// dockerignore parses .dockerignore with Docker's rules as far as this
// repository uses them: the last matching pattern wins, a pattern matches a
// path or any of its parents, "**" spans directories, "!" re-includes.
func dockerignore(t *testing.T) ignoreRules {
	t.Helper()
	var rules ignoreRules
	for line := range strings.SplitSeq(readFile(t, filepath.Join(root, ".dockerignore")), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		negate := strings.HasPrefix(line, "!")
		p := filepath.ToSlash(filepath.Clean(strings.TrimPrefix(line, "!")))
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case p[i] == '*':
				re.WriteString("[^/]*")
			case p[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		re.WriteString("$")
		rules = append(rules, ignoreRule{regexp.MustCompile(re.String()), negate})
	}
	return rules
}

func (rules ignoreRules) excludes(path string) bool {
	excluded := false
	for _, r := range rules {
		for p := path; p != "." && p != ""; p = filepath.ToSlash(filepath.Dir(p)) {
			if r.re.MatchString(p) {
				excluded = !r.negate
				break
			}
		}
	}
	return excluded
}
