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

package fake

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

const (
	// maxSeed bounds one Seed call.
	maxSeed = 100_000
	// seedSpan is how far back the seeded certificates go.
	seedSpan = 30 * 24 * time.Hour
)

// Seed adds n issued certificates to the account, as if other clients had
// requested them over the last seedSpan: an account with a history, whose
// statistics run to many pages. They share one key, are not counted as
// issued or as duplicates, and spend no quota.
func (s *Server) Seed(n int) error {
	if n < 0 || n > maxSeed {
		return fmt.Errorf("seed: count %d not in [0, %d]", n, maxSeed)
	}
	now := s.now()
	plan, err := s.seedPlan(now)
	if err != nil {
		return err
	}
	for i := range n {
		s.mu.Lock()
		serial, key := s.newSerialLocked()
		at := now.Add(-seedSpan + time.Duration(i)*(seedSpan/time.Duration(n)))
		c := &certRecord{serial: serial, key: key, plan: plan, acceptedAt: at, readyAt: at}
		s.certs[key] = c
		s.mu.Unlock()
		sn, _ := new(big.Int).SetString(serial, 16)
		cert, err := s.pki.signLeaf(plan, sn)
		if err != nil {
			s.mu.Lock()
			delete(s.certs, key)
			s.mu.Unlock()
			return fmt.Errorf("seed certificate %d: %w", i, err)
		}
		s.mu.Lock()
		c.cert, c.pem, c.signed = cert, string(pemCert(cert.Raw)), true
		s.certOrder = append(s.certOrder, c)
		s.mu.Unlock()
	}
	return nil
}

// seedPlan is a request the account's policy accepts, for an ECDSA key or,
// when the policy wants RSA, an RSA one, in the key format it names.
func (s *Server) seedPlan(now time.Time) (*issuePlan, error) {
	var last []string
	for _, gen := range []func() (crypto.Signer, error){
		func() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) },
		func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) },
	} {
		key, err := gen()
		if err != nil {
			return nil, err
		}
		spki, err := x509.MarshalPKIXPublicKey(key.Public())
		if err != nil {
			return nil, err
		}
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
		if err != nil {
			return nil, err
		}
		// The policy names the key format: a PKCS#10 request or a bare key.
		for _, b := range []*pem.Block{{Type: "CERTIFICATE REQUEST", Bytes: csr}, {Type: "PUBLIC KEY", Bytes: spki}} {
			req := atlas.CertificateRequest{
				Validity:  atlas.Validity{NotBefore: now.Unix(), NotAfter: now.Add(24 * time.Hour).Unix()},
				SubjectDN: atlas.SubjectDN{CommonName: "seed.example.com"},
				SAN:       &atlas.SAN{DNSNames: []string{"seed.example.com"}},
				PublicKey: string(pem.EncodeToMemory(b)),
			}
			plan, viol := validateRequest(s.currentPolicy(), &req, now)
			if viol == nil {
				return plan, nil
			}
			last = viol.msgs
		}
	}
	return nil, fmt.Errorf("seed: the account's policy accepts neither an ECDSA P-256 nor an RSA 2048 request for seed.example.com: %v", last)
}
