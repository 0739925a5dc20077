// Package v1alpha1 contains the API types of the licensing.license-operator.dev
// group: LicenseProduct, SoftwareLicense and LicenseAssignment, and the
// operator-internal SeatLedger.
//
// +kubebuilder:object:generate=true
// +groupName=licensing.license-operator.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version used to register these objects.
	GroupVersion = schema.GroupVersion{Group: "licensing.license-operator.dev", Version: "v1alpha1"}

	// SchemeBuilder is used to add go types to the GroupVersionKind scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types in this group-version to the given scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
