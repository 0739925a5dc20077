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

// Command run-local (`make run-local`) runs license-operator on a cluster
// of its own, on a machine with nothing but Go: it starts etcd and
// kube-apiserver on loopback with the CRDs and webhook configurations
// installed and, unless --nodes=0, kube-controller-manager, kube-scheduler
// and a kubemark hollow node (Pods are scheduled and reported Running
// without containers). It builds and starts the manager, applies
// config/samples, shows a licensed Deployment running only as many Pods as
// it holds seats, prints what the cluster holds and how to reach it with
// kubectl, and then waits. SIGINT or SIGTERM stop the manager and the
// cluster; it then exits 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
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
	nodes := flag.Int("nodes", 1, "kubemark hollow nodes to start, with kube-controller-manager and kube-scheduler; "+
		"0 runs only etcd and kube-apiserver (Pods are admitted or denied, never run)")
	flag.Parse()
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

	if *nodes > 0 {
		fmt.Fprintf(os.Stderr, "Starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and %d hollow node(s).\n", *nodes)
	}
	cluster, err := localcluster.Start(ctx, localcluster.Options{RepoRoot: root, HollowNodes: *nodes})
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
	if *nodes > 0 {
		showDeployment(ctx, cluster)
	}
	printUsage(cluster, mgr, *nodes, time.Since(started))

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

// demo is a product of Concurrent seats under Hard enforcement, a licence of
// 5 seats, an assignment of 2 of them to the ServiceAccount "renderer", and a
// Deployment of 3 replicas running as it.
const demo = `apiVersion: v1
kind: Namespace
metadata:
  name: license-demo
---
apiVersion: licensing.license-operator.dev/v1alpha1
kind: LicenseProduct
metadata:
  name: demo-renderer
spec:
  displayName: Demo Renderer
  vendor: Example Corp
  policies:
  - code: concurrent
    type: Subscription
    seatModel: Concurrent
    enforcement: Hard
    validDuration: 1y
  defaultPolicy: concurrent
---
apiVersion: licensing.license-operator.dev/v1alpha1
kind: SoftwareLicense
metadata:
  name: renderer
  namespace: license-demo
spec:
  productRef:
    name: demo-renderer
  seats: 5
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: renderer
  namespace: license-demo
---
apiVersion: licensing.license-operator.dev/v1alpha1
kind: LicenseAssignment
metadata:
  name: renderer
  namespace: license-demo
spec:
  licenseRef:
    name: renderer
  seats: 2
  assignee:
    serviceAccount:
      name: renderer
`

const demoDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: renderer
  namespace: license-demo
spec:
  replicas: 3
  selector:
    matchLabels:
      app: renderer
  template:
    metadata:
      labels:
        app: renderer
      annotations:
        licensing.license-operator.dev/product: demo-renderer
    spec:
      serviceAccountName: renderer
      containers:
      - name: render
        image: registry.example.com/demo/renderer:1.0
`

// demoWait bounds how long showDeployment waits for the demo to settle.
const demoWait = 90 * time.Second

// showDeployment shows admission with real controllers: a Deployment of 3
// replicas whose ServiceAccount holds 2 Concurrent seats runs 2 Pods, and its
// ReplicaSet reports the refusal of the third.
func showDeployment(ctx context.Context, cluster *localcluster.Cluster) {
	if _, err := cluster.KubectlWithInput(ctx, demo, "apply", "-f", "-"); err != nil {
		fmt.Fprintf(os.Stderr, "Applying the demo failed:\n%v\n", err)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, demoWait)
	defer cancel()
	// The Deployment is admitted once the assignment is bound.
	bound := func() bool {
		out, err := cluster.Kubectl(wctx, "get", "licenseassignment", "renderer", "-n", "license-demo", "-o", "jsonpath={.status.state}")
		return err == nil && out == "Bound"
	}
	for !bound() {
		if !sleep(wctx, 500*time.Millisecond) {
			fmt.Fprintln(os.Stderr, "The demo assignment was not bound in time; see the manager log.")
			return
		}
	}
	fmt.Println("\nA Deployment of 3 replicas whose ServiceAccount holds 2 Concurrent seats of demo-renderer:")
	fmt.Println("  kubectl apply -f renderer-deployment.yaml")
	out, err := cluster.KubectlWithInput(wctx, demoDeployment, "apply", "-f", "-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "Applying the demo Deployment failed:\n%v\n", err)
		return
	}
	fmt.Print(indent(out))
	var refusal string
	for {
		running, _ := cluster.Kubectl(wctx, "get", "pods", "-n", "license-demo", "-l", "app=renderer",
			"--field-selector=status.phase=Running", "-o", "name")
		events, _ := cluster.Kubectl(wctx, "get", "events", "-n", "license-demo",
			"--field-selector=reason=FailedCreate,involvedObject.kind=ReplicaSet", "-o", "jsonpath={.items[*].message}")
		if strings.Count(running, "pod/") == 2 && events != "" {
			refusal = events
			break
		}
		if !sleep(wctx, time.Second) {
			break
		}
	}
	if out, err := cluster.Kubectl(ctx, "get", "deployments,pods", "-n", "license-demo", "-o", "wide"); err == nil {
		fmt.Print(indent(out))
	}
	if refusal != "" {
		msg := refusal
		if i := strings.Index(msg, "admission webhook"); i >= 0 {
			msg = msg[i:]
		}
		if i := strings.Index(msg, " Error creating: "); i >= 0 {
			msg = msg[:i]
		}
		fmt.Printf("The ReplicaSet's third Pod is refused:\n  %s\n", msg)
	} else {
		fmt.Fprintln(os.Stderr, "The demo did not settle in time; see `kubectl get events -n license-demo`.")
	}
}

// sleep waits d, or less when ctx ends; it says whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return "  " + strings.Join(lines, "\n  ") + "\n"
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

func printUsage(cluster *localcluster.Cluster, mgr *localcluster.Manager, nodes int, took time.Duration) {
	where := "There is no scheduler and no node (--nodes=0): Pods are admitted or denied, never run."
	if nodes > 0 {
		where = fmt.Sprintf("kube-controller-manager, kube-scheduler and %d kubemark hollow node(s) run beside it:\n"+
			"Deployments, ReplicaSets and Jobs work, and Pods are scheduled and Running, without containers.", nodes)
	}
	fmt.Printf(`
license-operator runs on a local control plane (etcd and kube-apiserver on 127.0.0.1),
serving its admission webhooks, with config/samples applied; ready in %s.
%s

Use it from another terminal with the kubectl that matches the API server:

  export KUBECONFIG=%s
  export PATH=%s:$PATH
  kubectl get licensing -A
  kubectl get softwarelicenses -o yaml

Manager log: %s
Press Ctrl-C to stop the manager and the control plane.
`, took.Round(time.Second), where, cluster.KubeconfigPath, cluster.AssetsDir, mgr.LogPath)
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
