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
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"
)

// pki holds the three hierarchies of a fake: the issuing one (root ->
// intermediate -> leaves) that Atlas customers see in /trustchain, the
// server CA that signs the HTTPS certificate, and the client CA that signs
// mTLS certificates. They are separate so that a client trusting the wrong
// one fails the way it would against Atlas.
//
// Every key is ECDSA P-256: generating RSA keys takes long enough on a busy
// CI machine to make starting a fake per test noticeably slow, and the kind
// of CA key is invisible to an issuer.
type pki struct {
	rootCert  *x509.Certificate
	rootPEM   []byte
	interCert *x509.Certificate
	interKey  crypto.Signer
	interPEM  []byte

	serverCAPEM []byte
	serverCert  tls.Certificate

	clientCACert *x509.Certificate
	clientCAKey  crypto.Signer

	untrustedOnce sync.Once
	untrustedCert *x509.Certificate
	untrustedKey  crypto.Signer
	untrustedErr  error
}

// The CA certificates use the real time, not Options.Clock, and a wide
// window, so that leaves issued under a test clock years away still chain.
const (
	caBackdate = 5 * 365 * 24 * time.Hour
	caLifetime = 30 * 365 * 24 * time.Hour
)

func newPKI(serverNames []string) (*pki, error) {
	p := &pki{}
	rootCert, rootKey, err := newCA("Fake Atlas Root CA - R1", nil, nil, 1)
	if err != nil {
		return nil, err
	}
	interCert, interKey, err := newCA("Fake Atlas Issuing CA - G1", rootCert, rootKey, 0)
	if err != nil {
		return nil, err
	}
	p.rootCert, p.rootPEM = rootCert, pemCert(rootCert.Raw)
	p.interCert, p.interKey, p.interPEM = interCert, interKey, pemCert(interCert.Raw)

	serverCA, serverCAKey, err := newCA("Fake Atlas Server CA", nil, nil, 0)
	if err != nil {
		return nil, err
	}
	p.serverCAPEM = pemCert(serverCA.Raw)
	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "fake-atlas", Organization: []string{"Fake Atlas"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range serverNames {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, serverCA, &serverKey.PublicKey, serverCAKey)
	if err != nil {
		return nil, fmt.Errorf("fake atlas: server certificate: %w", err)
	}
	p.serverCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: serverKey}

	p.clientCACert, p.clientCAKey, err = newCA("Fake Atlas mTLS Client CA", nil, nil, 0)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pki) serverTLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(p.clientCACert)
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{p.serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// clientCertificate issues an mTLS certificate the way GlobalSign hands one
// to a customer: a leaf for client authentication with its PKCS#8 key.
func (p *pki) clientCertificate(trusted bool) (certPEM, keyPEM []byte, err error) {
	caCert, caKey := p.clientCACert, p.clientCAKey
	if !trusted {
		p.untrustedOnce.Do(func() {
			p.untrustedCert, p.untrustedKey, p.untrustedErr = newCA("Untrusted mTLS Client CA", nil, nil, 0)
		})
		if p.untrustedErr != nil {
			return nil, nil, p.untrustedErr
		}
		caCert, caKey = p.untrustedCert, p.untrustedKey
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial := randomSerial()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   "fake-atlas-client-" + hex.EncodeToString(serial.Bytes()[:4]),
			Organization: []string{"Fake Atlas Customer"},
		},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(2 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("fake atlas: client certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pemCert(der), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// signLeaf makes the end-entity certificate Atlas would return for plan.
func (p *pki) signLeaf(plan *issuePlan, serial *big.Int) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               plan.subject,
		NotBefore:             plan.notBefore,
		NotAfter:              plan.notAfter,
		DNSNames:              plan.dnsNames,
		EmailAddresses:        plan.emails,
		IPAddresses:           plan.ips,
		URIs:                  plan.uris,
		ExtKeyUsage:           plan.ekus,
		UnknownExtKeyUsage:    plan.unknownEKUs,
		KeyUsage:              plan.keyUsage,
		ExtraExtensions:       plan.extensions,
		BasicConstraintsValid: true,
		SubjectKeyId:          subjectKeyID(plan.spki),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.interCert, plan.pub, p.interKey)
	if err != nil {
		return nil, fmt.Errorf("fake atlas: sign leaf: %w", err)
	}
	return x509.ParseCertificate(der)
}

func newCA(cn string, parent *x509.Certificate, parentKey crypto.Signer, maxPathLen int) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Fake Atlas"}, Country: []string{"BE"}},
		NotBefore:             now.Add(-caBackdate),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPathLen,
		MaxPathLenZero:        maxPathLen == 0,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("fake atlas: CA %q: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func randomSerial() *big.Int {
	b := make([]byte, 16)
	rand.Read(b)
	b[0] &= 0x7f
	b[0] |= 0x01
	return new(big.Int).SetBytes(b)
}

func subjectKeyID(spki []byte) []byte {
	sum := sha256.Sum256(spki)
	return sum[:20]
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
