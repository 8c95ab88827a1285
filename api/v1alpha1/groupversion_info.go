// Package v1alpha1 holds the AtlasIssuer and AtlasClusterIssuer API of the
// hvca.globalsign.com group.
// +kubebuilder:object:generate=true
// +groupName=hvca.globalsign.com
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "hvca.globalsign.com", Version: "v1alpha1"}

	// SchemeBuilder registers the API's types with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&AtlasIssuer{}, &AtlasIssuerList{},
		&AtlasClusterIssuer{}, &AtlasClusterIssuerList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
