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

package localcluster

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	configapi "sigs.k8s.io/kueue/apis/config/v1beta2"
	"sigs.k8s.io/yaml"
)

// TestKueueConfigurationIsKueues decodes the Configuration localcluster
// writes strictly into Kueue's own type, so that a misspelt or moved field
// fails here rather than being ignored by Kueue.
func TestKueueConfigurationIsKueues(t *testing.T) {
	raw := kueueConfiguration("127.0.0.1:1", "127.0.0.1:2", "192.0.2.2", 3, "/certs")
	var cfg configapi.Configuration
	if err := yaml.UnmarshalStrict([]byte(raw), &cfg); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if cfg.APIVersion != configapi.GroupVersion.String() || cfg.Kind != "Configuration" {
		t.Errorf("apiVersion %q, kind %q; want %q, Configuration", cfg.APIVersion, cfg.Kind, configapi.GroupVersion)
	}
	type summary struct {
		Namespace, Probe, Metrics, WebhookHost, CertDir, LeaseNamespace string
		WebhookPort                                                     int
		InternalCerts                                                   bool
		Frameworks                                                      []string
		VisibilityOnDemand                                              bool
	}
	got := summary{
		Namespace: deref(cfg.Namespace), Probe: cfg.Health.HealthProbeBindAddress, Metrics: cfg.Metrics.BindAddress,
		WebhookHost: cfg.Webhook.Host, CertDir: cfg.Webhook.CertDir, WebhookPort: deref(cfg.Webhook.Port),
		LeaseNamespace: cfg.LeaderElection.ResourceNamespace, InternalCerts: deref(cfg.InternalCertManagement.Enable),
		Frameworks: cfg.Integrations.Frameworks, VisibilityOnDemand: cfg.FeatureGates["VisibilityOnDemand"],
	}
	want := summary{
		Namespace: KueueNamespace, Probe: "127.0.0.1:1", Metrics: "127.0.0.1:2",
		WebhookHost: "192.0.2.2", CertDir: "/certs", WebhookPort: 3,
		LeaseNamespace: KueueNamespace, InternalCerts: true,
		Frameworks: []string{"batch/job", "pod"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Kueue's configuration (-want +got):\n%s", diff)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// TestEndpointAddress keeps hostAddress to the addresses the API server
// accepts in an EndpointSlice.
func TestEndpointAddress(t *testing.T) {
	for ip, want := range map[string]bool{
		"192.0.2.2":   true,
		"10.1.2.3":    true,
		"fd00::2":     true,
		"127.0.0.1":   false,
		"::1":         false,
		"0.0.0.0":     false,
		"::":          false,
		"169.254.1.1": false,
		"fe80::1":     false,
		"224.0.0.1":   false,
		"ff02::1":     false,
	} {
		if got := endpointAddress(net.ParseIP(ip)); got != want {
			t.Errorf("endpointAddress(%s) = %t, want %t", ip, got, want)
		}
	}
}
