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

// Package localcluster runs license-operator on a control plane of its own:
// etcd and kube-apiserver on loopback (started by controller-runtime's
// envtest, with the CRDs of config/crd/bases and the webhook configurations
// of config/webhook installed), an admin kubeconfig file, and the manager
// binary as a child process serving the webhooks. It needs nothing but Go:
// the binaries come from hack/envtest-assets.sh. `make run-local` and the
// e2e suite use it.
//
// The manager runs as the operator's ServiceAccount user with exactly the
// RBAC of config/rbac, rendered as config/default renders it (rbac.go), and
// the API server writes every request of that user to an audit log
// (AuditLogPath; audit.go reads it).
//
// With HollowNodes it is a whole local cluster: kube-controller-manager,
// kube-scheduler and kubemark hollow nodes run beside the control plane, so
// Deployments, ReplicaSets, Jobs and garbage collection are the real
// controllers and Pods are scheduled and reported Running (without
// containers). With Kueue, a real Kueue runs beside it too (kueue.go).
//
// Every process runs in a process group of its own, so a Ctrl-C in a
// terminal never reaches it directly; Stop ends the manager first, then the
// cluster components and the control plane, and leaves no process behind.
// When the process that called Start dies without calling Stop (SIGKILL),
// every child dies with it (Pdeathsig, on Linux: see procs_linux.go), and
// the next Start removes the work directory it left (SweepLeftovers).
//
// StartWithManager is the one way to bring up a cluster with the manager
// on it: `make run-local` and both e2e suites (through test/e2e/framework)
// use it.
package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// Module is the Go module path of this repository; FindRepoRoot looks for the
// go.mod that declares it.
const Module = "github.com/license-operator/license-operator"

// AdminUser is the user of the kubeconfig a Cluster writes; it is in the
// system:masters group.
const AdminUser = "license-operator-admin"

// Options configure Start. Every field has a default.
type Options struct {
	// RepoRoot is the root of the license-operator repository. Default:
	// FindRepoRoot from the working directory.
	RepoRoot string
	// AssetsDir holds kube-apiserver, etcd and kubectl. Default: the
	// directory hack/envtest-assets.sh prints (which honours
	// KUBEBUILDER_ASSETS).
	AssetsDir string
	// WorkDir receives the kubeconfig, the kubectl cache and the manager
	// log. Default: a new temporary directory, removed by Stop.
	WorkDir string
	// DisableWebhooks leaves the webhook configurations out of the cluster
	// and runs managers with --enable-webhooks=false. By default the
	// configurations of config/webhook are installed, pointed at the
	// manager on loopback with a serving certificate envtest issues.
	DisableWebhooks bool
	// HollowNodes, when above 0, also starts kube-controller-manager,
	// kube-scheduler and that many kubemark hollow nodes (hollow-node-0, …),
	// and waits until the first node is Ready. They come from
	// hack/envtest-assets.sh --cluster (built once from the Go module proxy
	// when missing).
	HollowNodes int
	// PrivilegedOperator adds system:masters to the manager's user. By
	// default the manager has exactly the shipped RBAC: its user is the
	// operator's ServiceAccount (licensing.DefaultOperatorUsername, in
	// OperatorGroups), and config/rbac is applied as config/default renders
	// it (applyRBAC).
	PrivilegedOperator bool
	// Chart installs the operator with `helm install` of dist/chart
	// (certManager.enabled=false: the manager makes and rotates its webhook
	// certificate) instead of applying config/crd, config/webhook,
	// config/policy and config/rbac, and runs managers with a token of the
	// chart's ServiceAccount (installChart says what stands in for the
	// Pod). It needs the webhooks and the shipped RBAC: it cannot be
	// combined with DisableWebhooks or PrivilegedOperator.
	Chart bool
	// Kueue also runs Kueue (hack/kueue.sh builds it once from the Go
	// module proxy) beside the cluster, with its CRDs, RBAC and webhooks,
	// as its config/default installs it (kueue.go says what stands in for
	// its Pod), and waits until its webhooks answer. It implies HollowNodes
	// of at least 1: Kueue admits Jobs whose Pods must run somewhere.
	Kueue bool
}

// Cluster is a running control plane with the license-operator CRDs.
type Cluster struct {
	// RepoRoot is the repository the CRDs and samples are read from.
	RepoRoot string
	// AssetsDir holds kube-apiserver, etcd and kubectl.
	AssetsDir string
	// WorkDir holds the kubeconfig and the logs.
	WorkDir string
	// KubeconfigPath is an admin (system:masters) kubeconfig for the cluster.
	KubeconfigPath string
	// OperatorKubeconfigPath is the manager's kubeconfig: the user
	// licensing.DefaultOperatorUsername in OperatorGroups, bound to the
	// shipped config/rbac (or in system:masters with
	// Options.PrivilegedOperator).
	OperatorKubeconfigPath string
	// AuditLogPath is the API server's audit log (JSON lines): every request
	// of the operator's user at level Metadata, nobody else's (AuditPolicy).
	AuditLogPath string
	// Config is the admin REST config the kubeconfig was written from.
	Config *rest.Config

	env        *envtest.Environment
	spawn      *spawner
	components *kubecluster.Components
	ownWorkDir bool
	webhooks   bool
	chart      *chartMode // Options.Chart
	kueue      *kueueMode // Options.Kueue, under mu

	mu       sync.Mutex
	managers []*Manager
	stopped  bool
}

// Start starts etcd and kube-apiserver, installs the CRDs of
// config/crd/bases (it fails when that directory is missing) and, unless
// disabled, the webhook configurations of config/webhook, and writes an
// admin kubeconfig into the work directory. Call Stop when done, also when
// Start fails part way: it stops what was started.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	var err error
	if opts.Chart && (opts.DisableWebhooks || opts.PrivilegedOperator) {
		return nil, errors.New("Options.Chart installs the shipped webhooks and RBAC: it excludes DisableWebhooks and PrivilegedOperator")
	}
	if opts.Kueue && opts.HollowNodes < 1 {
		opts.HollowNodes = 1
	}
	c := &Cluster{RepoRoot: opts.RepoRoot, AssetsDir: opts.AssetsDir, WorkDir: opts.WorkDir, webhooks: !opts.DisableWebhooks}
	if c.RepoRoot == "" {
		if c.RepoRoot, err = FindRepoRoot(""); err != nil {
			return nil, err
		}
	}
	// Before anything starts: the first run builds Kueue (minutes).
	var kueueBin string
	if opts.Kueue {
		if kueueBin, err = toolPath(ctx, c.RepoRoot, "kueue.sh"); err != nil {
			return nil, err
		}
	}
	bins := []string{"kube-apiserver", "etcd", "kubectl"}
	var assetsArgs []string
	if opts.HollowNodes > 0 {
		bins = append(bins, "kube-controller-manager", "kube-scheduler", "kubemark")
		assetsArgs = []string{"--cluster"}
	}
	if c.AssetsDir == "" {
		if c.AssetsDir, err = Assets(ctx, c.RepoRoot, assetsArgs...); err != nil {
			return nil, err
		}
	}
	for _, bin := range bins {
		if _, err := os.Stat(filepath.Join(c.AssetsDir, bin)); err != nil {
			return nil, fmt.Errorf("%s is missing from the assets directory %s: %w", bin, c.AssetsDir, err)
		}
	}
	// A Start killed before its Stop left its work directory behind.
	if _, err := SweepLeftovers(""); err != nil {
		return nil, fmt.Errorf("sweeping the leftovers of earlier runs: %w", err)
	}
	if c.WorkDir == "" {
		if c.WorkDir, err = newWorkDir(); err != nil {
			return nil, err
		}
		c.ownWorkDir = true
	} else if err := os.MkdirAll(c.WorkDir, 0o755); err != nil {
		return nil, err
	}
	c.spawn = newSpawner()

	// etcd's data and kube-apiserver's certificates go into the work
	// directory rather than temporary directories of envtest's, so that one
	// directory holds (and one removal sweeps) everything the cluster writes.
	wrappers, err := wrapBinaries(c.WorkDir, c.AssetsDir, "etcd", "kube-apiserver")
	if err != nil {
		return c, errors.Join(err, c.Stop())
	}
	c.env = &envtest.Environment{
		BinaryAssetsDirectory: c.AssetsDir,
		ControlPlane: envtest.ControlPlane{
			Etcd: &envtest.Etcd{Path: filepath.Join(wrappers, "etcd"), DataDir: filepath.Join(c.WorkDir, "etcd")},
			APIServer: &envtest.APIServer{Path: filepath.Join(wrappers, "kube-apiserver"),
				CertDir: filepath.Join(c.WorkDir, "kube-apiserver")},
		},
	}
	if !opts.Chart { // the chart installs its own CRDs
		c.env.CRDDirectoryPaths = []string{filepath.Join(c.RepoRoot, "config", "crd", "bases")}
		c.env.ErrorIfCRDPathMissing = true
	}
	for _, dir := range []string{c.env.ControlPlane.Etcd.DataDir, c.env.ControlPlane.APIServer.CertDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return c, errors.Join(err, c.Stop())
		}
	}
	if c.webhooks && !opts.Chart {
		if c.env.WebhookInstallOptions, err = webhookInstallOptions(ctx, c.RepoRoot, c.KubectlPath()); err != nil {
			return c, errors.Join(err, c.Stop())
		}
	}
	if err := ctx.Err(); err != nil {
		return c, errors.Join(err, c.Stop())
	}
	c.AuditLogPath = filepath.Join(c.WorkDir, "audit.log")
	policyPath := filepath.Join(c.WorkDir, "audit-policy.yaml")
	if err := os.WriteFile(policyPath, []byte(AuditPolicy(licensing.DefaultOperatorUsername)), 0o600); err != nil {
		return c, errors.Join(err, c.Stop())
	}
	apiArgs := c.env.ControlPlane.GetAPIServer().Configure()
	apiArgs.Set("audit-policy-file", policyPath)
	apiArgs.Set("audit-log-path", c.AuditLogPath)
	apiArgs.Set("audit-log-format", "json")
	if opts.HollowNodes > 0 {
		// A real cluster admits Pods through the ServiceAccount plugin (envtest turns it off).
		c.env.ControlPlane.GetAPIServer().Configure().Disable("disable-admission-plugins")
	}
	if opts.Kueue {
		// Kueue's webhooks reference its Service: call the Service's
		// endpoints (Kueue beside the cluster) rather than its cluster IP,
		// which nothing routes here (no kube-proxy).
		apiArgs.Set("enable-aggregator-routing", "true")
	}
	// On the spawner's thread: envtest forks etcd and kube-apiserver.
	if err := c.spawn.do(func() error { _, err := c.env.Start(); return err }); err != nil {
		return c, errors.Join(fmt.Errorf("starting etcd and kube-apiserver: %w", err), c.Stop())
	}
	if c.webhooks && !opts.Chart {
		if err := c.moveServingCerts(); err != nil {
			return c, errors.Join(err, c.Stop())
		}
	}

	admin, err := c.env.AddUser(envtest.User{Name: AdminUser, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return c, errors.Join(fmt.Errorf("adding the admin user: %w", err), c.Stop())
	}
	c.Config = admin.Config()
	c.KubeconfigPath = filepath.Join(c.WorkDir, "kubeconfig")
	if err := writeKubeconfig(c.Config, c.KubeconfigPath); err != nil {
		return c, errors.Join(err, c.Stop())
	}
	if opts.Chart {
		if err := c.installChart(ctx); err != nil {
			return c, errors.Join(err, c.Stop())
		}
	} else if err := c.addOperator(ctx, opts.PrivilegedOperator); err != nil {
		return c, errors.Join(err, c.Stop())
	}
	if opts.HollowNodes > 0 {
		if err := c.startNodes(ctx, opts.HollowNodes); err != nil {
			return c, errors.Join(err, c.Stop())
		}
	}
	if opts.Kueue {
		if err := c.startKueue(ctx, kueueBin); err != nil {
			// Stop removes the work directory: keep the end of the log.
			return c, errors.Join(fmt.Errorf("starting Kueue: %w\nlast lines of kueue.log:\n%s",
				err, Tail(filepath.Join(c.WorkDir, "kueue.log"), 20)), c.Stop())
		}
	}
	return c, nil
}

// addOperator writes the manager's kubeconfig and applies what config/default
// would install for it: config/policy, and config/rbac unless privileged.
func (c *Cluster) addOperator(ctx context.Context, privileged bool) error {
	// The manager runs as the operator's ServiceAccount user of
	// config/default, so the cluster treats it as a deployed one: its own
	// writes skip its webhooks (not-the-operator), and the shipped policies
	// of config/policy, applied as they are, let it (and no one else) write
	// the seat ledgers and open Pods' seat gates. Its rights are those of
	// config/rbac, applied below, and nothing more.
	groups := OperatorGroups
	if privileged {
		groups = append(slices.Clone(groups), "system:masters")
	}
	operator, err := c.env.AddUser(envtest.User{Name: licensing.DefaultOperatorUsername, Groups: groups}, nil)
	if err != nil {
		return fmt.Errorf("adding the operator user: %w", err)
	}
	c.OperatorKubeconfigPath = filepath.Join(c.WorkDir, "operator.kubeconfig")
	if err := writeKubeconfig(operator.Config(), c.OperatorKubeconfigPath); err != nil {
		return err
	}
	if err := c.applyPolicies(ctx); err != nil {
		return err
	}
	if !privileged {
		return c.applyRBAC(ctx)
	}
	return nil
}

// applyPolicies applies config/policy as config/default ships it.
func (c *Cluster) applyPolicies(ctx context.Context) error {
	cl, err := client.New(c.Config, client.Options{Scheme: kubecluster.Scheme()})
	if err != nil {
		return err
	}
	if err := kubecluster.ApplyPolicies(ctx, cl, licensing.DefaultOperatorUsername); err != nil {
		return fmt.Errorf("applying config/policy: %w", err)
	}
	return nil
}

// nodeWait bounds how long Start waits for the first hollow node to be Ready.
const nodeWait = 3 * time.Minute

// startNodes starts kube-controller-manager, kube-scheduler and n hollow
// nodes, and waits until hollow-node-0 is Ready and the default namespace
// has its ServiceAccount (Pods are admitted from then on).
func (c *Cluster) startNodes(ctx context.Context, n int) error {
	caPath := filepath.Join(c.WorkDir, "ca.crt")
	if err := os.WriteFile(caPath, c.Config.CAData, 0o600); err != nil {
		return err
	}
	// The controller manager authenticates as a cluster's does, so that the
	// operator trusts its Pods to keep the user of their template.
	kcm, err := c.env.AddUser(envtest.User{Name: kubecluster.ControllerManagerUser, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding the controller manager's user: %w", err)
	}
	kcmKubeconfig := filepath.Join(c.WorkDir, "kube-controller-manager.kubeconfig")
	if err := writeKubeconfig(kcm.Config(), kcmKubeconfig); err != nil {
		return err
	}
	components, err := kubecluster.Start(kubecluster.Options{
		AssetsDir:                   c.AssetsDir,
		WorkDir:                     c.WorkDir,
		Kubeconfig:                  c.KubeconfigPath,
		ControllerManagerKubeconfig: kcmKubeconfig,
		ServiceAccountKeyFile:       filepath.Join(c.env.ControlPlane.GetAPIServer().CertDir, "sa-signer.key"),
		RootCAFile:                  caPath,
		HollowNodes:                 n,
		Start:                       c.spawn.start,
	})
	if err != nil {
		return fmt.Errorf("starting the cluster components: %w", err)
	}
	c.mu.Lock()
	c.components = components
	c.mu.Unlock()

	reader, err := client.New(c.Config, client.Options{})
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, nodeWait)
	defer cancel()
	if err := components.WaitReady(wctx, reader); err != nil {
		return fmt.Errorf("waiting for the hollow node (logs in %s): %w", c.WorkDir, err)
	}
	return nil
}

// writeKubeconfig serialises cfg (client certificate authentication, as
// envtest's users have) into a kubeconfig file whose current context points
// at the default namespace.
func writeKubeconfig(cfg *rest.Config, path string) error {
	return kubecluster.WriteKubeconfig(cfg, path, "license-operator-local", AdminUser, "default")
}

// KubectlPath is the kubectl of the assets directory: its version matches the
// API server.
func (c *Cluster) KubectlPath() string { return filepath.Join(c.AssetsDir, "kubectl") }

// Kubectl runs the assets' kubectl against the cluster as the admin user and
// returns its standard output. The error carries the standard error.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	return c.KubectlWithInput(ctx, "", args...)
}

// KubectlWithInput is Kubectl with input on kubectl's standard input (for
// `-f -`).
func (c *Cluster) KubectlWithInput(ctx context.Context, input string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.KubectlPath(), args...)
	cmd.Stdin = strings.NewReader(input)
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+c.KubeconfigPath,
		"KUBECACHEDIR="+filepath.Join(c.WorkDir, "kube-cache"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Stop stops every manager started with StartManager, then Kueue, the
// cluster components, kube-apiserver and etcd, and removes the work
// directory when Start created it. It is safe to call more than once.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	managers := c.managers
	c.managers = nil
	c.mu.Unlock()

	var errs []error
	for _, m := range managers {
		if err := m.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.stopKueue(); err != nil {
		errs = append(errs, err)
	}
	c.mu.Lock()
	components := c.components
	c.components = nil
	c.mu.Unlock()
	if components != nil {
		components.Stop()
	}
	c.stopChart()
	if c.env != nil {
		if err := c.env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping etcd and kube-apiserver: %w", err))
		}
	}
	if c.spawn != nil {
		c.spawn.close()
	}
	if c.ownWorkDir {
		if err := os.RemoveAll(c.WorkDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FindRepoRoot walks up from dir (the working directory when empty) to the
// directory whose go.mod declares this module.
func FindRepoRoot(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && declaresModule(data) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of %s in %s or above", Module, dir)
		}
	}
}

func declaresModule(gomod []byte) bool {
	for line := range strings.SplitSeq(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && f[1] == Module {
			return true
		}
	}
	return false
}

// Assets runs hack/envtest-assets.sh with args (--cluster for the cluster
// components) and returns the directory it prints:
// KUBEBUILDER_ASSETS, the setup-envtest cache, a download, or a build from
// the Go module proxy (see the script).
func Assets(ctx context.Context, repoRoot string, args ...string) (string, error) {
	return toolPath(ctx, repoRoot, "envtest-assets.sh", args...)
}

// moveServingCerts moves the webhook serving certificate, which envtest
// writes into a temporary directory of its own, into the work directory.
func (c *Cluster) moveServingCerts() error {
	wh := &c.env.WebhookInstallOptions
	dir := filepath.Join(c.WorkDir, "webhook-certs")
	if err := os.CopyFS(dir, os.DirFS(wh.LocalServingCertDir)); err != nil {
		return fmt.Errorf("copying the webhook serving certificate: %w", err)
	}
	if err := os.RemoveAll(wh.LocalServingCertDir); err != nil {
		return err
	}
	wh.LocalServingCertDir = dir
	return nil
}

// AddUser adds a user authenticated by a client certificate, in groups,
// and returns its REST config.
func (c *Cluster) AddUser(name string, groups ...string) (*rest.Config, error) {
	u, err := c.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}

// Logs maps each cluster component (kube-controller-manager,
// kube-scheduler, hollow-node-0, …), each manager writing to its own log
// file (manager, manager-1, …) and Kueue (kueue) to its log file.
func (c *Cluster) Logs() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	logs := map[string]string{}
	if c.components != nil {
		maps.Copy(logs, c.components.Logs)
	}
	for i, m := range c.managers {
		if m.LogPath == "" {
			continue
		}
		name := "manager"
		if i > 0 {
			name = fmt.Sprintf("manager-%d", i)
		}
		logs[name] = m.LogPath
	}
	if c.kueue != nil && c.kueue.manager != nil {
		logs["kueue"] = c.kueue.manager.LogPath
	}
	return logs
}

// Tail returns the last n lines of the file at path (or why it cannot).
func Tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
