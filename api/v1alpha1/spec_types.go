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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultURL is the Atlas API endpoint used when spec.url is empty.
const DefaultURL = "https://emea.api.hvca.globalsign.com:8443/v2"

// Annotations the signer writes on CertificateRequests and
// CertificateSigningRequests. They make issuance idempotent across restarts.
const (
	// SerialAnnotation holds the Atlas serial of the certificate ordered for
	// the request. Once it is set, the request is never submitted again.
	// Requesters can write it too, so the certificate it names is returned
	// only if it matches the request's key, names and subject.
	SerialAnnotation = "hvca.globalsign.com/serial"
	// IntentAnnotation is written just before the request is submitted:
	// "<unix seconds>/<sha256 of the public key>". A restart that finds it
	// without a serial looks the certificate up instead of submitting again;
	// one whose fingerprint or time the signer cannot have written is
	// ignored.
	IntentAnnotation = "hvca.globalsign.com/intent"
)

// AtlasIssuerSpec is how to reach an Atlas account and where its credentials
// are.
type AtlasIssuerSpec struct {
	// URL of the Atlas HVCA API, including the version path. Only https is
	// accepted.
	// +kubebuilder:default="https://emea.api.hvca.globalsign.com:8443/v2"
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() == 'https' && url(self).getHost() != ''",message="url must be an absolute https URL"
	// +optional
	URL string `json:"url,omitempty"`

	// AuthSecretName is the Secret holding the Atlas credentials: keys
	// apiKey, apiSecret, tls.crt, tls.key and, for an encrypted key,
	// tls.key.password. An AtlasIssuer reads it from its own namespace, an
	// AtlasClusterIssuer from the controller's cluster resource namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	AuthSecretName string `json:"authSecretName"`

	// CABundle is PEM-encoded CA certificates to trust for the Atlas
	// endpoint, instead of the system roots. Only for a private endpoint.
	// +optional
	CABundle []byte `json:"caBundle,omitempty"`

	// NamespaceSelector, on an AtlasClusterIssuer, limits the namespaces
	// whose CertificateRequests it signs to those whose labels match; a
	// request from another namespace fails with a reason naming the
	// selector, and Kubernetes CertificateSigningRequests, which have no
	// namespace, fail too. Unset, every namespace may use the issuer. An
	// AtlasIssuer serves its own namespace only and refuses the field.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// AtlasIssuerStatus is the observed state of an issuer.
type AtlasIssuerStatus struct {
	// Conditions; Ready tells whether the issuer can sign, and why not.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Reason is the outcome of the last check: Checked when the account can
	// sign, otherwise the cause, such as CredentialsRejected, QuotaExhausted
	// or SecretNotFound. The Ready condition's reason is issuer-lib's
	// generic one (Pending, Failed); this is the one to act on.
	// +optional
	Reason string `json:"reason,omitempty"`

	// ControllerVersion is the version of the atlas-issuer manager that
	// last checked this issuer.
	// +optional
	ControllerVersion string `json:"controllerVersion,omitempty"`

	// LastCheckTime is when the credentials and the account were last
	// checked against Atlas.
	// +optional
	LastCheckTime *metav1.Time `json:"lastCheckTime,omitempty"`

	// CredentialsNotAfter is when the mTLS client certificate expires. Atlas
	// refuses every call after it.
	// +optional
	CredentialsNotAfter *metav1.Time `json:"credentialsNotAfter,omitempty"`

	// RemainingQuota is the account's remaining issuance quota at the last
	// check.
	// +optional
	RemainingQuota *int64 `json:"remainingQuota,omitempty"`

	// ValidationPolicy summarises the account's validation policy: key
	// format and types, lifetimes, and the names it accepts.
	// +optional
	ValidationPolicy string `json:"validationPolicy,omitempty"`
}
