package kubecluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Options say how to start the cluster components on a running control plane.
type Options struct {
	// AssetsDir holds kube-controller-manager, kube-scheduler and kubemark
	// (utiltesting.ClusterAssets()).
	AssetsDir string
	// WorkDir receives logs and kubelet state.
	WorkDir string
	// Kubeconfig is an admin (system:masters) kubeconfig file of the control plane.
	Kubeconfig string
	// ControllerManagerKubeconfig is the kubeconfig kube-controller-manager
	// runs with; empty means Kubeconfig. Give it a user named
	// ControllerManagerUser, as a cluster's controller manager is, so that
	// its requests arrive as a trusted workload controller (the Pods it
	// creates keep the user of their template).
	ControllerManagerKubeconfig string
	// ServiceAccountKeyFile is the private key the API server signs service
	// account tokens with (its --service-account-signing-key-file).
	ServiceAccountKeyFile string
	// RootCAFile is the CA of the API server's serving certificate, published
	// to every namespace as kube-root-ca.crt.
	RootCAFile string
	// HollowNodes is how many kubemark hollow kubelets to start.
	HollowNodes int
	// Start starts each component's command. Default: in a process group
	// of its own (Setpgid), with cmd.Start. localcluster passes one that
	// also kills the components when their parent dies.
	Start func(*exec.Cmd) error
}

// ControllerManagerUser is the username a cluster's kube-controller-manager
// authenticates with (its kubeconfig's client certificate), one of
// licensing.DefaultTrustedWorkloadControllers. With
// --use-service-account-credentials=false it acts for every controller under
// it, so it needs the system:masters group here.
const ControllerManagerUser = "system:kube-controller-manager"

// Components are the processes started by Start.
type Components struct {
	procs    []*exec.Cmd
	logs     []*os.File
	startCmd func(*exec.Cmd) error
	// Logs maps a component name to its log file.
	Logs map[string]string
}

// Start runs kube-controller-manager (every controller, service account
// tokens and garbage collection included), kube-scheduler and the hollow
// nodes hollow-node-0 … as child processes in process groups of their own.
func Start(o Options) (*Components, error) {
	c := &Components{Logs: map[string]string{}, startCmd: o.Start}
	if c.startCmd == nil {
		c.startCmd = func(cmd *exec.Cmd) error {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			return cmd.Start()
		}
	}
	kcmConfig := o.ControllerManagerKubeconfig
	if kcmConfig == "" {
		kcmConfig = o.Kubeconfig
	}
	kcmPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	schedPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	if err := c.start("kube-controller-manager", filepath.Join(o.AssetsDir, "kube-controller-manager"), o.WorkDir,
		"--kubeconfig="+kcmConfig,
		"--authentication-kubeconfig="+kcmConfig,
		"--authorization-kubeconfig="+kcmConfig,
		"--controllers=*",
		"--service-account-private-key-file="+o.ServiceAccountKeyFile,
		"--root-ca-file="+o.RootCAFile,
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(kcmPort),
		"--allocate-node-cidrs=false",
		"--concurrent-gc-syncs=5",
		"--v=1",
	); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.start("kube-scheduler", filepath.Join(o.AssetsDir, "kube-scheduler"), o.WorkDir,
		"--kubeconfig="+o.Kubeconfig,
		"--authentication-kubeconfig="+o.Kubeconfig,
		"--authorization-kubeconfig="+o.Kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(schedPort),
		"--v=1",
	); err != nil {
		c.Stop()
		return nil, err
	}
	for i := range o.HollowNodes {
		name := fmt.Sprintf("hollow-node-%d", i)
		kp, err := FreePort()
		if err != nil {
			c.Stop()
			return nil, err
		}
		if err := c.start(name, filepath.Join(o.AssetsDir, "kubemark"), o.WorkDir,
			"--morph=kubelet",
			"--name="+name,
			"--kubeconfig="+o.Kubeconfig,
			"--use-host-image-service=false",
			"--kubelet-port="+strconv.Itoa(kp),
			"--kubelet-read-only-port=0",
			"--node-labels=kubernetes.io/hostname="+name,
			"--max-pods=110",
			"--v=1",
		); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

func (c *Components) start(name, bin, dir string, args ...string) error {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	if err := c.startCmd(cmd); err != nil {
		_ = f.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	c.procs = append(c.procs, cmd)
	c.logs = append(c.logs, f)
	c.Logs[name] = logPath
	return nil
}

// Running returns an error naming the first component that has exited.
func (c *Components) Running() error {
	for _, p := range c.procs {
		if p.ProcessState != nil {
			return fmt.Errorf("%s exited: %s", filepath.Base(p.Path), p.ProcessState)
		}
		if err := p.Process.Signal(syscall.Signal(0)); err != nil {
			return fmt.Errorf("%s is gone: %w", filepath.Base(p.Path), err)
		}
	}
	return nil
}

// Stop ends every component (SIGTERM to its process group, SIGKILL after 10 s) and waits.
func (c *Components) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		// It exits on a signal: how it exited is expected and of no interest.
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	for _, f := range c.logs {
		_ = f.Close()
	}
	c.procs, c.logs = nil, nil
}

// WaitReady waits until every component runs, the node hollow-node-0 is
// Ready and the default namespace has its ServiceAccount: from then on Pods
// are admitted and scheduled.
func (c *Components) WaitReady(ctx context.Context, r client.Reader) error {
	return WaitFor(ctx, func() error {
		if err := c.Running(); err != nil {
			return err
		}
		node := &corev1.Node{}
		if err := r.Get(ctx, types.NamespacedName{Name: "hollow-node-0"}, node); err != nil {
			return err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return r.Get(ctx, types.NamespacedName{Namespace: "default", Name: "default"}, &corev1.ServiceAccount{})
			}
		}
		return fmt.Errorf("node hollow-node-0 is not Ready: %v", node.Status.Conditions)
	})
}

// WaitFor polls cond every 200 ms until it returns nil or ctx ends.
func WaitFor(ctx context.Context, cond func() error) error {
	var last error
	for {
		if last = cond(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
