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
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"sigs.k8s.io/yaml"

	"github.com/globalsign/atlas-issuer/test/buildenv"
)

// version is what the test releases: a prerelease, so nothing mistakes it
// for a real one.
const version = "v0.0.0-releasetest.1"

var root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// released is what one `make release` run produced.
type released struct {
	registry   string // host:port/globalsign
	digest     string // the image index digest make image wrote
	releaseDir string
	helmEnv    []string
	env        map[string]string // hack/build.env
	revision   string
	// pluginPlatforms are the platforms the plugin was released for.
	pluginPlatforms []string
}

// pluginPlatforms are the platforms to release the plugin for:
// RELEASE_PLUGIN_PLATFORMS when it names some, each of which hack/build.env's
// PLUGIN_PLATFORMS must have, or else all of those.
func pluginPlatforms(t *testing.T, env map[string]string) []string {
	t.Helper()
	all := strings.Fields(env["PLUGIN_PLATFORMS"])
	if len(all) == 0 {
		t.Fatal("hack/build.env has no PLUGIN_PLATFORMS")
	}
	want := strings.Fields(os.Getenv("RELEASE_PLUGIN_PLATFORMS"))
	if len(want) == 0 {
		return all
	}
	for _, p := range want {
		if !slices.Contains(all, p) {
			t.Fatalf("RELEASE_PLUGIN_PLATFORMS names %s, which PLUGIN_PLATFORMS %v does not release", p, all)
		}
	}
	return want
}

// TestRelease runs `make release` into a registry on 127.0.0.1 and pulls
// every artifact back.
func TestRelease(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	if !strings.HasPrefix(host, "127.0.0.1:") {
		t.Fatalf("the registry listens on %s, not on 127.0.0.1", host)
	}
	tmp := t.TempDir()
	r := released{
		registry:   host + "/globalsign",
		releaseDir: filepath.Join(tmp, "release"),
		env:        buildEnv(t),
		revision:   strings.TrimSpace(output(t, root, nil, "git", "rev-parse", "HEAD")),
	}
	// helm and the registry keychain get their own, empty configuration.
	r.helmEnv = []string{
		"HELM_CONFIG_HOME=" + filepath.Join(tmp, "helm", "config"),
		"HELM_CACHE_HOME=" + filepath.Join(tmp, "helm", "cache"),
		"HELM_DATA_HOME=" + filepath.Join(tmp, "helm", "data"),
		"DOCKER_CONFIG=" + filepath.Join(tmp, "docker"),
	}
	imageDir := filepath.Join(tmp, "image")
	var env []string
	for _, kv := range os.Environ() {
		// A make running this test must not hand its job server or flags
		// to the make the test runs.
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			env = append(env, kv)
		}
	}
	args := []string{"--no-print-directory", "release", "REGISTRY=" + r.registry, "VERSION=" + version, "PLAIN_HTTP=1",
		"IMAGE_DIR=" + imageDir, "RELEASE_DIR=" + r.releaseDir}
	r.pluginPlatforms = pluginPlatforms(t, r.env)
	if v := os.Getenv("RELEASE_PLUGIN_PLATFORMS"); strings.TrimSpace(v) != "" {
		args = append(args, "PLUGIN_PLATFORMS="+strings.Join(r.pluginPlatforms, " "))
	}
	start := time.Now()
	output(t, root, append(env, r.helmEnv...), "make", args...)
	t.Logf("make release took %s", time.Since(start).Round(time.Second))
	r.digest = strings.TrimSpace(readFile(t, filepath.Join(imageDir, "digest")))

	t.Run("image", func(t *testing.T) { checkImage(t, r) })
	t.Run("chart", func(t *testing.T) { checkChart(t, r) })
	t.Run("plugin", func(t *testing.T) { checkPlugin(t, r) })
	t.Run("ctr-import", func(t *testing.T) {
		checkContainerdImport(t, filepath.Join(imageDir, "image.tar"), r.env["IMAGE_REPOSITORY"]+":"+version, version)
	})
	t.Run("reproducible", func(t *testing.T) { checkReproducible(t, r, env, imageDir) })
}

// checkReproducible builds the image again from scratch into another
// directory, for the same commit and version, and expects the same bytes;
// then once more as another version, the control, and expects others.
//
// With RELEASE_REPRODUCE_PLATFORMS empty it rebuilds every platform and
// compares index digests. Naming some platforms (make test names the
// host's) rebuilds only those, into an index of its own, and compares each
// one's image manifest digest with the released index's entry for it:
// hack/image builds each platform's image from that platform's binary and
// the shared options alone, so a one-platform build holds the very
// manifest the multi-platform index points at (hack/image's
// TestOnePlatformIsTheIndexEntry).
func checkReproducible(t *testing.T, r released, env []string, imageDir string) {
	all := strings.Fields(r.env["IMAGE_PLATFORMS"])
	want := strings.Fields(os.Getenv("RELEASE_REPRODUCE_PLATFORMS"))
	for _, p := range want {
		if !slices.Contains(all, p) {
			t.Fatalf("RELEASE_REPRODUCE_PLATFORMS names %s, which IMAGE_PLATFORMS %v does not build", p, all)
		}
	}
	subset := len(want) > 0 && len(want) < len(all)
	if !subset {
		want = all
	}
	published := layoutEntries(t, imageDir)
	if published.digest != r.digest {
		t.Fatalf("%s holds %s, its digest file says %s", imageDir, published.digest, r.digest)
	}
	build := func(v string) entries {
		dir := filepath.Join(t.TempDir(), "image")
		args := []string{"--no-print-directory", "image", "VERSION=" + v, "IMAGE_DIR=" + dir}
		if subset {
			args = append(args, "IMAGE_PLATFORMS="+strings.Join(want, " "))
		}
		start := time.Now()
		output(t, root, env, "make", args...)
		t.Logf("make image of %s for %v took %s", v, want, time.Since(start).Round(time.Second))
		e := layoutEntries(t, dir)
		if !slices.Equal(e.platforms, want) {
			t.Fatalf("make image of %s built %v, want %v", v, e.platforms, want)
		}
		return e
	}

	again := build(version)
	if subset {
		for _, p := range want {
			if got := again.manifests[p]; got != published.manifests[p] {
				t.Errorf("%s: the release holds %s, make image of %s alone built %s", p, published.manifests[p], p, got)
			}
		}
	} else if again.digest != r.digest {
		t.Errorf("make image built %s, then %s", r.digest, again.digest)
	}

	// The control: another version is another image, on every platform.
	other := build(version + ".other")
	if subset {
		for _, p := range want {
			if got := other.manifests[p]; got == published.manifests[p] {
				t.Errorf("%s: make image of another version built the same %s", p, got)
			}
		}
	} else if other.digest == r.digest {
		t.Errorf("make image of another version built the same %s", other.digest)
	}
}

// entries is what an image layout hack/image wrote holds: its image index
// and each platform's image manifest in it.
type entries struct {
	digest    string
	platforms []string          // in index order
	manifests map[string]string // platform to image manifest digest
}

func layoutEntries(t *testing.T, dir string) entries {
	t.Helper()
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 {
		t.Fatalf("%s/index.json lists %d entries, want the image index alone", dir, len(tm.Manifests))
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	e := entries{digest: tm.Manifests[0].Digest.String(), manifests: map[string]string{}}
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("%s: index entry %s has no platform", dir, d.Digest)
		}
		p := d.Platform.OS + "/" + d.Platform.Architecture
		if d.Platform.Variant != "" {
			p += "/" + d.Platform.Variant
		}
		e.platforms = append(e.platforms, p)
		e.manifests[p] = d.Digest.String()
	}
	return e
}

func checkImage(t *testing.T, r released) {
	repo := r.registry + "/atlas-issuer"
	byTag, err := remote.Head(mustRef(t, repo+":"+version))
	if err != nil {
		t.Fatal(err)
	}
	if byTag.Digest.String() != r.digest {
		t.Errorf("%s:%s is %s, make image built %s", repo, version, byTag.Digest, r.digest)
	}
	idx, err := remote.Index(mustRef(t, repo+"@"+r.digest))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	wantPlatforms := strings.Fields(r.env["IMAGE_PLATFORMS"])
	if len(wantPlatforms) < 2 {
		t.Fatalf("IMAGE_PLATFORMS = %v: the image must be multi-platform", wantPlatforms)
	}
	var got []string
	for _, d := range im.Manifests {
		p := d.Platform.OS + "/" + d.Platform.Architecture
		got = append(got, p)
		t.Run(strings.ReplaceAll(p, "/", "-"), func(t *testing.T) {
			img, err := remote.Image(mustRef(t, repo+"@"+d.Digest.String()))
			if err != nil {
				t.Fatal(err)
			}
			checkPlatformImage(t, r, d.Platform, img)
		})
	}
	if !slices.Equal(got, wantPlatforms) {
		t.Errorf("the index holds %v, want %v", got, wantPlatforms)
	}
}

// elfMachines is the ELF machine each GOARCH the image may hold builds for.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "s390x": elf.EM_S390, "ppc64le": elf.EM_PPC64,
}

func checkPlatformImage(t *testing.T, r released, p *v1.Platform, img v1.Image) {
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != p.OS || cfg.Architecture != p.Architecture {
		t.Errorf("config is for %s/%s", cfg.OS, cfg.Architecture)
	}
	if cfg.Config.User != r.env["IMAGE_USER"] || cfg.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (hack/build.env %q)", cfg.Config.User, r.env["IMAGE_USER"])
	}
	entrypoint := r.env["IMAGE_ENTRYPOINT"]
	if !slices.Equal(cfg.Config.Entrypoint, []string{entrypoint}) {
		t.Errorf("entrypoint %q, want [%s]", cfg.Config.Entrypoint, entrypoint)
	}
	wantLabels := map[string]string{"version": version, "revision": r.revision}
	for _, l := range []string{"title", "description", "url", "source", "vendor", "licenses"} {
		wantLabels[l] = r.env["IMAGE_"+strings.ToUpper(l)]
	}
	for l, v := range wantLabels {
		if got := cfg.Config.Labels["org.opencontainers.image."+l]; got != v {
			t.Errorf("label org.opencontainers.image.%s = %q, want %q", l, got, v)
		}
	}

	files, hdrs := flatten(t, img)
	bin := files[entrypoint]
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", entrypoint, err)
	}
	if want, ok := elfMachines[p.Architecture]; !ok || f.Machine != want {
		t.Errorf("%s is built for %s, the platform is %s", entrypoint, f.Machine, p.Architecture)
	}
	if h := hdrs[entrypoint]; h.Uid != 0 || h.Mode&0o022 != 0 || h.Mode&0o111 == 0 {
		t.Errorf("%s: uid %d mode %o, want root-owned, executable, not writable by others", entrypoint, h.Uid, h.Mode)
	}
	if !strings.Contains(string(files["/etc/passwd"]), ":65532:65532:") {
		t.Errorf("/etc/passwd has no entry for 65532: %q", files["/etc/passwd"])
	}

	sbomPath := "/usr/share/sbom/" + path.Base(entrypoint) + ".spdx.json"
	var doc struct {
		SPDXVersion       string `json:"spdxVersion"`
		DataLicense       string `json:"dataLicense"`
		SPDXID            string `json:"SPDXID"`
		DocumentNamespace string `json:"documentNamespace"`
		Packages          []struct {
			Name      string `json:"name"`
			SPDXID    string `json:"SPDXID"`
			Comment   string `json:"comment"`
			Checksums []struct {
				Algorithm, ChecksumValue string
			} `json:"checksums"`
		} `json:"packages"`
		Relationships []struct {
			SPDXElementID, RelationshipType, RelatedSpdxElement string
		} `json:"relationships"`
	}
	if err := json.Unmarshal(files[sbomPath], &doc); err != nil {
		t.Fatalf("SBOM %s: %v", sbomPath, err)
	}
	sum := sha256.Sum256(bin)
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXID != "SPDXRef-DOCUMENT" || doc.DocumentNamespace == "" {
		t.Errorf("SBOM header %+v", doc)
	}
	if len(doc.Packages) < 10 || doc.Packages[0].Name != "github.com/globalsign/atlas-issuer" {
		t.Fatalf("SBOM packages: %d, first %+v", len(doc.Packages), doc.Packages[0])
	}
	main := doc.Packages[0]
	if len(main.Checksums) != 1 || main.Checksums[0].ChecksumValue != hex.EncodeToString(sum[:]) {
		t.Errorf("SBOM checksum %+v does not match %s", main.Checksums, entrypoint)
	}
	if !strings.Contains(main.Comment, "GOARCH="+p.Architecture) {
		t.Errorf("SBOM describes %q, not %s", main.Comment, p.Architecture)
	}
	var describes, controllerRuntime bool
	for _, rel := range doc.Relationships {
		describes = describes || (rel.RelationshipType == "DESCRIBES" && rel.RelatedSpdxElement == main.SPDXID)
	}
	for _, pkg := range doc.Packages {
		controllerRuntime = controllerRuntime || pkg.Name == "sigs.k8s.io/controller-runtime"
	}
	if !describes || !controllerRuntime {
		t.Errorf("SBOM does not describe the module (%v) or lacks controller-runtime (%v)", describes, controllerRuntime)
	}

	if p.Architecture == "amd64" {
		checkCABundle(t, files["/etc/ssl/certs/ca-certificates.crt"])
	}
}

// checkCABundle: the image's bundle alone verifies a real public chain
// (www.google.com's, from Go's crypto/x509 tests, to GTS Root R1), as Go
// does for the default Atlas URL when an issuer sets no caBundle. The same
// chain fails with no roots and with the bundle minus its root, so the
// check can fail.
func checkCABundle(t *testing.T, bundle []byte) {
	t.Helper()
	chain := parseCerts(t, readFile(t, filepath.Join("testdata", "google-chain.pem")))
	if len(chain) != 2 {
		t.Fatalf("testdata chain has %d certificates", len(chain))
	}
	verify := func(roots *x509.CertPool) error {
		inter := x509.NewCertPool()
		inter.AddCert(chain[1])
		_, err := chain[0].Verify(x509.VerifyOptions{
			DNSName: "www.google.com", Roots: roots, Intermediates: inter,
			// Inside the leaf's validity (January to March 2023).
			CurrentTime: time.Date(2023, 2, 1, 0, 0, 0, 0, time.UTC),
		})
		return err
	}
	roots := parseCerts(t, string(bundle))
	if len(roots) < 100 {
		t.Fatalf("the image's CA bundle holds %d certificates", len(roots))
	}
	all, withoutRoot := x509.NewCertPool(), x509.NewCertPool()
	removed := 0
	for _, c := range roots {
		all.AddCert(c)
		if c.Subject.CommonName == "GTS Root R1" {
			removed++
			continue
		}
		withoutRoot.AddCert(c)
	}
	if err := verify(all); err != nil {
		t.Errorf("the image's CA bundle does not verify a public chain: %v", err)
	}
	if err := verify(x509.NewCertPool()); err == nil {
		t.Error("the chain verified against an empty pool")
	}
	if removed == 0 {
		t.Error("the bundle has no GTS Root R1")
	} else if err := verify(withoutRoot); err == nil {
		t.Error("the chain verified against the bundle without its root")
	}
}

func checkChart(t *testing.T, r released) {
	helm := filepath.Join(root, "bin", "helm")
	chartVersion := strings.TrimPrefix(version, "v")
	dir := t.TempDir()
	env := append(os.Environ(), r.helmEnv...)
	output(t, dir, env, helm, "pull", "oci://"+r.registry+"/charts/atlas-issuer", "--version", chartVersion,
		"--plain-http", "-d", dir)
	tgz := filepath.Join(dir, "atlas-issuer-"+chartVersion+".tgz")
	meta := output(t, dir, env, helm, "show", "chart", tgz)
	for _, want := range []string{"version: " + chartVersion, "appVersion: " + version} {
		if !strings.Contains(meta, want) {
			t.Errorf("pulled chart lacks %q:\n%s", want, meta)
		}
	}
	manifests := output(t, dir, env, helm, "template", "atlas-issuer", tgz, "--namespace", "atlas-issuer")
	want := `image: "` + r.registry + "/atlas-issuer@" + r.digest + `"`
	if !strings.Contains(manifests, want) {
		t.Errorf("helm template of the pulled chart lacks %s", want)
	}
}

func checkPlugin(t *testing.T, r released) {
	var plugin struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct{ Name string }
		Spec       struct {
			Version          string `json:"version"`
			Homepage         string `json:"homepage"`
			ShortDescription string `json:"shortDescription"`
			Description      string `json:"description"`
			Platforms        []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				URI    string `json:"uri"`
				SHA256 string `json:"sha256"`
				Bin    string `json:"bin"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	// Strict: only fields krew's Plugin schema has may appear.
	if err := yaml.UnmarshalStrict([]byte(readFile(t, filepath.Join(r.releaseDir, "atlas.yaml"))), &plugin); err != nil {
		t.Fatal(err)
	}
	if plugin.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || plugin.Kind != "Plugin" ||
		plugin.Metadata.Name != "atlas" || plugin.Spec.Version != version {
		t.Errorf("krew manifest header: %+v", plugin)
	}
	sums := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(readFile(t, filepath.Join(r.releaseDir, "SHA256SUMS"))), "\n") {
		sum, file, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		sums[file] = sum
	}
	chart := "atlas-issuer-" + strings.TrimPrefix(version, "v") + ".tgz"
	if sums[chart] != fileSum(t, filepath.Join(r.releaseDir, chart)) {
		t.Errorf("SHA256SUMS has %q for %s", sums[chart], chart)
	}
	var platforms []string
	for _, p := range plugin.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		platforms = append(platforms, goos+"/"+arch)
		file := path.Base(p.URI)
		if want := r.env["IMAGE_SOURCE"] + "/releases/download/" + version + "/" + file; p.URI != want {
			t.Errorf("uri %s, want %s", p.URI, want)
		}
		sum := fileSum(t, filepath.Join(r.releaseDir, file))
		if p.SHA256 != sum || sums[file] != sum {
			t.Errorf("%s: krew sha256 %s, SHA256SUMS %s, file %s", file, p.SHA256, sums[file], sum)
		}
		bin := extract(t, filepath.Join(r.releaseDir, file), p.Bin)
		checkExecutable(t, goos, arch, bin)
		if goos == runtime.GOOS && arch == runtime.GOARCH {
			exe := filepath.Join(t.TempDir(), p.Bin)
			if err := os.WriteFile(exe, bin, 0o755); err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(output(t, root, nil, exe, "--version"))
			if want := "kubectl-atlas " + version + " (revision " + r.revision + ")"; got != want {
				t.Errorf("kubectl-atlas --version = %q, want %q", got, want)
			}
		}
	}
	want := slices.Clone(r.pluginPlatforms)
	slices.Sort(want)
	slices.Sort(platforms)
	if !slices.Equal(platforms, want) {
		t.Errorf("krew platforms %v, want %v", platforms, want)
	}
}

// checkExecutable: the archived binary is built for the platform it is
// listed under.
func checkExecutable(t *testing.T, goos, arch string, bin []byte) {
	t.Helper()
	r := bytes.NewReader(bin)
	switch goos {
	case "linux":
		f, err := elf.NewFile(r)
		if err != nil || f.Machine != elfMachines[arch] {
			t.Errorf("linux/%s binary: %v, %v", arch, f, err)
		}
	case "darwin":
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[arch]
		f, err := macho.NewFile(r)
		if err != nil || f.Cpu != want {
			t.Errorf("darwin/%s binary: %v", arch, err)
		}
	case "windows":
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[arch]
		f, err := pe.NewFile(r)
		if err != nil || f.Machine != want {
			t.Errorf("windows/%s binary: %v", arch, err)
		}
	default:
		t.Errorf("unexpected platform %s/%s", goos, arch)
	}
}

// extract returns one file of a .tar.gz or .zip archive.
func extract(t *testing.T, archive, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(archive, ".zip") {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if f.Name == name {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				b, err := io.ReadAll(rc)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
		}
		t.Fatalf("%s has no %s", archive, name)
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s has no %s: %v", archive, name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// flatten reads an image's filesystem: the content and header of every
// regular file, by absolute path.
func flatten(t *testing.T, img v1.Image) (map[string][]byte, map[string]*tar.Header) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files, hdrs := map[string][]byte{}, map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, hdrs
		}
		if err != nil {
			t.Fatal(err)
		}
		p := "/" + strings.TrimPrefix(path.Clean(h.Name), "/")
		hdrs[p] = h
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[p] = b
		}
	}
}

func parseCerts(t *testing.T, pemText string) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	rest := []byte(pemText)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return certs
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
}

// buildEnv reads hack/build.env, the values make image labels and builds with.
func buildEnv(t *testing.T) map[string]string {
	t.Helper()
	env, err := buildenv.Read(root)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func output(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
