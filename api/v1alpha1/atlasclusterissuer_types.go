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
	issuerapi "github.com/cert-manager/issuer-lib/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AtlasClusterIssuer signs cert-manager CertificateRequests in any namespace
// with a GlobalSign Atlas account. Its Secret lives in the controller's
// cluster resource namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=atlascis;atlasclusterissuer,categories=cert-manager
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=".status.reason"
// +kubebuilder:printcolumn:name="Message",type="string",priority=1,JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Quota",type="integer",priority=1,JSONPath=".status.remainingQuota"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
type AtlasClusterIssuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the Atlas endpoint and credentials.
	Spec AtlasIssuerSpec `json:"spec"`
	// Status is what the controller last observed.
	// +optional
	Status AtlasIssuerStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions for issuer-lib.
func (i *AtlasClusterIssuer) GetConditions() []metav1.Condition { return i.Status.Conditions }

// GetIssuerTypeIdentifier is the prefix of the Kubernetes CSR signer names
// that select this kind: atlasclusterissuers.hvca.globalsign.com/<name>.
func (i *AtlasClusterIssuer) GetIssuerTypeIdentifier() string {
	return "atlasclusterissuers.hvca.globalsign.com"
}

// GetSpec returns the spec shared with AtlasIssuer.
func (i *AtlasClusterIssuer) GetSpec() *AtlasIssuerSpec { return &i.Spec }

// GetStatus returns the status shared with AtlasIssuer.
func (i *AtlasClusterIssuer) GetStatus() *AtlasIssuerStatus { return &i.Status }

var _ issuerapi.Issuer = &AtlasClusterIssuer{}

// AtlasClusterIssuerList is a list of AtlasClusterIssuers.
// +kubebuilder:object:root=true
type AtlasClusterIssuerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the issuers.
	Items []AtlasClusterIssuer `json:"items"`
}
