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
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
	"github.com/globalsign/atlas-issuer/internal/atlas/fake"
)

// Fake is a fake Atlas process: an Atlas account of its own, with its own
// PKI, credentials and admin API.
type Fake struct {
	Process        *Process
	URL            string
	Admin          *fake.AdminClient
	CredentialsDir string
}

// StartExtraFake starts one more fake Atlas, logging to WorkDir/<name>.log
// with its credentials in WorkDir/<name>-credentials, so that tenants can
// each have an Atlas of their own. The caller stops it.
func (e *Env) StartExtraFake(name string, args ...string) (*Fake, error) {
	e.logf("starting another fake Atlas, %s", name)
	return e.startFakeProcess(name, filepath.Join(e.WorkDir, name+"-credentials"), args)
}

// CredentialsSecret is a Secret with this fake's credentials.
func (f *Fake) CredentialsSecret(namespace, name string) (*corev1.Secret, error) {
	return credentialsSecret(f.CredentialsDir, namespace, name)
}

// IssuerSpec points an issuer at this fake.
func (f *Fake) IssuerSpec(secretName string) (v1alpha1.AtlasIssuerSpec, error) {
	return issuerSpec(f.CredentialsDir, f.URL, secretName)
}
