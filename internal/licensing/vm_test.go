package licensing

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

func TestIsVirtualMachineNode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"labelled true", map[string]string{licensingv1alpha1.VirtualMachineLabel: "true"}, true},
		{"labelled false", map[string]string{licensingv1alpha1.VirtualMachineLabel: "false"}, false},
		{"unlabelled", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels}}
			if got := IsVirtualMachineNode(n); got != tc.want {
				t.Errorf("IsVirtualMachineNode = %v, want %v", got, tc.want)
			}
		})
	}
	if IsVirtualMachineNode(nil) {
		t.Error("a missing node is not a VM")
	}
}

func TestProviderIDIsVM(t *testing.T) {
	for id, want := range map[string]bool{
		"aws:///eu-west-1a/i-0abc":                   true,
		"gce://proj/europe-west1-b/node-1":           true,
		"azure:///subscriptions/x/virtualMachines/y": true,
		"kind://docker/kind/kind-control-plane":      false,
		"metal://rack-4/slot-2":                      false,
		"":                                           false,
	} {
		if got := ProviderIDIsVM(id); got != want {
			t.Errorf("ProviderIDIsVM(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestNeedsVirtualMachineLabel(t *testing.T) {
	for _, tc := range []struct {
		name       string
		providerID string
		labels     map[string]string
		want       bool
	}{
		{"a cloud VM without the label", "aws:///eu-west-1a/i-0abc", nil, true},
		{"a cloud VM already labelled", "gce://p/z/n", map[string]string{licensingv1alpha1.VirtualMachineLabel: "true"}, false},
		{"a cloud VM an operator labelled false", "azure:///subscriptions/s/vm", map[string]string{licensingv1alpha1.VirtualMachineLabel: "false"}, false},
		{"bare metal", "metal3://ns/bmh", nil, false},
		{"no providerID", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels}, Spec: corev1.NodeSpec{ProviderID: tc.providerID}}
			if got := NeedsVirtualMachineLabel(n); got != tc.want {
				t.Errorf("NeedsVirtualMachineLabel = %v, want %v", got, tc.want)
			}
		})
	}
	if NeedsVirtualMachineLabel(nil) {
		t.Error("a missing node needs no label")
	}
}
