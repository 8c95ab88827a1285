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

package chain

import (
	"crypto/x509"
	"fmt"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
)

// Bounds of an account's trust chain. Atlas returns the issuing CA and the
// root, two or three certificates of a few kilobytes; the chain is kept per
// issuer, and parsed and its links verified each time it is fetched, so a
// server at a tenant's spec.url must not make it large.
const (
	MaxTrustCertificates = 8
	MaxTrustBytes        = 64 << 10
)

// Trust is an account's trust chain, parsed, checked and with its links
// verified, so that building a bundle costs one parse of the leaf and one
// signature check instead of parsing the chain and verifying every link for
// each certificate. A Trust is never changed after ParseTrust, so one is
// shared by every certificate of its account.
type Trust struct {
	certs []*x509.Certificate
	// paths[i] is the path upward from certs[i] (links), selfSigned[i]
	// whether certs[i] is a root.
	paths      [][]int
	selfSigned []bool
}

// ParseTrust checks an account's trust chain before it is kept: at most
// MaxTrustCertificates certificates in at most MaxTrustBytes of PEM, each
// element PEM that parses, and every certificate a CA. It then works out
// which certificate issued which, once.
func ParseTrust(trustChain []string) (*Trust, error) {
	size := 0
	for _, p := range trustChain {
		size += len(p)
	}
	if size > MaxTrustBytes {
		return nil, fmt.Errorf("the trust chain holds %d KiB of PEM, more than the %d KiB an account's CA certificates take", size>>10, MaxTrustBytes>>10)
	}
	var pool []*x509.Certificate
	for i, p := range trustChain {
		certs, err := pki.DecodeX509CertificateSetBytes([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("trust chain element %d: %w", i, err)
		}
		if len(pool)+len(certs) > MaxTrustCertificates {
			return nil, fmt.Errorf("the trust chain holds more than %d certificates", MaxTrustCertificates)
		}
		for _, c := range certs {
			if !c.BasicConstraintsValid || !c.IsCA {
				return nil, fmt.Errorf("trust chain element %d: %q is not a CA certificate", i, c.Subject.String())
			}
		}
		pool = append(pool, certs...)
	}
	paths, selfSigned := links(pool)
	return &Trust{certs: pool, paths: paths, selfSigned: selfSigned}, nil
}
