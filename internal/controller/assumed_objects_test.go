package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// A write that changed nothing (an empty status patch: the API server
// answers with the version it had) leaves no record: the cache already
// shows that version, and a record of it would never be dropped. A write
// that changed the object is recorded until the cache shows it.
func TestAssumedObjectsNoOpWrite(t *testing.T) {
	lic := func(rv, state string) *licensingv1alpha1.SoftwareLicense {
		return &licensingv1alpha1.SoftwareLicense{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "lic", UID: "u", ResourceVersion: rv},
			Status:     licensingv1alpha1.SoftwareLicenseStatus{State: licensingv1alpha1.LicenseState(state)},
		}
	}
	var s assumedObjects[*licensingv1alpha1.SoftwareLicense]
	s.wrote(lic("5", "Active"), lic("5", "Active"))
	if len(s.m) != 0 {
		t.Fatalf("a write that changed nothing is recorded: %d records", len(s.m))
	}
	s.wrote(lic("5", "Active"), lic("6", "Expired"))
	if got := s.view(lic("5", "Active")); got.ResourceVersion != "6" {
		t.Fatalf("a cache behind our write shows version %s, want our 6", got.ResourceVersion)
	}
	// An empty patch based on our own write keeps that write's record.
	s.wrote(lic("6", "Expired"), lic("6", "Expired"))
	if got := s.view(lic("5", "Active")); got.ResourceVersion != "6" {
		t.Fatalf("after an empty patch a cache behind our write shows version %s, want our 6", got.ResourceVersion)
	}
	if got := s.view(lic("6", "Expired")); got.ResourceVersion != "6" || len(s.m) != 0 {
		t.Fatalf("a cache that caught up: version %s, %d records left", got.ResourceVersion, len(s.m))
	}
}
