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
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/license-operator/license-operator/internal/webhook/workload"
	"github.com/license-operator/license-operator/test/kubecluster"
)

const (
	// ChartRelease is the Helm release Options.Chart installs dist/chart as,
	// into OperatorNamespace.
	ChartRelease = "license-operator"
	// OperatorServiceAccount is the chart's (and config/default's)
	// ServiceAccount of the manager.
	OperatorServiceAccount = NamePrefix + "controller-manager"
	// WebhookServiceDNSName is the DNS name of the chart's webhook Service,
	// the name the chart gives the serving certificate.
	WebhookServiceDNSName = NamePrefix + "webhook-service." + OperatorNamespace + ".svc"

	// tokenLifetime is how long the ServiceAccount token of a process
	// beside the cluster (the manager, Kueue) is valid: longer than any
	// suite.
	tokenLifetime = 24 * time.Hour
	// certMountInterval is how often the stand-in for the kubelet copies a
	// webhook certificate Secret into a certificate directory (a kubelet
	// syncs a mounted Secret within about a minute).
	certMountInterval = 500 * time.Millisecond
)

// chartMode is what Options.Chart sets up for StartManager: where the
// webhook server listens and where its certificate files appear.
type chartMode struct {
	webhookPort int
	certDir     string
	mount       *secretMount
}

// installChart installs the cluster the way a cluster operator does: `helm
// install` of dist/chart (CRDs, RBAC, policies, webhooks, the Deployment)
// with certManager.enabled=false, so that the manager makes and rotates its
// own webhook certificate. Hollow nodes run no containers, so the manager
// runs beside the cluster instead of in the Deployment's Pods, and three
// things stand in for what a Pod would have:
//   - the webhook configurations call https://localhost:<port>/<path> instead
//     of the webhook Service (no cluster DNS or Pod network here); their
//     rules, scopes and matchConditions stay as the chart installed them,
//     and the caBundle is the operator's to write;
//   - the manager authenticates with a token of the chart's ServiceAccount
//     (TokenRequest), as the Pod's projected token would;
//   - a loop copies the certificate Secret into a directory, as the kubelet
//     does for the Secret volume the Deployment mounts.
func (c *Cluster) installChart(ctx context.Context) error {
	helm, err := toolPath(ctx, c.RepoRoot, "helm.sh")
	if err != nil {
		return err
	}
	home := filepath.Join(c.WorkDir, "helm")
	cmd := exec.CommandContext(ctx, helm, "install", ChartRelease, filepath.Join(c.RepoRoot, "dist", "chart"),
		"--namespace", OperatorNamespace, "--create-namespace",
		"--kubeconfig", c.KubeconfigPath,
		"--set", "certManager.enabled=false")
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("helm install %s dist/chart: %w: %s", ChartRelease, err, strings.TrimSpace(out.String()))
	}
	if err := os.WriteFile(filepath.Join(c.WorkDir, "helm-install.log"), out.Bytes(), 0o600); err != nil {
		return err
	}

	scheme := kubecluster.Scheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return err
	}
	admin, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	if err := waitCRDsEstablished(ctx, admin, "licensing.license-operator.dev"); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	if err := pointWebhooksAtLoopback(ctx, admin, port); err != nil {
		return err
	}
	c.OperatorKubeconfigPath = filepath.Join(c.WorkDir, "operator.kubeconfig")
	if err := c.writeTokenKubeconfig(ctx, OperatorNamespace, OperatorServiceAccount, c.OperatorKubeconfigPath); err != nil {
		return err
	}
	c.chart = &chartMode{webhookPort: port, certDir: filepath.Join(c.WorkDir, "webhook-certs")}
	c.chart.mount, err = startSecretMount(admin, client.ObjectKey{Namespace: OperatorNamespace, Name: WebhookCertSecret},
		c.chart.certDir, corev1.TLSPrivateKeyKey, corev1.TLSCertKey)
	return err
}

// stopChart stops the stand-in for the kubelet.
func (c *Cluster) stopChart() {
	if c.chart != nil && c.chart.mount != nil {
		c.chart.mount.stop()
	}
}

// chartManagerArgs are the manager flags of the chart's Deployment with
// certManager.enabled=false (leader election on, through the chart's
// leader-election Role), with the certificate directory, the webhook port,
// the extra DNS name (localhost, which the configurations now call) and the
// Lease's namespace (a Pod reads it from its ServiceAccount) of a manager
// beside the cluster.
func (c *Cluster) chartManagerArgs() []string {
	return []string{
		"--leader-elect=true",
		"--leader-election-namespace=" + OperatorNamespace,
		"--enable-webhooks=true",
		"--webhook-port=" + strconv.Itoa(c.chart.webhookPort),
		"--webhook-cert-path=" + c.chart.certDir,
		"--internal-cert-management",
		"--webhook-cert-secret=" + OperatorNamespace + "/" + WebhookCertSecret,
		"--webhook-cert-dns-names=" + WebhookServiceDNSName + ",localhost",
		"--validating-webhook-configuration=" + workload.DefaultValidatingWebhookConfiguration,
		"--mutating-webhook-configuration=" + workload.DefaultMutatingWebhookConfiguration,
	}
}

// toolPath runs hack/<script> with args, one of the scripts that provide a
// tool from a cache, building it from the Go module proxy once
// (envtest-assets.sh, helm.sh, kueue.sh: see hack/go-tool.sh), and returns
// the path it prints.
func toolPath(ctx context.Context, repoRoot, script string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot, "hack", script), args...)
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("hack/%s: %w: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	path := strings.TrimSpace(stdout.String())
	if path == "" {
		return "", fmt.Errorf("hack/%s printed no path: %s", script, strings.TrimSpace(stderr.String()))
	}
	return path, nil
}

// waitCRDsEstablished waits until every CRD of group (at least one) serves
// its kind.
func waitCRDsEstablished(ctx context.Context, admin client.Client, group string) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var crds apiextensionsv1.CustomResourceDefinitionList
		if err := admin.List(ctx, &crds); err != nil {
			last = err
			return false, nil
		}
		n := 0
		for _, crd := range crds.Items {
			if crd.Spec.Group != group {
				continue
			}
			n++
			established := false
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			if !established {
				last = fmt.Errorf("CRD %s is not established", crd.Name)
				return false, nil
			}
		}
		if n == 0 {
			last = fmt.Errorf("no CRD of %s is installed", group)
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the CRDs of %s: %w (%v)", group, err, last)
	}
	return nil
}

// pointWebhooksAtLoopback rewrites the client configuration of every webhook
// of the chart's two configurations from the webhook Service to
// https://localhost:<port><path>, leaving everything else as installed.
func pointWebhooksAtLoopback(ctx context.Context, admin client.Client, port int) error {
	toURL := func(cc *admissionregistrationv1.WebhookClientConfig) error {
		if cc.Service == nil {
			return errors.New("the chart's webhook has no service reference")
		}
		path := ""
		if cc.Service.Path != nil {
			path = *cc.Service.Path
		}
		cc.URL = ptr.To("https://" + net.JoinHostPort("localhost", strconv.Itoa(port)) + path)
		cc.Service = nil
		return nil
	}
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := admin.Get(ctx, client.ObjectKey{Name: workload.DefaultValidatingWebhookConfiguration}, &v); err != nil {
		return fmt.Errorf("the chart's validating webhook configuration: %w", err)
	}
	for i := range v.Webhooks {
		if err := toURL(&v.Webhooks[i].ClientConfig); err != nil {
			return fmt.Errorf("%s %s: %w", v.Name, v.Webhooks[i].Name, err)
		}
	}
	if err := admin.Update(ctx, &v); err != nil {
		return err
	}
	var m admissionregistrationv1.MutatingWebhookConfiguration
	if err := admin.Get(ctx, client.ObjectKey{Name: workload.DefaultMutatingWebhookConfiguration}, &m); err != nil {
		return fmt.Errorf("the chart's mutating webhook configuration: %w", err)
	}
	for i := range m.Webhooks {
		if err := toURL(&m.Webhooks[i].ClientConfig); err != nil {
			return fmt.Errorf("%s %s: %w", m.Name, m.Webhooks[i].Name, err)
		}
	}
	return admin.Update(ctx, &m)
}

// writeTokenKubeconfig asks the API server for a token of the
// ServiceAccount namespace/name (TokenRequest), as a Pod's projected token
// would be, and writes a kubeconfig with it to path: a process beside the
// cluster that uses it has the user and groups the API server gives that
// token, and exactly the rights its RBAC binds to the ServiceAccount.
func (c *Cluster) writeTokenKubeconfig(ctx context.Context, namespace, name, path string) error {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: ptr.To(int64(tokenLifetime / time.Second)),
		}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("a token of the ServiceAccount %s/%s: %w", namespace, name, err)
	}
	cfg := &rest.Config{Host: c.Config.Host, BearerToken: tr.Status.Token}
	cfg.CAData = c.Config.CAData
	return writeKubeconfig(cfg, path)
}

// secretMount does for a process beside the cluster what the kubelet does
// for a Secret volume of its Deployment: it copies keys of a Secret into a
// directory whenever they change. Each file is replaced by a rename, so the
// process never reads half of one.
type secretMount struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startSecretMount creates dir and copies keys of the Secret key into it,
// as files named after the keys, until stop; it copies once every key is
// there, then again on each change.
func startSecretMount(admin client.Client, key client.ObjectKey, dir string, keys ...string) (*secretMount, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &secretMount{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		var last map[string][]byte
		_ = wait.PollUntilContextCancel(ctx, certMountInterval, true, func(ctx context.Context) (bool, error) {
			var s corev1.Secret
			if err := admin.Get(ctx, key, &s); err != nil {
				if !apierrors.IsNotFound(err) && ctx.Err() == nil {
					fmt.Fprintf(os.Stderr, "localcluster: reading the Secret %s: %v\n", key, err)
				}
				return false, nil
			}
			if !secretHasKeys(s.Data, keys) || sameKeys(last, s.Data, keys) {
				return false, nil
			}
			for _, name := range keys {
				tmp := filepath.Join(dir, "."+name+".tmp")
				if err := os.WriteFile(tmp, s.Data[name], 0o600); err != nil {
					return false, nil
				}
				if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
					return false, nil
				}
			}
			last = s.Data
			return false, nil
		})
	}()
	return m, nil
}

// stop ends the copying and waits for it.
func (m *secretMount) stop() {
	m.cancel()
	<-m.done
}

// secretHasKeys says whether data holds a non-empty value under every key.
func secretHasKeys(data map[string][]byte, keys []string) bool {
	for _, k := range keys {
		if len(data[k]) == 0 {
			return false
		}
	}
	return true
}

// sameKeys says whether a and b hold the same values under every key (false
// when a is nil: nothing was copied yet).
func sameKeys(a, b map[string][]byte, keys []string) bool {
	if a == nil {
		return false
	}
	for _, k := range keys {
		if !bytes.Equal(a[k], b[k]) {
			return false
		}
	}
	return true
}
