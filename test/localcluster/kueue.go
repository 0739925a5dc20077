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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"
)

// Kueue beside the local cluster (Options.Kueue): the kueue binary of
// hack/kueue.sh (sigs.k8s.io/kueue/cmd/kueue, pinned by
// hack/tools/kueue/go.mod) runs as a child process the way StartManager runs
// the operator, and four things stand in for what its Deployment's Pod
// would have:
//   - the manifests of the module's config/default are applied without the
//     Deployment and the visibility APIServices (the only objects that need
//     a Pod behind them); Kueue's visibility server is off
//     (VisibilityOnDemand=false);
//   - Kueue authenticates with a token of its own ServiceAccount, so it has
//     exactly its shipped RBAC;
//   - a stand-in for the kubelet copies the Secret Kueue's internal
//     certificate management fills (tls.crt, tls.key, ca.crt) into its
//     webhook.certDir;
//   - the API server reaches kueue-webhook-service (the admission webhooks
//     and the conversion webhook of Kueue's CRDs) at the Kueue process:
//     --enable-aggregator-routing makes it call a Service's endpoints rather
//     than its cluster IP (no kube-proxy here), and an EndpointSlice of the
//     Service names this machine's address and the webhook port.

const (
	// KueueNamespace is the namespace of Kueue's config/default.
	KueueNamespace = "kueue-system"
	// KueueServiceAccount is the ServiceAccount Kueue runs as.
	KueueServiceAccount = "kueue-controller-manager"
	// KueueWebhookService is the Service Kueue's webhooks and CRD conversion
	// call.
	KueueWebhookService = "kueue-webhook-service"
	// KueueWebhookSecret is the Secret Kueue's internal certificate
	// management writes the webhook serving certificate into.
	KueueWebhookSecret = "kueue-webhook-server-cert"
	// KueueGroup is the API group of Kueue's CRDs.
	KueueGroup = "kueue.x-k8s.io"
	// KueueReadyTimeout bounds the wait for Kueue's /readyz and for its
	// webhooks to answer through the API server.
	KueueReadyTimeout = 3 * time.Minute

	// kueueModule is the module hack/tools/kueue/go.mod pins.
	kueueModule = "sigs.k8s.io/kueue"
	// kueueEndpointSliceManager marks the EndpointSlice localcluster writes,
	// so that the endpointslice controller leaves it alone.
	kueueEndpointSliceManager = "localcluster.license-operator.dev"
)

// kueueMode is what Options.Kueue set up, for Stop and Logs.
type kueueMode struct {
	manager *Manager
	mount   *secretMount
}

// Kueue is Kueue's manager process (Options.Kueue): its ProbeAddr,
// MetricsAddr and LogPath (the file "kueue" of Logs). Nil without
// Options.Kueue.
func (c *Cluster) Kueue() *Manager {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.kueue == nil {
		return nil
	}
	return c.kueue.manager
}

// startKueue applies Kueue's manifests, starts Kueue beside the cluster and
// waits until it is ready and its webhooks answer through the API server.
// kueueBin is the binary hack/kueue.sh printed. The API server must run with
// --enable-aggregator-routing (Start sets it).
func (c *Cluster) startKueue(ctx context.Context, kueueBin string) error {
	moduleDir, err := kueueModuleDir(ctx, c.RepoRoot)
	if err != nil {
		return err
	}
	manifests, err := renderKueue(ctx, c.KubectlPath(), moduleDir)
	if err != nil {
		return err
	}
	if _, err := c.KubectlWithInput(ctx, string(manifests), "apply", "--server-side", "-f", "-"); err != nil {
		return fmt.Errorf("applying Kueue's config/default: %w", err)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, kueue.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	admin, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	if err := waitCRDsEstablished(ctx, admin, KueueGroup); err != nil {
		return err
	}

	host, err := hostAddress()
	if err != nil {
		return err
	}
	webhookPort, err := freePortOn(host.String())
	if err != nil {
		return err
	}
	if err := routeServiceToHost(ctx, admin, KueueNamespace, KueueWebhookService, host, webhookPort); err != nil {
		return err
	}

	dir := filepath.Join(c.WorkDir, "kueue")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := c.writeTokenKubeconfig(ctx, KueueNamespace, KueueServiceAccount, kubeconfig); err != nil {
		return err
	}
	certDir := filepath.Join(dir, "certs")
	mount, err := startSecretMount(admin, client.ObjectKey{Namespace: KueueNamespace, Name: KueueWebhookSecret}, certDir,
		"ca.crt", corev1.TLSCertKey, corev1.TLSPrivateKeyKey)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.kueue = &kueueMode{mount: mount}
	c.mu.Unlock()

	probePort, err := freePort()
	if err != nil {
		return err
	}
	metricsPort, err := freePort()
	if err != nil {
		return err
	}
	m := &Manager{
		ProbeAddr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort)),
		MetricsAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(metricsPort)),
		name:        "kueue",
		done:        make(chan struct{}),
	}
	configPath := filepath.Join(dir, "config.yaml")
	config := kueueConfiguration(m.ProbeAddr, m.MetricsAddr, host.String(), webhookPort, certDir)
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return err
	}
	args := []string{"--config=" + configPath, "--kubeconfig=" + kubeconfig}
	if err := c.launch(m, kueueBin, args, nil, "kueue.log", func() { c.kueue.manager = m }); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, KueueReadyTimeout)
	defer cancel()
	if err := m.waitReady(wctx, KueueReadyTimeout); err != nil {
		return err
	}
	return waitKueueWebhooks(wctx, admin, m)
}

// stopKueue stops Kueue, then the stand-in for the kubelet.
func (c *Cluster) stopKueue() error {
	c.mu.Lock()
	k := c.kueue
	c.kueue = nil
	c.mu.Unlock()
	if k == nil {
		return nil
	}
	var err error
	if k.manager != nil {
		err = k.manager.Stop()
	}
	k.mount.stop()
	return err
}

// kueueConfiguration is Kueue's Configuration (config.kueue.x-k8s.io/v1beta2,
// the version v0.17 reads) for a Kueue beside the cluster: probes and
// metrics on loopback, the webhook server on the address its EndpointSlice
// names, leader election in its namespace (a Pod would read the namespace
// from its ServiceAccount), internal certificate management, and the
// integrations the tests use: batch/job, and pod (plain Pods with Kueue's
// queue-name label).
func kueueConfiguration(probeAddr, metricsAddr, webhookHost string, webhookPort int, certDir string) string {
	return fmt.Sprintf(`apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
namespace: %[1]s
health:
  healthProbeBindAddress: %[2]q
metrics:
  bindAddress: %[3]q
webhook:
  host: %[4]q
  port: %[5]d
  certDir: %[6]q
leaderElection:
  leaderElect: true
  resourceName: c1f6bfd2.kueue.x-k8s.io
  resourceNamespace: %[1]s
internalCertManagement:
  enable: true
  webhookServiceName: %[7]s
  webhookSecretName: %[8]s
integrations:
  frameworks:
  - batch/job
  - pod
featureGates:
  VisibilityOnDemand: false
`, KueueNamespace, probeAddr, metricsAddr, webhookHost, webhookPort, certDir, KueueWebhookService, KueueWebhookSecret)
}

// kueueModuleDir downloads the Kueue module hack/tools/kueue/go.mod pins
// (a no-op once it is in the module cache) and returns its directory.
func kueueModuleDir(ctx context.Context, repoRoot string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", kueueModule)
	cmd.Dir = filepath.Join(repoRoot, "hack", "tools", "kueue")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go mod download %s in hack/tools/kueue: %w: %s%s", kueueModule, err,
			strings.TrimSpace(stderr.String()), strings.TrimSpace(stdout.String()))
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &mod); err != nil {
		return "", fmt.Errorf("go mod download -json %s: %w", kueueModule, err)
	}
	if mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory: %s", kueueModule, mod.Error)
	}
	return mod.Dir, nil
}

// renderKueue renders config/default of Kueue's module with kubectl
// kustomize and leaves out what needs a Pod behind it (kueueNeedsPod).
func renderKueue(ctx context.Context, kubectl, moduleDir string) ([]byte, error) {
	rendered, err := kustomize(ctx, kubectl, filepath.Join(moduleDir, "config", "default"))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = eachDocument(rendered, func(kind string, doc []byte) error {
		if kind != "" && !kueueNeedsPod(kind) {
			out.WriteString("---\n")
			out.Write(doc)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("the rendered config/default of Kueue: %w", err)
	}
	return out.Bytes(), nil
}

// kueueNeedsPod says whether a kind of Kueue's config/default is left out:
// the Deployment (the process beside the cluster replaces it) and the
// visibility APIServices (the API server would send the visibility API to a
// server that is off, and report the APIServices unavailable).
func kueueNeedsPod(kind string) bool {
	return kind == "Deployment" || kind == "APIService"
}

// hostAddress returns an address of this machine that an EndpointSlice may
// name. Everything else in localcluster listens on loopback, but the API
// server refuses loopback (and link-local) endpoint addresses, so the
// webhook server of Kueue, reached through its Service's EndpointSlice, is
// the one place that listens on another address: the first up, non-loopback
// interface's IPv4 address (else its IPv6 one).
func hostAddress() (net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var v6 net.IP
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok || !endpointAddress(ipnet.IP) {
				continue
			}
			if ip4 := ipnet.IP.To4(); ip4 != nil {
				return ip4, nil
			}
			if v6 == nil {
				v6 = ipnet.IP
			}
		}
	}
	if v6 != nil {
		return v6, nil
	}
	return nil, errors.New("this machine has no non-loopback address for the EndpointSlice of Kueue's webhook Service (the API server refuses loopback endpoints)")
}

// endpointAddress says whether the API server accepts ip in an
// EndpointSlice: not unspecified, loopback, link-local or multicast.
func endpointAddress(ip net.IP) bool {
	return !ip.IsUnspecified() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() &&
		!ip.IsLinkLocalMulticast() && !ip.IsMulticast()
}

// routeServiceToHost writes an EndpointSlice of the Service namespace/name
// that names host:port for the Service's first port. With
// --enable-aggregator-routing the API server calls that endpoint for the
// webhooks and conversions that reference the Service.
func routeServiceToHost(ctx context.Context, admin client.Client, namespace, name string, host net.IP, port int) error {
	var svc corev1.Service
	if err := admin.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &svc); err != nil {
		return fmt.Errorf("the Service %s/%s: %w", namespace, name, err)
	}
	if len(svc.Spec.Ports) == 0 {
		return fmt.Errorf("the Service %s/%s has no port", namespace, name)
	}
	addressType := discoveryv1.AddressTypeIPv4
	if host.To4() == nil {
		addressType = discoveryv1.AddressTypeIPv6
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
			Name:      name + "-local",
			Labels: map[string]string{
				discoveryv1.LabelServiceName: name,
				discoveryv1.LabelManagedBy:   kueueEndpointSliceManager,
			},
		},
		AddressType: addressType,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{host.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		}},
		// The API server matches the slice's port to the Service's by name
		// ("" when the Service's port has none).
		Ports: []discoveryv1.EndpointPort{{
			Name:     ptr.To(svc.Spec.Ports[0].Name),
			Port:     ptr.To(int32(port)),
			Protocol: ptr.To(corev1.ProtocolTCP),
		}},
	}
	if err := admin.Create(ctx, slice); err != nil {
		return fmt.Errorf("the EndpointSlice of %s/%s: %w", namespace, name, err)
	}
	return nil
}

// waitKueueWebhooks waits until a dry-run create of a ResourceFlavor passes
// Kueue's mutating and validating webhooks: the API server reaches Kueue
// through the EndpointSlice and trusts the CA Kueue injected.
func waitKueueWebhooks(ctx context.Context, admin client.Client, m *Manager) error {
	var last error
	for {
		rf := &kueue.ResourceFlavor{ObjectMeta: metav1.ObjectMeta{Name: "localcluster-webhook-probe"}}
		if last = admin.Create(ctx, rf, client.DryRunAll); last == nil {
			return nil
		}
		select {
		case <-m.Exited():
			return fmt.Errorf("kueue exited: %v%s", m.ExitErr(), m.logHint())
		case <-ctx.Done():
			return fmt.Errorf("the webhooks of Kueue did not answer through the API server (last error: %v): %w%s", last, ctx.Err(), m.logHint())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
