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
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// SlowProxy is a reverse proxy in front of the API server that holds every
// request for a while before passing it on: a slow or distant API server,
// for the one client whose kubeconfig points at it. It serves TLS with a CA
// of its own and lets in only the bearer token of its kubeconfig; upstream
// it is the harness's user.
type SlowProxy struct {
	// Addr is the proxy's host:port.
	Addr string
	// Kubeconfig is a kubeconfig file for the proxy.
	Kubeconfig string

	requests atomic.Int64
	srv      *http.Server
}

// StartSlowProxy starts a SlowProxy that delays every request by delay and
// writes its kubeconfig to WorkDir/<name>.kubeconfig.
func (e *Env) StartSlowProxy(name string, delay time.Duration) (*SlowProxy, error) {
	upstream, err := url.Parse(e.RESTConfig.Host)
	if err != nil {
		return nil, err
	}
	if upstream.Scheme == "" {
		upstream, _ = url.Parse("https://" + e.RESTConfig.Host)
	}
	tr, err := rest.TransportFor(e.RESTConfig)
	if err != nil {
		return nil, err
	}
	token := make([]byte, 24)
	_, _ = rand.Read(token)
	p := &SlowProxy{}
	h := p.handler(upstream, tr, hex.EncodeToString(token), func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
			return nil
		}
	})
	caPEM, cert, err := selfSignedServing("127.0.0.1")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.Addr = ln.Addr().String()
	p.srv = &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go func() { _ = p.srv.ServeTLS(ln, "", "") }()

	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: "https://" + p.Addr, CertificateAuthorityData: caPEM}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: hex.EncodeToString(token)}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	p.Kubeconfig = filepath.Join(e.WorkDir, name+".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p.Kubeconfig); err != nil {
		_ = p.srv.Close()
		return nil, err
	}
	return p, nil
}

// handler checks the token, counts the request, waits, and passes the
// request on without the token: upstream the transport authenticates.
// Watches stream through as they come.
func (p *SlowProxy) handler(upstream *url.URL, tr http.RoundTripper, token string, wait func(context.Context) error) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Header.Del("Authorization")
		},
		Transport:     tr,
		FlushInterval: -1,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		p.requests.Add(1)
		if err := wait(r.Context()); err != nil {
			return
		}
		rp.ServeHTTP(w, r)
	})
}

// Requests is how many requests the proxy has let in.
func (p *SlowProxy) Requests() int64 { return p.requests.Load() }

// Port is the proxy's port.
func (p *SlowProxy) Port() int {
	_, port, _ := net.SplitHostPort(p.Addr)
	n, _ := strconv.Atoi(port)
	return n
}

// Close stops the proxy and drops its connections.
func (p *SlowProxy) Close() {
	_ = p.srv.Close()
}

// selfSignedServing makes a serving certificate for host under a CA of its
// own, and returns the CA as PEM.
func selfSignedServing(host string) ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slow proxy CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, tls.Certificate{}, errors.New("the slow proxy serves an IP address")
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, IPAddresses: []net.IP{ip},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
