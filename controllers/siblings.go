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

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/issuer-lib/controllers/signer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/globalsign/atlas-issuer/internal/signing"
)

// siblingIndex indexes CertificateRequests by the Certificate and revision
// cert-manager made them for, so that finding a request's siblings costs a
// lookup, not a list of the namespace.
const siblingIndex = "hvca.globalsign.com/certificate-revision"

// siblingKey is a request's value in siblingIndex: its Certificate's name
// and revision, or "" for a request cert-manager did not make for a
// Certificate.
func siblingKey(obj client.Object) string {
	ann := obj.GetAnnotations()
	name, rev := ann[cmapi.CertificateNameKey], ann[cmapi.CertificateRequestRevisionAnnotationKey]
	if name == "" || rev == "" {
		return ""
	}
	return name + "/" + rev
}

// indexSiblings registers siblingIndex with the manager's cache.
func indexSiblings(ctx context.Context, indexer client.FieldIndexer) error {
	return indexer.IndexField(ctx, &cmapi.CertificateRequest{}, siblingIndex, func(obj client.Object) []string {
		if k := siblingKey(obj); k != "" {
			return []string{k}
		}
		return nil
	})
}

// siblingLister lists the other CertificateRequests of a request's
// namespace made for the same Certificate revision and naming the same
// issuer. The cache (siblingIndex) tells which there are; each is then read
// from the API server, since the cache keeps of a settled request only what
// identifies it (TrimRequests), not its CSR, annotations or certificate.
// Most requests have no sibling, and cost one index lookup.
func siblingLister(cached, api client.Reader) signing.SiblingLister {
	return func(ctx context.Context, obj client.Object) ([]signing.Sibling, error) {
		own, ok := obj.(*cmapi.CertificateRequest)
		key := siblingKey(obj)
		if !ok || key == "" {
			return nil, nil
		}
		var list cmapi.CertificateRequestList
		if err := cached.List(ctx, &list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{siblingIndex: key}); err != nil {
			return nil, fmt.Errorf("list CertificateRequests of %s: %w", key, err)
		}
		var out []signing.Sibling
		for i := range list.Items {
			if list.Items[i].UID == own.UID {
				continue
			}
			cr := &cmapi.CertificateRequest{}
			if err := api.Get(ctx, client.ObjectKeyFromObject(&list.Items[i]), cr); apierrors.IsNotFound(err) {
				continue
			} else if err != nil {
				return nil, fmt.Errorf("read CertificateRequest %s: %w", list.Items[i].Name, err)
			}
			if cr.UID != list.Items[i].UID || siblingKey(cr) != key || cr.Spec.IssuerRef != own.Spec.IssuerRef {
				continue
			}
			details, err := signer.CertificateRequestObjectFromCertificateRequest(cr).GetCertificateDetails()
			if err != nil {
				continue
			}
			out = append(out, signing.Sibling{Request: signing.Request{Object: cr, Details: details}, Certificate: cr.Status.Certificate})
		}
		return out, nil
	}
}
