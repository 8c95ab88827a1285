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
	"bytes"
	"fmt"
	"os"
	goruntime "runtime"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	toolscache "k8s.io/client-go/tools/cache"
)

// issuedRequestJSON is a CertificateRequest as the API server sends it to
// the manager once it is issued: created by cert-manager's request manager
// from a Certificate (its annotations, labels and owner reference, the
// requester's service account with the extra of a bound token), approved
// by cert-manager's approver, annotated and signed by this issuer, with
// the managed fields of all three.
const issuedRequestJSON = "testdata/certificaterequest-issued.json"

// BenchmarkCachedRequestBytes reports what the manager's informer cache
// keeps per issued CertificateRequest, ours and another issuer's still
// pending: the decoded object after each
// cache transform (object-B/request), and with it the store's key and the
// indexes the manager's informer holds (cached-B/request): client-go's
// namespace index and issuer-lib's two linked-issuer field indexes, whose
// values controller-runtime doubles into a namespaced and an
// all-namespaces key. Run it with
//
//	go test ./controllers -run '^$' -bench CachedRequestBytes -benchtime 3x
func BenchmarkCachedRequestBytes(b *testing.B) {
	raw, err := os.ReadFile(issuedRequestJSON)
	if err != nil {
		b.Fatal(err)
	}
	const n = 4000
	docs := make([][]byte, n)
	for i := range docs {
		// Names and UIDs differ per request, as the API server's do.
		doc := bytes.ReplaceAll(raw, []byte("web-frontend-tls-1"), fmt.Appendf(nil, "web-frontend-tls-%d", i+1))
		docs[i] = bytes.ReplaceAll(doc, []byte("9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"), fmt.Appendf(nil, "9e8d7c6b-5a4f-4e3d-8c2b-%012d", i))
	}
	foreignPending := func(cr *cmapi.CertificateRequest) {
		cr.Spec.IssuerRef = cmmeta.IssuerReference{Group: "cert-manager.io", Kind: "Issuer", Name: "ca"}
		cr.Status.Conditions[1].Status, cr.Status.Conditions[1].Reason = cmmeta.ConditionFalse, cmapi.CertificateRequestReasonPending
	}
	for _, tc := range []struct {
		name      string
		mutate    func(*cmapi.CertificateRequest)
		transform toolscache.TransformFunc
	}{
		{"issued/decoded", nil, nil},
		{"issued/stripUnread", nil, stripUnread},
		{"issued/trimRequests", nil, trimRequests},
		{"foreign-pending/stripUnread", foreignPending, stripUnread},
		{"foreign-pending/trimRequests", foreignPending, trimRequests},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var object, cached float64
			for b.Loop() {
				object, cached = retainedPerRequest(b, docs, tc.mutate, tc.transform)
			}
			b.ReportMetric(object, "object-B/request")
			b.ReportMetric(cached, "cached-B/request")
		})
	}
}

// retainedPerRequest decodes every document, changes it with mutate (to
// make it another issuer's or not yet issued), applies transform and adds
// the result to an indexer built like the manager's CertificateRequest
// informer's; it returns the live heap per request that the objects alone,
// and the objects in the indexer, hold.
func retainedPerRequest(b *testing.B, docs [][]byte, mutate func(*cmapi.CertificateRequest), transform toolscache.TransformFunc) (object, cached float64) {
	b.Helper()
	scheme, err := NewScheme()
	if err != nil {
		b.Fatal(err)
	}
	// The manager's request informer decodes JSON with the scheme's codecs
	// and clears the kind, as client-go's decoders for typed informers do.
	decoder := runtime.WithoutVersionDecoder{Decoder: serializer.NewCodecFactory(scheme).UniversalDeserializer()}
	objs := make([]any, len(docs))
	before := liveHeap()
	for i, doc := range docs {
		decodedObj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if mutate != nil {
			mutate(decodedObj.(*cmapi.CertificateRequest))
		}
		var obj any = decodedObj
		if transform != nil {
			if obj, err = transform(obj); err != nil {
				b.Fatal(err)
			}
		}
		objs[i] = obj
	}
	decoded := liveHeap()
	store := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, toolscache.Indexers{
		toolscache.NamespaceIndex: toolscache.MetaNamespaceIndexFunc,
		"field:issuer":            linkedIssuerIndex(issuerGK.Kind, true),
		"field:clusterissuer":     linkedIssuerIndex(clusterIssuerGK.Kind, false),
	})
	for _, obj := range objs {
		if err := store.Add(obj); err != nil {
			b.Fatal(err)
		}
	}
	clear(objs)
	after := liveHeap()
	goruntime.KeepAlive(store)
	n := float64(len(docs))
	return float64(decoded-before) / n, float64(after-before) / n
}

// linkedIssuerIndex computes the values of issuer-lib's index of the
// requests that name an issuer of one kind, as controller-runtime stores
// them.
func linkedIssuerIndex(kind string, namespaced bool) toolscache.IndexFunc {
	return func(obj any) ([]string, error) {
		cr := obj.(*cmapi.CertificateRequest)
		ref := cr.Spec.IssuerRef
		if ref.Group != issuerGK.Group || (ref.Kind != "" && ref.Kind != kind) {
			return nil, nil
		}
		ns := ""
		if namespaced {
			ns = cr.Namespace
		}
		id := ns + "/" + ref.Name
		return []string{cr.Namespace + "/" + id, "__all_namespaces/" + id}, nil
	}
}

func liveHeap() int64 {
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
