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

package signing

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// IssuerRef names an issuer object. Namespace is empty for an
// AtlasClusterIssuer.
type IssuerRef struct {
	Kind, Namespace, Name string
}

// Key is the issuer's key in caches and logs: kind/namespace/name.
func (r IssuerRef) Key() string {
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// IssuerChanged forgets what the signer keeps for an issuer whose spec
// changed: its account's policy and trust chain, and its Atlas client with
// its token and connections when no other issuer uses the same Secret and
// endpoint. The next check or request fetches them again for the new spec.
func (s *Signer) IssuerChanged(ref IssuerRef) {
	st, ok := s.accounts.forget(ref.Key())
	if !ok || s.Loader == nil || s.Loader.Cache == nil || s.accounts.uses(st.secret, st.endpoint) {
		return
	}
	if cl := s.Loader.Cache.ForgetClient(st.secret, st.endpoint); cl != nil {
		s.forgetClients([]*atlas.Client{cl})
	}
}

// IssuerDeleted forgets what IssuerChanged forgets and the issuer's metric
// series, so that no alert keeps firing for an issuer that is gone.
func (s *Signer) IssuerDeleted(ref IssuerRef) {
	s.IssuerChanged(ref)
	s.Metrics.forget(ref)
}

// SecretChanged forgets everything kept for a Secret that changed or was
// deleted: its clients, tokens and decrypted key, the outcome of parsing
// it, and the account states and twin memory of its clients.
func (s *Signer) SecretChanged(key types.NamespacedName) {
	if s.Loader == nil || s.Loader.Cache == nil {
		return
	}
	s.forgetClients(s.Loader.Cache.ForgetSecret(key))
}

func (s *Signer) forgetClients(clients []*atlas.Client) {
	if len(clients) == 0 {
		return
	}
	s.accounts.forgetClients(clients)
	s.fingerprints.forgetClients(clients)
	s.submissions.forgetClients(clients)
}
