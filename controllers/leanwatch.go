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
	"fmt"
	"net/http"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/globalsign/atlas-issuer/internal/leanjson"
)

// newInformerFunc is controller-runtime's hook for building an informer.
type newInformerFunc func(toolscache.ListerWatcher, runtime.Object, time.Duration, toolscache.Indexers) toolscache.SharedIndexInformer

// leanRequestInformers builds the CertificateRequest informer on a list and
// watch decoded by leanjson, and every other informer as controller-runtime
// would. The manager decodes every CertificateRequest event of the cluster,
// five or more per certificate whatever issues it, and apimachinery's JSON
// decoder reads each one several times over to find its kind first
// (docs/performance.md, P7). Kubernetes CSRs, a built-in kind, already come
// as protobuf.
func leanRequestInformers(cfg *rest.Config, httpClient *http.Client, scheme *runtime.Scheme) (newInformerFunc, error) {
	gv := cmapi.SchemeGroupVersion
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &gv
	c.APIPath = "/apis"
	c.ContentType = runtime.ContentTypeJSON
	c.AcceptContentTypes = runtime.ContentTypeJSON
	// The cache's transform drops managedFields (TrimRequests): they
	// need not be decoded. Nor need a request's certificate and CA, which
	// nothing in the manager reads (issuer-lib tells a signed request by
	// its Ready condition) and which are most of the bytes of every
	// signed request's events, whoever signed it.
	c.NegotiatedSerializer = leanjson.NegotiatedSerializer(scheme, leanjson.WithoutManagedFields(),
		leanjson.WithoutMembers("status", "certificate"), leanjson.WithoutMembers("status", "ca"))
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if httpClient == nil {
		var err error
		if httpClient, err = rest.HTTPClientFor(c); err != nil {
			return nil, fmt.Errorf("certificate request client: %w", err)
		}
	}
	rc, err := rest.RESTClientForConfigAndClient(c, httpClient)
	if err != nil {
		return nil, fmt.Errorf("certificate request client: %w", err)
	}
	requests := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			list := &cmapi.CertificateRequestList{}
			err := rc.Get().Resource("certificaterequests").VersionedParams(&opts, metav1.ParameterCodec).Do(ctx).Into(list)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.Watch = true
			return rc.Get().Resource("certificaterequests").VersionedParams(&opts, metav1.ParameterCodec).Watch(ctx)
		},
	}
	return func(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
		if _, ok := obj.(*cmapi.CertificateRequest); ok {
			lw = requests
		}
		return toolscache.NewSharedIndexInformer(lw, obj, resync, indexers)
	}, nil
}
