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

	// operatorTokenLifetime is how long the manager's ServiceAccount token
	// is valid: longer than any suite.
	operatorTokenLifetime = 24 * time.Hour
	// certMountInterval is how often the stand-in for the kubelet copies the
	// webhook certificate Secret into the manager's certificate directory
	// (a kubelet syncs a mounted Secret within about a minute).
	certMountInterval = 500 * time.Millisecond
)

// chartMode is what Options.Chart sets up for StartManager: where the
// webhook server listens and where its certificate files appear.
type chartMode struct {
	webhookPort int
	certDir     string
	stopMount   context.CancelFunc
	mountDone   chan struct{}
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
	helm, err := helmPath(ctx, c.RepoRoot)
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
	if err := waitCRDsEstablished(ctx, admin); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	if err := pointWebhooksAtLoopback(ctx, admin, port); err != nil {
		return err
	}
	if err := c.writeOperatorTokenKubeconfig(ctx); err != nil {
		return err
	}
	c.chart = &chartMode{webhookPort: port, certDir: filepath.Join(c.WorkDir, "webhook-certs"), mountDone: make(chan struct{})}
	if err := os.MkdirAll(c.chart.certDir, 0o700); err != nil {
		return err
	}
	mountCtx, cancel := context.WithCancel(context.Background())
	c.chart.stopMount = cancel
	go func() {
		defer close(c.chart.mountDone)
		mountSecret(mountCtx, admin, c.chart.certDir)
	}()
	return nil
}

// stopChart stops the stand-in for the kubelet.
func (c *Cluster) stopChart() {
	if c.chart != nil && c.chart.stopMount != nil {
		c.chart.stopMount()
		<-c.chart.mountDone
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

// helmPath runs hack/helm.sh (which builds helm from the Go module proxy
// once, into a cache) and returns the path it prints.
func helmPath(ctx context.Context, repoRoot string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot, "hack", "helm.sh"))
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("hack/helm.sh: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	path := strings.TrimSpace(stdout.String())
	if path == "" {
		return "", fmt.Errorf("hack/helm.sh printed no path: %s", strings.TrimSpace(stderr.String()))
	}
	return path, nil
}

// waitCRDsEstablished waits until every licensing CRD the chart installed
// serves its kind.
func waitCRDsEstablished(ctx context.Context, admin client.Client) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var crds apiextensionsv1.CustomResourceDefinitionList
		if err := admin.List(ctx, &crds); err != nil {
			last = err
			return false, nil
		}
		n := 0
		for _, crd := range crds.Items {
			if !strings.HasSuffix(crd.Name, ".licensing.license-operator.dev") {
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
			last = errors.New("the chart installed no licensing CRD")
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the chart's CRDs: %w (%v)", err, last)
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

// writeOperatorTokenKubeconfig asks the API server for a token of the
// chart's ServiceAccount (TokenRequest) and writes the manager's kubeconfig
// with it: the manager's user and groups are the ones the API server gives
// that token, and its rights the chart's RBAC.
func (c *Cluster) writeOperatorTokenKubeconfig(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	tr, err := cs.CoreV1().ServiceAccounts(OperatorNamespace).CreateToken(ctx, OperatorServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: ptr.To(int64(operatorTokenLifetime / time.Second)),
		}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("a token of the ServiceAccount %s/%s: %w", OperatorNamespace, OperatorServiceAccount, err)
	}
	cfg := &rest.Config{Host: c.Config.Host, BearerToken: tr.Status.Token}
	cfg.CAData = c.Config.CAData
	c.OperatorKubeconfigPath = filepath.Join(c.WorkDir, "operator.kubeconfig")
	return writeKubeconfig(cfg, c.OperatorKubeconfigPath)
}

// mountSecret does for the manager what the kubelet does for the Secret
// volume of the chart's Deployment: it copies tls.crt and tls.key of the
// certificate Secret into dir whenever they change, until ctx ends. Each
// file is replaced by a rename, so the manager never reads half of one.
func mountSecret(ctx context.Context, admin client.Client, dir string) {
	var last map[string][]byte
	_ = wait.PollUntilContextCancel(ctx, certMountInterval, true, func(ctx context.Context) (bool, error) {
		var s corev1.Secret
		if err := admin.Get(ctx, client.ObjectKey{Namespace: OperatorNamespace, Name: WebhookCertSecret}, &s); err != nil {
			if !apierrors.IsNotFound(err) && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "localcluster: reading the webhook certificate Secret: %v\n", err)
			}
			return false, nil
		}
		if len(s.Data[corev1.TLSCertKey]) == 0 || len(s.Data[corev1.TLSPrivateKeyKey]) == 0 {
			return false, nil
		}
		if last != nil && bytes.Equal(last[corev1.TLSCertKey], s.Data[corev1.TLSCertKey]) &&
			bytes.Equal(last[corev1.TLSPrivateKeyKey], s.Data[corev1.TLSPrivateKeyKey]) {
			return false, nil
		}
		for _, name := range []string{corev1.TLSPrivateKeyKey, corev1.TLSCertKey} {
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
}
