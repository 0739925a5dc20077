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
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// DefaultReadyTimeout bounds how long StartManager waits for /readyz.
	DefaultReadyTimeout = 2 * time.Minute
	// DefaultStopTimeout is how long Stop waits after SIGTERM before it
	// kills the manager's process group.
	DefaultStopTimeout = 30 * time.Second
)

// BuildManager builds ./cmd of repoRoot into out (`go build -o out ./cmd`).
func BuildManager(ctx context.Context, repoRoot, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd")
	cmd.Dir = repoRoot
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build -o %s ./cmd: %w: %s", out, err, strings.TrimSpace(output.String()))
	}
	return nil
}

// ManagerOptions configure StartManager.
type ManagerOptions struct {
	// Binary is the manager binary. Default: bin/manager of the repository
	// (build it first with BuildManager).
	Binary string
	// Args are appended to the arguments StartManager passes (a flag given
	// twice takes its last value).
	Args []string
	// Output receives the standard output and error of the manager.
	// Default: the file manager.log in the work directory.
	Output io.Writer
	// ReadyTimeout bounds the wait for /readyz. Default: DefaultReadyTimeout.
	ReadyTimeout time.Duration
}

// Manager is a controller-runtime manager process running against a
// Cluster: the operator's (StartManager) or Kueue's (Options.Kueue).
type Manager struct {
	// ProbeAddr is the host:port of /healthz and /readyz (plain HTTP).
	ProbeAddr string
	// MetricsAddr is the host:port of /metrics (HTTPS with a self-signed
	// certificate; callers authenticate with a bearer token).
	MetricsAddr string
	// LogPath is the file the manager writes to, when Output was not given.
	LogPath string

	// name is what errors call the process: "the manager", "kueue".
	name    string
	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// StartManager runs the manager binary as a child process in a process group
// of its own, as the operator's user (OperatorKubeconfigPath), serving the webhooks
// the cluster calls (unless Options.DisableWebhooks), with leader election
// off (on, as the chart deploys it, with Options.Chart) and the probe and metrics endpoints on free loopback ports; it returns
// once /readyz answers 200, which includes the webhook server. Cluster.Stop
// stops it too.
func (c *Cluster) StartManager(ctx context.Context, opts ManagerOptions) (*Manager, error) {
	if opts.Binary == "" {
		opts.Binary = filepath.Join(c.RepoRoot, "bin", "manager")
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &Manager{
		ProbeAddr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(probePort)),
		MetricsAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(metricsPort)),
		name:        "the manager",
		done:        make(chan struct{}),
	}
	args := []string{
		"--kubeconfig=" + c.OperatorKubeconfigPath,
		"--health-probe-bind-address=" + m.ProbeAddr,
		"--metrics-bind-address=" + m.MetricsAddr,
		"--leader-elect=false",
	}
	if c.chart != nil {
		args = append(args, c.chartManagerArgs()...)
	} else if c.webhooks {
		// The configurations envtest installed call 127.0.0.1:<port> and
		// trust the certificate it wrote into LocalServingCertDir.
		wh := c.env.WebhookInstallOptions
		args = append(args,
			"--enable-webhooks=true",
			"--webhook-port="+strconv.Itoa(wh.LocalServingPort),
			"--webhook-cert-path="+wh.LocalServingCertDir)
		// The configurations carry config/default's names (the manager's
		// defaults): the matchConditions syncer edits these.
		for _, v := range wh.ValidatingWebhooks {
			args = append(args, "--validating-webhook-configuration="+v.Name)
		}
		for _, m := range wh.MutatingWebhooks {
			args = append(args, "--mutating-webhook-configuration="+m.Name)
		}
	} else {
		args = append(args, "--enable-webhooks=false")
	}
	args = append(args, opts.Args...)

	if err := c.launch(m, opts.Binary, args, opts.Output, "manager.log", func() { c.managers = append(c.managers, m) }); err != nil {
		return nil, err
	}
	if err := m.waitReady(ctx, opts.ReadyTimeout); err != nil {
		return m, errors.Join(err, m.Stop())
	}
	return m, nil
}

// launch starts m: bin with args, as a child process of the spawner in a
// process group of its own, in the work directory, without KUBECONFIG (its
// kubeconfig is in args), writing to out or, when out is nil, to the file
// logName of the work directory (m.LogPath). register records m under c.mu,
// so that Stop stops it; launch fails instead when the cluster is stopped.
func (c *Cluster) launch(m *Manager, bin string, args []string, out io.Writer, logName string, register func()) error {
	if out == nil {
		m.LogPath = filepath.Join(c.WorkDir, logName)
		var err error
		if m.logFile, err = os.Create(m.LogPath); err != nil {
			return err
		}
		out = m.logFile
	}

	// Not exec.CommandContext: cancelling a context must not SIGKILL the
	// process behind Stop's back; a context only bounds the wait for
	// readiness.
	m.cmd = exec.Command(bin, args...)
	m.cmd.Dir = c.WorkDir
	m.cmd.Env = withoutEnv(os.Environ(), "KUBECONFIG")
	m.cmd.Stdout, m.cmd.Stderr = out, out

	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		m.closeLog()
		return errors.New("the cluster is stopped")
	}
	if err := c.spawn.start(m.cmd); err != nil {
		c.mu.Unlock()
		m.closeLog()
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	register()
	c.mu.Unlock()

	go func() {
		m.waitErr = m.cmd.Wait()
		close(m.done)
	}()
	return nil
}

// StartWithManager starts a cluster (Start) and a manager on it
// (StartManager), the way `make run-local` and the e2e suites do. When
// build is true it builds ./cmd into mopts.Binary while the control plane
// starts or, when mopts.Binary is empty, into the work directory once it
// exists. On failure it stops what it started and returns no cluster.
func StartWithManager(ctx context.Context, opts Options, mopts ManagerOptions, build bool) (*Cluster, *Manager, error) {
	if opts.RepoRoot == "" {
		root, err := FindRepoRoot("")
		if err != nil {
			return nil, nil, err
		}
		opts.RepoRoot = root
	}
	built := make(chan error, 1)
	switch {
	case !build || mopts.Binary == "":
		built <- nil
	default:
		go func() { built <- BuildManager(ctx, opts.RepoRoot, mopts.Binary) }()
	}
	c, err := Start(ctx, opts)
	if err != nil {
		// Start stops whatever it started when it fails.
		return nil, nil, errors.Join(err, <-built)
	}
	if err := <-built; err != nil {
		return nil, nil, errors.Join(err, c.Stop())
	}
	if build && mopts.Binary == "" {
		mopts.Binary = filepath.Join(c.WorkDir, "manager")
		if err := BuildManager(ctx, opts.RepoRoot, mopts.Binary); err != nil {
			return nil, nil, errors.Join(err, c.Stop())
		}
	}
	m, err := c.StartManager(ctx, mopts)
	if err != nil {
		return nil, nil, errors.Join(err, c.Stop())
	}
	return c, m, nil
}

// PID is the process id of the manager, also the id of its process group.
func (m *Manager) PID() int { return m.cmd.Process.Pid }

// Exited is closed when the manager process has exited.
func (m *Manager) Exited() <-chan struct{} { return m.done }

// ExitErr is how the manager exited (nil for status 0); valid once Exited is
// closed.
func (m *Manager) ExitErr() error {
	<-m.done
	return m.waitErr
}

// MetricsURL is the HTTPS URL of the metrics endpoint.
func (m *Manager) MetricsURL() string { return "https://" + m.MetricsAddr + "/metrics" }

// ProbeURL is the plain HTTP URL of a probe endpoint, e.g. ProbeURL("readyz").
func (m *Manager) ProbeURL(path string) string { return "http://" + m.ProbeAddr + "/" + path }

// Stop sends SIGTERM to the manager's process group, waits for the manager
// to exit (SIGKILL to the group after DefaultStopTimeout), and kills whatever
// is left in the group. It returns an error when the manager did not exit
// cleanly on SIGTERM. It is safe to call more than once: later calls return
// the result of the first.
func (m *Manager) Stop() error {
	m.stopOnce.Do(func() { m.stopErr = m.stop() })
	return m.stopErr
}

func (m *Manager) stop() error {
	pgid := m.cmd.Process.Pid
	var errs []error
	select {
	case <-m.done:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(DefaultStopTimeout):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-m.done
			errs = append(errs, fmt.Errorf("%s did not exit within %s of SIGTERM and was killed", m.name, DefaultStopTimeout))
		}
	}
	// Anything the manager started is in its group: leave nothing behind.
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		errs = append(errs, fmt.Errorf("killing process group %d: %w", pgid, err))
	}
	if m.waitErr != nil {
		errs = append(errs, fmt.Errorf("%s exited: %w", m.name, m.waitErr))
	}
	m.closeLog()
	return errors.Join(errs...)
}

func (m *Manager) closeLog() {
	if m.logFile != nil {
		_ = m.logFile.Close()
	}
}

// waitReady polls /readyz until it answers 200, the manager exits, ctx ends
// or timeout passes.
func (m *Manager) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.ProbeURL("readyz"), nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		select {
		case <-m.done:
			return fmt.Errorf("%s exited before it was ready: %v%s", m.name, m.waitErr, m.logHint())
		case <-ctx.Done():
			return fmt.Errorf("%s was not ready (last answer of /readyz: %s): %w%s", m.name, last, ctx.Err(), m.logHint())
		case <-tick.C:
		}
	}
}

func (m *Manager) logHint() string {
	if m.LogPath == "" {
		return ""
	}
	return "; see " + m.LogPath
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) { return freePortOn("127.0.0.1") }

// freePortOn returns a TCP port on the address host that was free a moment
// ago.
func freePortOn(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
