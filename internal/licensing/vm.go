package licensing

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// CloudVMProviderIDPrefixes are the spec.providerID schemes of the cloud
// providers whose nodes are virtual machines (the cloud controller managers
// of AWS, Google Cloud, Azure, OpenStack, vSphere, DigitalOcean, Hetzner
// Cloud, Linode, Oracle Cloud and IBM Cloud write them). A bare-metal
// offering of the same provider uses another scheme or none.
var CloudVMProviderIDPrefixes = []string{
	"aws://", "gce://", "azure://", "openstack://", "vsphere://",
	"digitalocean://", "hcloud://", "linode://", "oci://", "ibm://",
}

// VirtualMachineLabelValue is the value of VirtualMachineLabel that marks a
// virtual machine.
const VirtualMachineLabelValue = "true"

// IsVirtualMachineNode says whether node is a virtual machine: it carries
// VirtualMachineLabel=true. The label is the only thing admission and
// binding trust; ProviderIDIsVM is what --label-vm-nodes labels from.
func IsVirtualMachineNode(node *corev1.Node) bool {
	return node != nil && node.Labels[licensingv1alpha1.VirtualMachineLabel] == VirtualMachineLabelValue
}

// ProviderIDIsVM says whether a node's spec.providerID names a cloud virtual
// machine (one of CloudVMProviderIDPrefixes).
func ProviderIDIsVM(providerID string) bool {
	for _, p := range CloudVMProviderIDPrefixes {
		if strings.HasPrefix(providerID, p) {
			return true
		}
	}
	return false
}

// NeedsVirtualMachineLabel says whether --label-vm-nodes labels node
// VirtualMachineLabel=true: its spec.providerID names a cloud virtual
// machine and it carries no VirtualMachineLabel yet. A label an operator
// set, to any value, is never changed or removed.
func NeedsVirtualMachineLabel(node *corev1.Node) bool {
	if node == nil {
		return false
	}
	if _, set := node.Labels[licensingv1alpha1.VirtualMachineLabel]; set {
		return false
	}
	return ProviderIDIsVM(node.Spec.ProviderID)
}
