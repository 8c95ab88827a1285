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

package v1alpha1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/types"
)

// ResolvedIssuer is an AtlasIssuer or AtlasClusterIssuer reduced to what a
// client of its Atlas account needs.
// +kubebuilder:object:generate=false
type ResolvedIssuer struct {
	// Kind is AtlasIssuer or AtlasClusterIssuer.
	Kind string
	// Spec is the issuer's spec.
	Spec *AtlasIssuerSpec
	// Secret is the Secret holding the issuer's credentials.
	Secret types.NamespacedName
	// URL is the Atlas API endpoint: spec.url, or DefaultURL.
	URL string
}

// Resolve turns an issuer object into its spec, Secret and URL. An
// AtlasIssuer reads its Secret from its own namespace only, so one
// namespace's issuer can never use another namespace's credentials; an
// AtlasClusterIssuer reads it from clusterResourceNamespace.
func Resolve(obj any, clusterResourceNamespace string) (ResolvedIssuer, error) {
	var r ResolvedIssuer
	switch t := obj.(type) {
	case *AtlasIssuer:
		r = ResolvedIssuer{Kind: "AtlasIssuer", Spec: &t.Spec, Secret: types.NamespacedName{Namespace: t.Namespace, Name: t.Spec.AuthSecretName}}
	case *AtlasClusterIssuer:
		r = ResolvedIssuer{Kind: "AtlasClusterIssuer", Spec: &t.Spec, Secret: types.NamespacedName{Namespace: clusterResourceNamespace, Name: t.Spec.AuthSecretName}}
	default:
		return ResolvedIssuer{}, fmt.Errorf("unexpected issuer type %T", obj)
	}
	r.URL = r.Spec.URL
	if r.URL == "" {
		r.URL = DefaultURL
	}
	return r, nil
}
