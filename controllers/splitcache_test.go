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

package controllers

import (
	"context"
	"errors"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/api/v1alpha1"
)

// recordingCache notes which cache a call reached.
type recordingCache struct {
	cache.Cache
	name    string
	calls   *[]string
	synced  bool
	started chan struct{}
	startFn func(ctx context.Context) error
}

func (r *recordingCache) note() { *r.calls = append(*r.calls, r.name) }

func (r *recordingCache) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	r.note()
	return nil
}

func (r *recordingCache) List(context.Context, client.ObjectList, ...client.ListOption) error {
	r.note()
	return nil
}

func (r *recordingCache) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	r.note()
	return nil, nil
}

func (r *recordingCache) GetInformerForKind(context.Context, schema.GroupVersionKind, ...cache.InformerGetOption) (cache.Informer, error) {
	r.note()
	return nil, nil
}

func (r *recordingCache) RemoveInformer(context.Context, client.Object) error {
	r.note()
	return nil
}

func (r *recordingCache) IndexField(context.Context, client.Object, string, client.IndexerFunc) error {
	r.note()
	return nil
}

func (r *recordingCache) WaitForCacheSync(context.Context) bool { return r.synced }

func (r *recordingCache) Start(ctx context.Context) error {
	close(r.started)
	if r.startFn != nil {
		return r.startFn(ctx)
	}
	<-ctx.Done()
	return nil
}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, cmapi.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func newSplit(t *testing.T) (*splitCache, *recordingCache, *recordingCache, *[]string) {
	t.Helper()
	var calls []string
	main := &recordingCache{name: "main", calls: &calls, started: make(chan struct{})}
	apart := &recordingCache{name: "apart", calls: &calls, started: make(chan struct{})}
	s := testScheme(t)
	kinds := map[schema.GroupKind]bool{}
	for _, o := range []client.Object{&cmapi.CertificateRequest{}, &certificatesv1.CertificateSigningRequest{}} {
		gvks, _, err := s.ObjectKinds(o)
		if err != nil {
			t.Fatal(err)
		}
		kinds[gvks[0].GroupKind()] = true
	}
	return &splitCache{Cache: main, apart: apart, kinds: kinds, scheme: s}, main, apart, &calls
}

func metadataOf(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	return m
}

func TestSplitCacheRoutes(t *testing.T) {
	c, _, _, calls := newSplit(t)
	ctx := context.Background()
	crGVK := cmapi.SchemeGroupVersion.WithKind("CertificateRequest")
	for _, tc := range []struct {
		name string
		obj  runtime.Object
		want string
	}{
		{"CertificateRequest", &cmapi.CertificateRequest{}, "apart"},
		{"CertificateRequestList", &cmapi.CertificateRequestList{}, "apart"},
		{"CertificateSigningRequest", &certificatesv1.CertificateSigningRequest{}, "apart"},
		{"CertificateSigningRequestList", &certificatesv1.CertificateSigningRequestList{}, "apart"},
		{"request metadata", metadataOf(crGVK), "apart"},
		{"Secret", &corev1.Secret{}, "main"},
		{"Secret metadata", metadataOf(corev1.SchemeGroupVersion.WithKind("Secret")), "main"},
		{"AtlasIssuer", &v1alpha1.AtlasIssuer{}, "main"},
		{"AtlasClusterIssuerList", &v1alpha1.AtlasClusterIssuerList{}, "main"},
		{"Certificate", &cmapi.Certificate{}, "main"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			*calls = nil
			if list, ok := tc.obj.(client.ObjectList); ok {
				_ = c.List(ctx, list)
			} else {
				obj := tc.obj.(client.Object)
				_ = c.Get(ctx, client.ObjectKey{Name: "x"}, obj)
				_, _ = c.GetInformer(ctx, obj)
				_ = c.IndexField(ctx, obj, "f", func(client.Object) []string { return nil })
				_ = c.RemoveInformer(ctx, obj)
			}
			for _, got := range *calls {
				if got != tc.want {
					t.Fatalf("calls went to %v, want all to %s", *calls, tc.want)
				}
			}
			if len(*calls) == 0 {
				t.Fatal("no call reached a cache")
			}
		})
	}
	*calls = nil
	_, _ = c.GetInformerForKind(ctx, crGVK)
	_, _ = c.GetInformerForKind(ctx, v1alpha1.GroupVersion.WithKind("AtlasIssuer"))
	if len(*calls) != 2 || (*calls)[0] != "apart" || (*calls)[1] != "main" {
		t.Errorf("GetInformerForKind went to %v, want [apart main]", *calls)
	}
}

// The manager starts controllers once WaitForCacheSync is true: it must not
// wait for the requests.
func TestSplitCacheSyncIsTheMainCaches(t *testing.T) {
	c, main, apart, _ := newSplit(t)
	main.synced, apart.synced = true, false
	if !c.WaitForCacheSync(context.Background()) {
		t.Error("waited for the request cache")
	}
	main.synced, apart.synced = false, true
	if c.WaitForCacheSync(context.Background()) {
		t.Error("synced before the main cache")
	}
}

func TestSplitCacheStart(t *testing.T) {
	t.Run("runs both until the context ends", func(t *testing.T) {
		c, main, apart, _ := newSplit(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Start(ctx) }()
		<-main.started
		<-apart.started
		select {
		case err := <-done:
			t.Fatalf("Start returned %v before the context ended", err)
		case <-time.After(20 * time.Millisecond):
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a failing request cache stops both", func(t *testing.T) {
		c, main, apart, _ := newSplit(t)
		boom := errors.New("boom")
		apart.startFn = func(context.Context) error { return boom }
		err := c.Start(context.Background())
		if !errors.Is(err, boom) {
			t.Fatalf("Start = %v, want the request cache's error", err)
		}
		<-main.started
	})
}
