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

// AtlasIssuer signs cert-manager CertificateRequests in its namespace with a
// GlobalSign Atlas account.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=atlasiss;atlasissuer,categories=cert-manager
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=".status.reason"
// +kubebuilder:printcolumn:name="Message",type="string",priority=1,JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Quota",type="integer",priority=1,JSONPath=".status.remainingQuota"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.namespaceSelector)",message="spec.namespaceSelector is for AtlasClusterIssuers; an AtlasIssuer serves its own namespace only"
type AtlasIssuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the Atlas endpoint and credentials.
	Spec AtlasIssuerSpec `json:"spec"`
	// Status is what the controller last observed.
	// +optional
	Status AtlasIssuerStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions for issuer-lib.
func (i *AtlasIssuer) GetConditions() []metav1.Condition { return i.Status.Conditions }

// GetIssuerTypeIdentifier is the prefix of the signer names of this kind,
// atlasissuers.hvca.globalsign.com/<namespace>.<name>, which cert-manager's
// approver checks. Kubernetes CSRs are not served through namespaced
// issuers.
func (i *AtlasIssuer) GetIssuerTypeIdentifier() string { return "atlasissuers.hvca.globalsign.com" }

// GetSpec returns the spec shared with AtlasClusterIssuer.
func (i *AtlasIssuer) GetSpec() *AtlasIssuerSpec { return &i.Spec }

// GetStatus returns the status shared with AtlasClusterIssuer.
func (i *AtlasIssuer) GetStatus() *AtlasIssuerStatus { return &i.Status }

var _ issuerapi.Issuer = &AtlasIssuer{}

// AtlasIssuerList is a list of AtlasIssuers.
// +kubebuilder:object:root=true
type AtlasIssuerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the issuers.
	Items []AtlasIssuer `json:"items"`
}
