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

package signing

import (
	"fmt"

	"github.com/cert-manager/issuer-lib/controllers/signer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// AdmitNamespace applies an AtlasClusterIssuer's spec.namespaceSelector to
// a request from namespace, whose labels are nsLabels. A request the
// selector does not admit fails for good, before any Atlas call: the
// signer, unlike an approver, cannot deny it, and retrying cannot change
// the answer short of relabelling the namespace, after which cert-manager
// creates a new request. A request without a namespace (a Kubernetes
// CertificateSigningRequest) is refused whenever a selector is set, since
// it could otherwise reach an issuer its creator's namespaces may not use.
func AdmitNamespace(issuerName string, sel *metav1.LabelSelector, namespace string, nsLabels map[string]string) error {
	if sel == nil {
		return nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return signer.PermanentError{Err: fmt.Errorf("AtlasClusterIssuer %s has an invalid spec.namespaceSelector: %w", issuerName, err)}
	}
	if namespace == "" {
		return signer.PermanentError{Err: fmt.Errorf("AtlasClusterIssuer %s signs only for the namespaces its spec.namespaceSelector (%s) selects, and this request has no namespace", issuerName, s)}
	}
	if !s.Matches(labels.Set(nsLabels)) {
		return signer.PermanentError{Err: fmt.Errorf("namespace %s does not match spec.namespaceSelector (%s) of AtlasClusterIssuer %s", namespace, s, issuerName)}
	}
	return nil
}
