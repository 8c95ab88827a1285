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
	"crypto/sha256"
	"encoding/json"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/globalsign/atlas-issuer/internal/atlas"
	"github.com/globalsign/atlas-issuer/internal/issuance"
	"github.com/globalsign/atlas-issuer/internal/ttlcache"
)

// fingerprintTTL is how long a candidate's public-key fingerprint is kept:
// lookups happen within the lookup grace of a restart, and an issued
// certificate's key never changes.
const fingerprintTTL = 15 * time.Minute

// fingerprintsMax bounds the memory the fingerprints take; one evicted
// early is fetched again by the next lookup that needs it.
const fingerprintsMax = 1 << 14

// fingerprints remembers, per Atlas client (one account and endpoint), the
// public-key fingerprint of each certificate a lookup has fetched. Every
// request submitted in the same second as others has the same candidates,
// so after a restart or under Atlas faults each candidate is fetched once
// instead of once per request.
type fingerprints struct {
	cache *ttlcache.Cache[fingerprintKey, string]
}

type fingerprintKey struct {
	client *atlas.Client
	serial string
}

func newFingerprints(clk clock.PassiveClock) fingerprints {
	return fingerprints{cache: ttlcache.New[fingerprintKey, string](fingerprintsMax, fingerprintTTL/2, clk)}
}

func (f fingerprints) get(cl *atlas.Client, serial string) (string, bool) {
	return f.cache.Get(fingerprintKey{cl, serial})
}

func (f fingerprints) put(cl *atlas.Client, serial, fp string) {
	f.cache.Set(fingerprintKey{cl, serial}, fp, fingerprintTTL)
}

// forgetClients drops the fingerprints fetched through clients.
func (f fingerprints) forgetClients(clients []*atlas.Client) {
	f.cache.DeleteFunc(func(k fingerprintKey, _ string) bool { return slices.Contains(clients, k.client) })
}

// recentWindow is how long a submission is remembered for requests with the
// same key and contents: long enough for cert-manager's duplicate request,
// which follows the first within seconds, short enough that a deliberate
// renewal with the same key a little later gets a certificate of its own.
const recentWindow = time.Minute

// submissionsMax bounds the memory the submissions take. Past it, the least
// recently used are forgotten first, and a twin of one of those costs a
// certificate of its own.
const submissionsMax = 1 << 14

// recentSubmissions remembers the serial of each certificate this process submitted,
// by Atlas client, public key and request contents (validity as a lifetime,
// not a start). cert-manager sometimes creates a second CertificateRequest
// with the same key and contents just after the first was issued; Atlas
// would issue, and bill, a second certificate for it.
type recentSubmissions struct {
	cache *ttlcache.Cache[submissionKey, submission]
}

func newRecentSubmissions(clk clock.PassiveClock) recentSubmissions {
	return recentSubmissions{cache: ttlcache.New[submissionKey, submission](submissionsMax, recentWindow, clk)}
}

type submissionKey struct {
	client      *atlas.Client
	fingerprint string
	contents    [sha256.Size]byte
}

type submission struct {
	serial string
	at     time.Time
	// uid is the request that was submitted, whose issuedCertificates
	// entry a twin may reuse.
	uid types.UID
}

// contentsOf hashes what Atlas is asked for, apart from the key itself and
// the moment of asking. ok is false if the request cannot be encoded, which
// leaves it out of the deduplication.
func contentsOf(mapped *issuance.Result) (sum [sha256.Size]byte, ok bool) {
	r := *mapped.Request
	if r.Validity.NotAfter != 0 {
		r.Validity.NotAfter -= r.Validity.NotBefore
	}
	r.Validity.NotBefore = 0
	r.PublicKey, r.PublicKeySignature = "", ""
	b, err := json.Marshal(r)
	if err != nil {
		return sum, false
	}
	return sha256.Sum256(b), true
}

// forgetClients drops the submissions made through clients.
func (c recentSubmissions) forgetClients(clients []*atlas.Client) {
	c.cache.DeleteFunc(func(k submissionKey, _ submission) bool { return slices.Contains(clients, k.client) })
}

// submissionKeyOf is the key under which the submissions remember mapped's
// request sent through cl, or nil if the request cannot be encoded, which
// leaves it out of the deduplication. It encodes and hashes the request, so
// a Sign computes it once for all its lookups.
func submissionKeyOf(cl *atlas.Client, mapped *issuance.Result) *submissionKey {
	sum, ok := contentsOf(mapped)
	if !ok {
		return nil
	}
	return &submissionKey{cl, mapped.PublicKeyFingerprint, sum}
}

func (c recentSubmissions) get(k *submissionKey) (submission, bool) {
	if k == nil {
		return submission{}, false
	}
	return c.cache.Get(*k)
}

func (c recentSubmissions) put(k *submissionKey, sub submission) {
	if k != nil {
		c.cache.Set(*k, sub, recentWindow)
	}
}

// forget drops the submission remembered under k, once its certificate can
// no longer serve a twin.
func (c recentSubmissions) forget(k *submissionKey) {
	if k != nil {
		c.cache.ExpireWithin(*k, 0)
	}
}
