/*
Copyright 2026 The license-operator Authors.

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

// Package controller holds the reconcilers of license-operator and says
// truthfully who writes what:
//   - the LicenseProduct reconciler writes product status (licences, seats
//     summed over them) and the product's seats-protection finalizer;
//   - the SoftwareLicense reconciler writes licence status and the licence's
//     finalizer, generates key Secrets, and grants seats: it writes the
//     status of the LicenseAssignments bound to it or waiting for it, the
//     way the scheduler binds Pods (licensing.Grant decides; a licence is
//     the only writer of the bindings to it, and one reconcile of it never
//     runs twice at once). Each pass reads (gatherInputs), computes with no
//     I/O (computeStatus: the licence status, the assignment statuses and
//     the finalizer decision) and writes all of it in one place at the end
//     (apply). The one write before the computation is a generated key
//     Secret, whose fingerprint the status shows. It reads Nodes for
//     NodeLocked seats and writes nothing on them;
//   - there is no LicenseAssignment reconciler: an assignment's status is a
//     decision of the licence it draws from (assignments whose licence or
//     product does not exist are written by the SoftwareLicense reconciler's
//     request for the missing name, reconcileOrphans);
//   - the NodeVMLabeler, only with --label-vm-nodes, adds the label
//     licensing.license-operator.dev/virtual-machine=true to Nodes whose
//     spec.providerID is a cloud virtual machine, and writes nothing else.
//
// The seat ledgers of Concurrent assignments are written by the admission
// webhook, the seat releaser and the recount (internal/seats); the
// SoftwareLicense reconciler only reads their lines, for status.waitingPods
// of the assignments and the licence.
package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/metrics"
)

// The permissions of the manager. controller-gen turns these markers into
// config/rbac/role.yaml (ClusterRole manager-role); `make verify` fails when
// the committed role differs from them. docs/security.md ("Permissions")
// gives the reason for each; what the operator does not do is not granted:
//   - it never creates or deletes a LicenseProduct, SoftwareLicense or
//     LicenseAssignment: it updates licences and products for their
//     finalizers, and writes the three kinds' status;
//   - <kind>/finalizers only for softwarelicenses: key Secrets and managers'
//     RoleBindings carry a blocking controller reference to their licence
//     (the OwnerReferencesPermissionEnforcement admission plugin asks for it);
//   - Secrets: create only (generated key Secrets are immutable; to rotate
//     one, a person deletes it), and config/policy/operator_secret_writes.yaml
//     limits that to Secrets labelled KeySecretLabel and controlled by a
//     SoftwareLicense. The list and watch feed the cache, which holds only
//     labelled Secrets (CacheOptions); a tenant's Secret a licence names is an
//     uncached get (reconcileKey);
//   - Nodes: list and watch only, for the cache; no code reads a Node
//     uncached (the e2e audit showed the get unused);
//   - no Leases here: the leader-election Role of config/rbac grants them in
//     the operator's namespace only; nor core/v1 events, which only leader
//     election writes, into that namespace (same Role). The controllers'
//     events go through events.k8s.io.
//
// +kubebuilder:rbac:groups=licensing.license-operator.dev,resources=licenseproducts;softwarelicenses;licenseassignments,verbs=get;list;watch
// +kubebuilder:rbac:groups=licensing.license-operator.dev,resources=licenseproducts;softwarelicenses,verbs=update
// +kubebuilder:rbac:groups=licensing.license-operator.dev,resources=licenseproducts/status;softwarelicenses/status,verbs=patch
// +kubebuilder:rbac:groups=licensing.license-operator.dev,resources=licenseassignments/status,verbs=update
// +kubebuilder:rbac:groups=licensing.license-operator.dev,resources=softwarelicenses/finalizers,verbs=update
// +kubebuilder:rbac:groups=licensing.license-operator.dev,resources=seatledgers,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create
// +kubebuilder:rbac:groups="",resources=pods;namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=list;watch

// Options are what the controllers share, set once by cmd/main.go (and by
// the tests, which inject a fake clock).
type Options struct {
	// Clock is the only source of "now" for the controllers: licence state
	// changes exactly at calendar boundaries, and tests move time by hand.
	Clock clock.PassiveClock
	// LabelVMNodes starts NodeVMLabeler (flag --label-vm-nodes), which labels
	// Nodes whose spec.providerID is a cloud virtual machine. It needs
	// `patch nodes`: apply config/rbac/node-vm-labeler with it.
	LabelVMNodes bool
	// UsernamePrefix is what the API server puts before a licence user's
	// email in their username (--username-prefix); the managers' RoleBindings
	// name users with it.
	UsernamePrefix string
	// LicenceConcurrency is how many licences the SoftwareLicense controller
	// reconciles at once (flag --licence-concurrency); 0 is
	// DefaultLicenceConcurrency. One licence is never reconciled twice at
	// once (the workqueue serialises a key); two licences that compete for
	// one assignment (a productRef or bundle assignment) both decide, and
	// the resourceVersion guard of the assignment's status Update
	// (writeAssignmentStatus) lets only the first binding through: the
	// other fails with a Conflict and its pass starts again from a fresh view.
	LicenceConcurrency int
}

// DefaultLicenceConcurrency is the SoftwareLicense controller's default
// number of workers. A pass spends most of its time waiting for the API
// server's answer to its writes, so a few workers keep it busy on a small
// control plane; issue 15's convergence benchmark measured it
// (docs/benchmarks.md).
const DefaultLicenceConcurrency = 8

// SetupWithManager registers every controller of license-operator with mgr.
// Each controller registers here; cmd/main.go and the envtest suites call
// this one function, so the binary and the tests run the same set.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if err := SetupIndexes(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return err
	}
	// The licence controller records the per-object gauges; only the
	// elected leader runs it, so only the leader exports them.
	if err := mgr.Add(metrics.Leader()); err != nil {
		return err
	}
	if err := (&SoftwareLicenseReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Scheme:    mgr.GetScheme(),
		Clock:     opts.Clock,
		Recorder:  mgr.GetEventRecorder("softwarelicense-controller"),
	}).setupWithManager(mgr, opts.LicenceConcurrency); err != nil {
		return err
	}
	if opts.LabelVMNodes {
		if err := (&NodeVMLabeler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
			return err
		}
	}
	if err := (&LicenseManagersReconciler{
		Client:         mgr.GetClient(),
		APIReader:      mgr.GetAPIReader(),
		Scheme:         mgr.GetScheme(),
		UsernamePrefix: opts.UsernamePrefix,
		Recorder:       mgr.GetEventRecorder("softwarelicense-managers-controller"),
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&LicenseProductReconciler{
		Client:   mgr.GetClient(),
		Clock:    opts.Clock,
		Recorder: mgr.GetEventRecorder("licenseproduct-controller"),
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	return nil
}

// CacheOptions are the manager's cache options (cmd/main.go and the test
// harness pass them as ctrl.Options.Cache): the cache holds only the Secrets
// labelled KeySecretLabel=true, the licence keys the operator generated or
// was asked to watch, never every Secret of the cluster; only the
// RoleBindings of licence managers (licensing.ManagerBindingLabel); and only
// the Pods labelled LicensedLabel=true, the Pods the mutating Pod webhook
// admitted for a product (issue 11 §3: unrelated Pods cost the manager no
// memory). Other Secrets a licence names are read uncached (see
// SoftwareLicenseReconciler.reconcileKey).
//
// Every reader of Pods from the cache sees only licensed Pods, and that is
// intended: the freeToUse count of LicenseProductReconciler, and the seat
// releaser and recounts of internal/seats, are about Pods admitted for a
// product. What must see every Pod (whether a name is still held, whether a
// ledger entry's Pod is gone) reads live.
//
// Every cached object is stored without metadata.managedFields
// (controller-runtime's TransformStripManagedFields): the API server keeps
// them, no code of the manager reads them (only the kubectl plugin does,
// from the API server), and they are about half of a licence's JSON (issue
// 15, memory per object at 100,000). An Update of a cached object sends no
// managedFields, which the API server takes as unchanged. Nothing else is
// dropped: Updates of cached objects (webhook configurations, ledgers)
// would write back whatever the cache left out.
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}:      {Label: labels.SelectorFromSet(labels.Set{KeySecretLabel: keySecretLabelValue})},
			&rbacv1.RoleBinding{}: {Label: labels.SelectorFromSet(labels.Set{licensing.ManagerBindingLabel: licensing.ManagerBindingLabelValue})},
			&corev1.Pod{}:         {Label: labels.SelectorFromSet(labels.Set{licensingv1alpha1.LicensedLabel: licensingv1alpha1.LicensedLabelValue})},
		},
	}
}
