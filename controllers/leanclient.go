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
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// NewLeanClient is the manager's client: controller-runtime's, except that
// patches of CertificateRequests and Kubernetes CSRs, their status
// included, ask the API server to answer with the object's metadata only.
//
// A patch's answer is otherwise the whole request, CSR and certificate
// chain included, and decoding it took an eighth of the manager's CPU per
// certificate (make bench, P7), for nothing: issuer-lib's status patches
// decode into a throwaway object, and the annotation writes need only the
// new resourceVersion. The patched object gets the answer's metadata
// (resourceVersion, annotations, labels); its spec and status stay as the
// caller had them.
func NewLeanClient(config *rest.Config, options client.Options) (client.Client, error) {
	c, err := client.New(config, options)
	if err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfigAndClient(config, options.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("metadata client: %w", err)
	}
	return leanClient{Client: c, meta: md}, nil
}

// leanClient sends request patches through the metadata client.
type leanClient struct {
	client.Client
	meta metadata.Interface
}

// requestResource returns the resource of obj and its metadata, or false for
// any kind the lean path does not take.
func requestResource(obj client.Object) (schema.GroupVersionResource, *metav1.ObjectMeta, bool) {
	switch o := obj.(type) {
	case *cmapi.CertificateRequest:
		return cmapi.SchemeGroupVersion.WithResource("certificaterequests"), &o.ObjectMeta, true
	case *certificatesv1.CertificateSigningRequest:
		return certificatesv1.SchemeGroupVersion.WithResource("certificatesigningrequests"), &o.ObjectMeta, true
	}
	return schema.GroupVersionResource{}, nil, false
}

// Patch patches requests through the metadata client and anything else
// through controller-runtime's.
func (c leanClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	gvr, om, ok := requestResource(obj)
	if !ok {
		return c.Client.Patch(ctx, obj, patch, opts...)
	}
	po := &client.PatchOptions{}
	po.ApplyOptions(opts)
	return c.patchMetadata(ctx, obj, gvr, om, patch, po.AsPatchOptions())
}

// Status returns a status writer that patches requests' status through the
// metadata client.
func (c leanClient) Status() client.SubResourceWriter {
	return leanStatusWriter{SubResourceWriter: c.Client.Status(), client: c}
}

type leanStatusWriter struct {
	client.SubResourceWriter
	client leanClient
}

// Patch patches a request's status through the metadata client and any
// other object's through controller-runtime's.
func (w leanStatusWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	gvr, om, ok := requestResource(obj)
	if !ok {
		return w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
	}
	po := &client.SubResourcePatchOptions{}
	po.ApplyOptions(opts)
	return w.client.patchMetadata(ctx, obj, gvr, om, patch, po.AsPatchOptions(), "status")
}

func (c leanClient) patchMetadata(ctx context.Context, obj client.Object, gvr schema.GroupVersionResource, om *metav1.ObjectMeta, patch client.Patch, opts *metav1.PatchOptions, subresource ...string) error {
	data, err := patch.Data(obj)
	if err != nil {
		return err
	}
	resource := c.meta.Resource(gvr)
	var res metadata.ResourceInterface = resource
	if ns := obj.GetNamespace(); ns != "" {
		res = resource.Namespace(ns)
	}
	answer, err := res.Patch(ctx, obj.GetName(), patch.Type(), data, *opts, subresource...)
	if err != nil {
		return err
	}
	*om = answer.ObjectMeta
	return nil
}
