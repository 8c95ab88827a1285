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

package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// createWorkers is how many objects are created at once: a burst such as a
// Helm install of many Certificates or a namespace's renewal wave.
const createWorkers = 32

// createAll creates objs with createWorkers goroutines and returns the time
// just before the first Create.
func createAll(ctx context.Context, c client.Client, objs []client.Object) (time.Time, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range min(createWorkers, len(objs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(objs) || ctx.Err() != nil {
					return
				}
				if err := createRetry(ctx, c, objs[i]); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("create %s: %w", objs[i].GetName(), err); cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	return start, firstErr
}

// createRetry retries a create that the busy API server timed out or
// throttled; anything else is returned.
func createRetry(ctx context.Context, c client.Client, obj client.Object) error {
	var err error
	for attempt := range 5 {
		if err = c.Create(ctx, obj); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
		obj.SetResourceVersion("")
	}
	return err
}

// csrMaker signs CSRs with a small pool of RSA-2048 keys: generating a key
// per request would cost minutes of CPU for thousands of requests and
// measure nothing about the issuer. The fake counts reused keys as
// duplicates; nothing here depends on that counter.
type csrMaker struct {
	keys []*rsa.PrivateKey
}

func newCSRMaker(n int) (*csrMaker, error) {
	m := &csrMaker{keys: make([]*rsa.PrivateKey, n)}
	for i := range m.keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		m.keys[i] = k
	}
	return m, nil
}

func (m *csrMaker) csr(i int, dnsName string) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: dnsName},
		DNSNames: []string{dnsName},
	}, m.keys[i%len(m.keys)])
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// requests builds n CertificateRequests named prefix-i for the AtlasIssuer
// "atlas" in ns, as cert-manager's requestmanager would, signing the CSRs
// on every core.
func (m *csrMaker) requests(ns, prefix string, n int) ([]client.Object, error) {
	out := make([]client.Object, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range runtime.NumCPU() {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				name := fmt.Sprintf("%s-%d", prefix, i)
				csr, err := m.csr(i, fmt.Sprintf("%s.%s.bench.example.com", name, ns))
				if err != nil {
					errs[i] = err
					return
				}
				out[i] = &cmapi.CertificateRequest{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
					Spec: cmapi.CertificateRequestSpec{
						Request:   csr,
						Duration:  &metav1.Duration{Duration: 90 * 24 * time.Hour},
						IssuerRef: cmmeta.IssuerReference{Group: v1alpha1.GroupVersion.Group, Kind: "AtlasIssuer", Name: "atlas"},
						Usages:    []cmapi.KeyUsage{cmapi.UsageDigitalSignature, cmapi.UsageKeyEncipherment, cmapi.UsageServerAuth},
					},
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// secrets builds n Opaque Secrets of size bytes each that no issuer
// references: the rest of a cluster, which the manager must not hold.
func secrets(ns string, n, size int) []client.Object {
	out := make([]client.Object, n)
	for i := range out {
		data := make([]byte, size)
		_, _ = rand.Read(data)
		out[i] = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("unrelated-%d", i), Labels: map[string]string{"app": "unrelated"}},
			Data:       map[string][]byte{"payload": data},
		}
	}
	return out
}
