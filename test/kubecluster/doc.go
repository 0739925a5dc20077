// Package kubecluster starts what a test needs beyond a bare control plane:
// webhook managers behind a round-robin proxy for envtest suites, and
// kube-controller-manager, kube-scheduler and kubemark hollow nodes for the
// full-cluster end-to-end tests.
package kubecluster
