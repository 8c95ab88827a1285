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
	"bytes"

	"k8s.io/apimachinery/pkg/types"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/credentials"
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

// IssuerChanged forgets what the signer keeps for an issuer's earlier spec
// when its new spec points at another Secret or endpoint: the account's
// policy and trust chain, if they still come from the old spec, and the old
// Atlas client with its token and connections, unless another kept issuer
// uses it. A check that already ran for the new spec keeps what it fetched.
func (s *Signer) IssuerChanged(old, updated Issuer) {
	if old.Secret == updated.Secret && sameEndpoint(old.Endpoint, updated.Endpoint) {
		return
	}
	s.accounts.cache.DeleteFunc(func(key string, st accountState) bool {
		return key == old.Key && st.secret == old.Secret && sameEndpoint(st.endpoint, old.Endpoint)
	})
	s.forgetUnusedClient(old.Secret, old.Endpoint)
}

// IssuerDeleted forgets the issuer's account state, its Atlas client
// unless another kept issuer uses it, and its metric series, so that no
// alert keeps firing for an issuer that is gone.
func (s *Signer) IssuerDeleted(ref IssuerRef) {
	s.checks.Delete(ref.Key())
	if st, ok := s.accounts.forget(ref.Key()); ok {
		s.forgetUnusedClient(st.secret, st.endpoint)
	}
	s.Metrics.forget(ref)
}

// SecretChanged forgets everything kept for versions of a Secret other
// than keep (all of them when keep is empty, for a deleted Secret): their
// clients, tokens and decrypted keys, the outcomes of parsing them, and the
// account states and twin memory of those clients. A load that already
// ran for the current version keeps what it built.
func (s *Signer) SecretChanged(key types.NamespacedName, keep string) {
	if s.Loader == nil || s.Loader.Cache == nil {
		return
	}
	s.forgetClients(s.Loader.Cache.ForgetSecret(key, keep))
}

func (s *Signer) forgetUnusedClient(secret types.NamespacedName, ep credentials.Endpoint) {
	if s.Loader == nil || s.Loader.Cache == nil || s.accounts.uses(secret, ep) {
		return
	}
	if cl := s.Loader.Cache.ForgetClient(secret, ep); cl != nil {
		s.forgetClients([]*atlas.Client{cl})
	}
}

func sameEndpoint(a, b credentials.Endpoint) bool {
	return a.URL == b.URL && bytes.Equal(a.CABundle, b.CABundle)
}

func (s *Signer) forgetClients(clients []*atlas.Client) {
	if len(clients) == 0 {
		return
	}
	s.accounts.forgetClients(clients)
	s.fingerprints.forgetClients(clients)
	s.submissions.forgetClients(clients)
}
