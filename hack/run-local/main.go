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

// Command run-local (`make run-local`) runs license-operator on a control
// plane of its own, on a machine with nothing but Go: it starts etcd and
// kube-apiserver on loopback with the CRDs and webhook configurations
// installed, builds and starts the manager, applies config/samples, prints what the cluster holds and how to
// reach it with kubectl, and then waits. SIGINT or SIGTERM stop the manager
// and the control plane; it then exits 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/license-operator/license-operator/test/localcluster"
)

func main() {
	os.Exit(run())
}

func run() int {
	started := time.Now()
	// Signals are caught from the start: a Ctrl-C while etcd is starting
	// must still stop etcd.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	// envtest logs through controller-runtime; the manager's own log goes to
	// a file, and this terminal only shows what is printed below.
	ctrllog.SetLogger(logr.Discard())

	root, err := localcluster.FindRepoRoot("")
	if err != nil {
		return fail(err)
	}

	// Build the manager while the control plane starts.
	binary := filepath.Join(root, "bin", "manager")
	built := make(chan error, 1)
	go func() { built <- localcluster.BuildManager(ctx, root, binary) }()

	cluster, err := localcluster.Start(ctx, localcluster.Options{RepoRoot: root})
	if err != nil {
		// Start stops whatever it started when it fails.
		return failed(ctx, errors.Join(err, <-built))
	}
	stop := func() error {
		fmt.Fprintln(os.Stderr, "Stopping the manager and the control plane.")
		return cluster.Stop()
	}
	if err := <-built; err != nil {
		return failed(ctx, errors.Join(err, stop()))
	}
	mgr, err := cluster.StartManager(ctx, localcluster.ManagerOptions{Binary: binary})
	if err != nil {
		return failed(ctx, errors.Join(err, stop()))
	}
	if ctx.Err() != nil {
		return stopped(stop())
	}

	applySamples(ctx, cluster)
	waitForStatus(ctx, cluster, statusWait)
	if ctx.Err() != nil {
		return stopped(stop())
	}
	if out, err := cluster.Kubectl(ctx, "get", "licensing", "-A", "-o", "wide"); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		fmt.Print(out)
	}
	showRefusal(ctx, cluster)
	printUsage(cluster, mgr, time.Since(started))

	select {
	case <-ctx.Done():
		return stopped(stop())
	case <-mgr.Exited():
		return fail(errors.Join(fmt.Errorf("the manager exited: %v; see %s", mgr.ExitErr(), mgr.LogPath), stop()))
	}
}

// showRefusal shows admission at work: a Pod that needs a seat of acme-cad,
// for no user that holds one, is refused (a server-side dry
// run: nothing is created and no seat is taken).
func showRefusal(ctx context.Context, cluster *localcluster.Cluster) {
	const pod = `apiVersion: v1
kind: Pod
metadata:
  name: needs-a-seat
  namespace: default
  annotations:
    licensing.license-operator.dev/product: acme-cad
spec:
  containers:
  - name: main
    image: busybox:1.36
`
	path := filepath.Join(cluster.WorkDir, "needs-a-seat.yaml")
	if err := os.WriteFile(path, []byte(pod), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println("\nA Pod that needs an acme-cad seat, for no user that holds one:")
	fmt.Println("  kubectl create --dry-run=server -f " + path)
	if _, err := cluster.Kubectl(ctx, "create", "--dry-run=server", "-f", path); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, "admission webhook"); i >= 0 {
			msg = msg[i:]
		}
		fmt.Printf("is refused:\n  %s\n", msg)
	} else {
		fmt.Println("was admitted: the admission webhook is not enforcing (see the manager log).")
	}
}

// applySamples applies config/samples: through its kustomization when it has
// one, every file otherwise. A sample the API server rejects is reported and
// the cluster keeps running, so that it can be looked into.
func applySamples(ctx context.Context, cluster *localcluster.Cluster) {
	dir := filepath.Join(cluster.RepoRoot, "config", "samples")
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintln(os.Stderr, "No config/samples to apply.")
		return
	}
	args := []string{"apply", "-f", dir}
	if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err == nil {
		args = []string{"apply", "-k", dir}
	}
	if _, err := cluster.Kubectl(ctx, args...); err != nil {
		fmt.Fprintf(os.Stderr, "Applying config/samples failed:\n%v\n", err)
	}
}

// statusWait bounds how long run-local waits for the controllers to write
// the first status of the samples before it prints them.
const statusWait = 30 * time.Second

// object is the part of a licensing object waitForStatus looks at.
type object struct {
	Status map[string]any `json:"status"`
}

func (o object) withoutStatus() bool { return len(o.Status) == 0 }

// waitForStatus waits until every licensing object has a status (the
// controllers have seen it), or timeout passes: the table printed next then
// shows what the operator computed rather than empty columns.
func waitForStatus(ctx context.Context, cluster *localcluster.Cluster, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		out, err := cluster.Kubectl(ctx, "get", "licensing", "-A", "-o", "json")
		if err == nil {
			var list struct {
				Items []object `json:"items"`
			}
			if json.Unmarshal([]byte(out), &list) == nil && !slices.ContainsFunc(list.Items, object.withoutStatus) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func printUsage(cluster *localcluster.Cluster, mgr *localcluster.Manager, took time.Duration) {
	fmt.Printf(`
license-operator runs on a local control plane (etcd and kube-apiserver on 127.0.0.1),
serving its admission webhooks, with config/samples applied; ready in %s.
There is no scheduler and no node: Pods are admitted or denied, never run.

Use it from another terminal with the kubectl that matches the API server:

  export KUBECONFIG=%s
  export PATH=%s:$PATH
  kubectl get licensing -A
  kubectl get softwarelicenses -o yaml

Manager log: %s
Press Ctrl-C to stop the manager and the control plane.
`, took.Round(time.Second), cluster.KubeconfigPath, cluster.AssetsDir, mgr.LogPath)
}

// failed reports err, unless a signal asked to stop (the error is then the
// interruption of what was starting): that is a clean stop.
func failed(ctx context.Context, err error) int {
	if ctx.Err() != nil {
		return 0
	}
	return fail(err)
}

func stopped(err error) int {
	if err != nil {
		return fail(err)
	}
	return 0
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "run-local: %v\n", err)
	return 1
}
