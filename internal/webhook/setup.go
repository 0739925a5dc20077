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

// Package webhook holds the admission webhooks of license-operator: defaulting
// and validation of the three licensing kinds, and the admission of Pods that
// need a licence seat.
package webhook

import (
	ctrl "sigs.k8s.io/controller-runtime"

	webhookv1alpha1 "github.com/license-operator/license-operator/internal/webhook/v1alpha1"
	"github.com/license-operator/license-operator/internal/webhook/workload"
)

// SetupWithManager registers every admission webhook of license-operator with
// the webhook server of mgr. Each webhook registers here; cmd/main.go calls
// this only when webhooks are enabled, and the envtest suites call it too, so
// the binary and the tests serve the same set. Without opts the defaults of
// the flags apply.
func SetupWithManager(mgr ctrl.Manager, opts ...Options) error {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	usernamePrefix := ""
	if o.Workload.Identity != nil {
		usernamePrefix = o.Workload.Identity.UsernamePrefix
	}
	for _, setup := range []func(ctrl.Manager) error{
		webhookv1alpha1.SetupLicenseProductWebhookWithManager,
		webhookv1alpha1.SetupSoftwareLicenseWebhookWithManager,
		func(mgr ctrl.Manager) error {
			return webhookv1alpha1.SetupLicenseAssignmentWebhookWithManager(mgr, usernamePrefix)
		},
		func(mgr ctrl.Manager) error { return workload.SetupWithManager(mgr, o.Workload) },
		webhookv1alpha1.SetupDeletionWebhooksWithManager,
	} {
		if err := setup(mgr); err != nil {
			return err
		}
	}
	return nil
}

// Options configure the webhooks (the flags of cmd/main.go).
type Options struct {
	// Workload configures the workload webhooks: who is a trusted workload
	// controller, and the username prefix stripped from licence users.
	Workload workload.Options
}
