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

package credentials

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/globalsign/atlas-issuer/internal/atlas"
)

// countParses makes c count the parses it runs.
func countParses(c *Cache) *atomic.Int64 {
	var n atomic.Int64
	c.parseSecret = func(s *corev1.Secret) (*Credentials, error) {
		n.Add(1)
		return parse(s)
	}
	return &n
}

// countingAPI serves objs and counts the full Secret reads.
func countingAPI(objs ...client.Object) (client.WithWatch, *atomic.Int64) {
	var gets atomic.Int64
	api := fake.NewClientBuilder().WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, ok := obj.(*corev1.Secret); ok {
				gets.Add(1)
			}
			return c.Get(ctx, key, obj, opts...)
		},
	}).Build()
	return api, &gets
}

// A Secret that cannot be used is parsed once per version however often
// its issuer is reconciled, and not read in full again; a new version is
// parsed again.
func TestLoaderParsesAFailingSecretOncePerVersion(t *testing.T) {
	m := newMaterial(t, now.Add(time.Hour))
	s := secretWith(map[string][]byte{KeyAPIKey: []byte("k"), KeyAPISecret: []byte("s"), KeyCertificate: m.certPEM, KeyPrivateKey: m.otherKeyPEM})
	s.ResourceVersion = ""
	api, gets := countingAPI(s)
	cache := NewCache(atlas.Config{})
	parses := countParses(cache)
	l := &Loader{Cache: cache, API: api, Metadata: api, Clock: clocktesting.NewFakePassiveClock(now)}
	key := types.NamespacedName{Namespace: "ns", Name: "atlas"}
	ep := Endpoint{URL: "https://atlas.example/v2"}
	for i := range 20 {
		_, _, err := l.Load(context.Background(), key, ep)
		if cerr, ok := errors.AsType[*Error](err); !ok || cerr.Reason != ReasonKeyMismatch {
			t.Fatalf("load %d: err = %v, want KeyMismatch", i, err)
		}
	}
	if n := parses.Load(); n != 1 {
		t.Errorf("20 loads of one failing version parsed it %d times, want 1", n)
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("20 loads of one failing version read it %d times, want 1", n)
	}

	var cur corev1.Secret
	if err := api.Get(context.Background(), key, &cur); err != nil {
		t.Fatal(err)
	}
	cur.Data[KeyPrivateKey] = m.keyPEM
	if err := api.Update(context.Background(), &cur); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Load(context.Background(), key, ep); err != nil {
		t.Fatalf("the fixed Secret: %v", err)
	}
	if n := parses.Load(); n != 2 {
		t.Errorf("a new version was parsed %d times in all, want 2", n)
	}
}

// Loads of one Secret version that all miss at once share one parse.
func TestConcurrentLoadsShareOneParse(t *testing.T) {
	const loads = 8
	m := newMaterial(t, now.Add(time.Hour))
	s := secretWith(map[string][]byte{KeyAPIKey: []byte("k"), KeyAPISecret: []byte("s"), KeyCertificate: m.certPEM, KeyPrivateKey: m.keyPEM})
	c := NewCache(atlas.Config{})
	parses := countParses(c)
	// Every load reaches the parse before any parse may finish.
	var arrived sync.WaitGroup
	arrived.Add(loads)
	c.aboutToParse = arrived.Done
	inner := c.parseSecret
	c.parseSecret = func(s *corev1.Secret) (*Credentials, error) {
		arrived.Wait()
		return inner(s)
	}

	var wg sync.WaitGroup
	clients := make([]*atlas.Client, loads)
	errs := make([]error, loads)
	for i := range loads {
		wg.Go(func() {
			ep := Endpoint{URL: fmt.Sprintf("https://atlas-%d.example/v2", i)}
			clients[i], _, errs[i] = c.Client(s.DeepCopy(), ep, now)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || clients[i] == nil {
			t.Fatalf("load %d: %v", i, err)
		}
	}
	if n := parses.Load(); n != 1 {
		t.Errorf("%d concurrent loads of one version parsed it %d times, want 1", loads, n)
	}
}

// The time is checked on every load: a version kept from before its
// certificate expired is refused after.
func TestKeptVersionIsCheckedForExpiry(t *testing.T) {
	m := newMaterial(t, now.Add(time.Hour))
	s := secretWith(map[string][]byte{KeyAPIKey: []byte("k"), KeyAPISecret: []byte("s"), KeyCertificate: m.certPEM, KeyPrivateKey: m.keyPEM})
	c := NewCache(atlas.Config{})
	if _, _, err := c.Client(s, Endpoint{URL: "https://a.example/v2"}, now); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Client(s, Endpoint{URL: "https://b.example/v2"}, now.Add(2*time.Hour))
	if cerr, ok := errors.AsType[*Error](err); !ok || cerr.Reason != ReasonCredentialsExpired {
		t.Fatalf("err = %v, want CredentialsExpired", err)
	}
}

// ForgetSecret drops the Secret's clients and parsed versions but those
// of the version to keep, and no other Secret's; ForgetClient drops one
// endpoint's client.
func TestForget(t *testing.T) {
	m := newMaterial(t, now.Add(time.Hour))
	data := map[string][]byte{KeyAPIKey: []byte("k"), KeyAPISecret: []byte("s"), KeyCertificate: m.certPEM, KeyPrivateKey: m.keyPEM}
	a := secretWith(data)
	b := secretWith(data)
	b.Name, b.UID = "other", "uid-2"
	c := NewCache(atlas.Config{})
	parses := countParses(c)
	epA, epB := Endpoint{URL: "https://a.example/v2"}, Endpoint{URL: "https://b.example/v2"}
	for _, s := range []*corev1.Secret{a, b} {
		for _, ep := range []Endpoint{epA, epB} {
			if _, _, err := c.Client(s, ep, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	if cl, pv := c.Len(); cl != 4 || pv != 2 {
		t.Fatalf("Len() = %d, %d; want 4 clients, 2 versions", cl, pv)
	}

	if got := c.ForgetClient(client.ObjectKeyFromObject(b), epB); got == nil {
		t.Error("ForgetClient found nothing to drop")
	}
	if cl, pv := c.Len(); cl != 3 || pv != 2 {
		t.Errorf("after ForgetClient Len() = %d, %d; want 3, 2", cl, pv)
	}

	if dropped := c.ForgetSecret(client.ObjectKeyFromObject(a), a.ResourceVersion); len(dropped) != 0 {
		t.Errorf("ForgetSecret dropped %d clients of the version to keep", len(dropped))
	}
	dropped := c.ForgetSecret(client.ObjectKeyFromObject(a), "")
	if len(dropped) != 2 {
		t.Errorf("ForgetSecret dropped %d clients, want 2", len(dropped))
	}
	if cl, pv := c.Len(); cl != 1 || pv != 1 {
		t.Errorf("after ForgetSecret Len() = %d, %d; want 1, 1", cl, pv)
	}
	before := parses.Load()
	if _, _, err := c.Client(a, epA, now); err != nil {
		t.Fatal(err)
	}
	if parses.Load() != before+1 {
		t.Error("a forgotten Secret was not parsed again")
	}
}

// The cache holds at most its bounds, dropping the least recently used.
func TestCacheIsBounded(t *testing.T) {
	m := newMaterial(t, now.Add(time.Hour))
	c := newCache(atlas.Config{}, 3, 2)
	for i := range 10 {
		s := secretWith(map[string][]byte{KeyAPIKey: []byte("k"), KeyAPISecret: []byte("s"), KeyCertificate: m.certPEM, KeyPrivateKey: m.keyPEM})
		s.Name, s.UID = fmt.Sprintf("s%d", i), types.UID(fmt.Sprintf("uid-%d", i))
		if _, _, err := c.Client(s, Endpoint{URL: "https://atlas.example/v2"}, now); err != nil {
			t.Fatal(err)
		}
	}
	if cl, pv := c.Len(); cl != 3 || pv != 2 {
		t.Errorf("Len() = %d, %d; want the bounds 3, 2", cl, pv)
	}
}
