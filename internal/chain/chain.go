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

// Build orders the trust chain from the leaf upward by issuer and subject,
// not by the position Atlas returned them in (the documented order is
// issuing CA first, root last, but clients have been seen to sort instead of
// trusting it), and verifies the leaf's signature against each link.
func Build(leafPEM []byte, trustChain []string) (*Bundle, error) {
	leafCerts, err := pki.DecodeX509CertificateSetBytes(leafPEM)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	if len(leafCerts) != 1 {
		return nil, fmt.Errorf("parse certificate: want exactly one certificate, got %d", len(leafCerts))
	}
	leaf := leafCerts[0]

	var pool []*x509.Certificate
	for i, p := range trustChain {
		certs, err := pki.DecodeX509CertificateSetBytes([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("parse trust chain element %d: %w", i, err)
		}
		pool = append(pool, certs...)
	}

	path := []*x509.Certificate{leaf}
	used := make([]bool, len(pool))
	for cur := leaf; !isSelfSigned(cur); {
		next := -1
		for i, c := range pool {
			if used[i] || !bytes.Equal(cur.RawIssuer, c.RawSubject) {
				continue
			}
			if cur.CheckSignatureFrom(c) == nil {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		used[next] = true
		cur = pool[next]
		path = append(path, cur)
	}
	if len(path) == 1 && len(pool) > 0 {
		return nil, errors.New("the trust chain has no certificate that issued the leaf")
	}

	top := path[len(path)-1]
	var chainCerts []*x509.Certificate
	if len(path) > 1 && isSelfSigned(top) {
		chainCerts = path[:len(path)-1]
	} else {
		chainCerts = path
	}
	b := &Bundle{ChainPEM: encode(chainCerts...)}
	if len(path) > 1 {
		b.CAPEM = encode(top)
	}
	return b, nil
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
