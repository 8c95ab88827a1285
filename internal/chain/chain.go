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

// Package chain turns an Atlas leaf certificate and the account's trust chain
// into what cert-manager stores: tls.crt as the leaf followed by its
// intermediates, and ca.crt as the root. The earlier Atlas issuer returned
// the bare leaf, which clients that do not have the intermediate cannot
// verify.
package chain

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
)

// Bundle is the PEM output for cert-manager.
type Bundle struct {
	// ChainPEM is the leaf followed by the intermediates, leaf first,
	// without the root.
	ChainPEM []byte
	// CAPEM is the root certificate, or the topmost certificate Atlas
	// returned when the chain does not reach a self-signed root.
	CAPEM []byte
}

// ParseLeaf parses the certificate Atlas returned, which must be exactly
// one.
func ParseLeaf(leafPEM []byte) (*x509.Certificate, error) {
	certs, err := pki.DecodeX509CertificateSetBytes(leafPEM)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("parse certificate: want exactly one certificate, got %d", len(certs))
	}
	return certs[0], nil
}

// Build orders the trust chain from the leaf upward by issuer and subject,
// not by the position Atlas returned them in (the documented order is
// issuing CA first, root last, but clients have been seen to sort instead of
// trusting it), and verifies the leaf's signature against its issuer. The
// links above the leaf were verified once, by ParseTrust, so a bundle costs
// one signature check.
func (t *Trust) Build(leaf *x509.Certificate) (*Bundle, error) {
	first := -1
	if !isSelfSigned(leaf) {
		for i, c := range t.certs {
			if bytes.Equal(leaf.RawIssuer, c.RawSubject) && leaf.CheckSignatureFrom(c) == nil {
				first = i
				break
			}
		}
	}
	if first < 0 {
		if len(t.certs) > 0 {
			return nil, errors.New("the trust chain has no certificate that issued the leaf")
		}
		return &Bundle{ChainPEM: encode(leaf)}, nil
	}
	path := t.paths[first]
	top := path[len(path)-1]
	chainCerts := []*x509.Certificate{leaf}
	above := path
	if t.selfSigned[top] {
		above = path[:len(path)-1]
	}
	for _, i := range above {
		chainCerts = append(chainCerts, t.certs[i])
	}
	return &Bundle{ChainPEM: encode(chainCerts...), CAPEM: encode(t.certs[top])}, nil
}

// links computes, for each certificate of the pool, the path upward from
// it: itself, then each next certificate that issued the one before
// (matching subject and a valid signature, the first such in pool order
// that the path has not used), until a self-signed certificate or one whose
// issuer the pool does not hold. The path from a certificate never depends
// on the leaf below it, so it is computed once per trust chain.
func links(pool []*x509.Certificate) (paths [][]int, selfSigned []bool) {
	selfSigned = make([]bool, len(pool))
	for i, c := range pool {
		selfSigned[i] = isSelfSigned(c)
	}
	// issued[i][j]: pool[j] issued pool[i]; each pair is verified once.
	issued := make([][]bool, len(pool))
	for i, c := range pool {
		issued[i] = make([]bool, len(pool))
		if selfSigned[i] {
			continue
		}
		for j, p := range pool {
			issued[i][j] = bytes.Equal(c.RawIssuer, p.RawSubject) && c.CheckSignatureFrom(p) == nil
		}
	}
	paths = make([][]int, len(pool))
	for start := range pool {
		used := make([]bool, len(pool))
		used[start] = true
		path := []int{start}
		for cur := start; !selfSigned[cur]; {
			next := -1
			for j := range pool {
				if !used[j] && issued[cur][j] {
					next = j
					break
				}
			}
			if next < 0 {
				break
			}
			used[next] = true
			cur = next
			path = append(path, cur)
		}
		paths[start] = path
	}
	return paths, selfSigned
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

func encode(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}
