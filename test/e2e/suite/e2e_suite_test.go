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

// Package suite holds the end-to-end scenarios: cert-manager's real
// controllers, our manager and the fake Atlas as separate processes on a
// local control plane, checked the way a user would check them.
package suite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/globalsign/atlas-issuer/test/e2e/framework"
)

var env *framework.Env

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "atlas-issuer end-to-end")
}

var _ = BeforeSuite(func(ctx context.Context) {
	root, err := framework.RepoRoot()
	Expect(err).NotTo(HaveOccurred())
	work := filepath.Join(root, "bin", "e2e", "run")
	Expect(os.RemoveAll(work)).To(Succeed())
	env, err = framework.Setup(ctx, framework.Options{
		WorkDir:     work,
		ManagerArgs: []string{"--issuer-recheck-interval=5s", "--max-retry-duration=10m"},
		Logf:        func(f string, a ...any) { GinkgoWriter.Printf(f+"\n", a...) },
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			GinkgoWriter.Printf("logs are in %s\n", work)
		}
		env.Teardown()
	})
}, NodeTimeout(10*60e9))
