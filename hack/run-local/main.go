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
// config/samples, shows a Pod without a seat refused and a licensed Pod
// waiting in line for a seat and starting when one frees, prints what the
// cluster holds and how to reach it with kubectl, and then waits.
//
// SIGINT (Ctrl-C), SIGTERM, SIGHUP (the terminal closed) and SIGPIPE (the
// reader of its output, such as `| tee log`, is gone) stop the manager and
// the cluster; it then exits 0. When make or the shell that started it
// dies, it receives SIGTERM (a parent-death signal, on Linux) and stops the
// same way. Killed with SIGKILL it can run no cleanup: every process it
// started dies with it (Pdeathsig, see test/localcluster/procs_linux.go),
// and the next run-local removes the work directory it left in /tmp
// (localcluster.SweepLeftovers).
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
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/license-operator/license-operator/test/localcluster"
)

func main() {
	// The parent-death signal belongs to the thread that asks for it: keep
	// main on this thread for good, so that the thread outlives the request.
	runtime.LockOSThread()
	if err := localcluster.DieWithParent(syscall.SIGTERM); err != nil {
		fmt.Fprintf(os.Stderr, "run-local: %v\n", err)
	}
	os.Exit(run())
}

// stopSignals stop run-local. SIGPIPE is among them because a process that
// does not catch it dies on its first write to a closed pipe, before any
// cleanup; caught, the write fails with EPIPE instead, and run-local stops
// its cluster.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE}

func run() int {
	nodes := flag.Int("nodes", 1, "kubemark hollow nodes to start, with kube-controller-manager and kube-scheduler; "+
		"0 runs only etcd and kube-apiserver (Pods are admitted or denied, never run)")
	flag.Parse()
	started := time.Now()
	// Signals are caught from the start: a Ctrl-C while etcd is starting
	// must still stop etcd.
	ctx, cancel := signal.NotifyContext(context.Background(), stopSignals...)
	defer cancel()
	// envtest logs through controller-runtime; the manager's own log goes to
	// a file, and this terminal only shows what is printed below.
	ctrllog.SetLogger(logr.Discard())

	root, err := localcluster.FindRepoRoot("")
	if err != nil {
		return fail(err)
	}

	if *nodes > 0 {
		fmt.Fprintf(os.Stderr, "Starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and %d hollow node(s).\n", *nodes)
	}
	// The manager is built into bin/manager while the control plane starts.
	cluster, mgr, err := localcluster.StartWithManager(ctx,
		localcluster.Options{RepoRoot: root, HollowNodes: *nodes},
		localcluster.ManagerOptions{Binary: filepath.Join(root, "bin", "manager")}, true)
	if err != nil {
		// StartWithManager stops whatever it started when it fails.
		return failed(ctx, err)
	}
	stop := func() error {
		fmt.Fprintln(os.Stderr, "Stopping the manager and the control plane.")
		return cluster.Stop()
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
		showQueue(ctx, cluster)
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
// for no user that holds one, is refused: no assignment covers it, so there
// is no line it could wait in (a server-side dry run: nothing is created and
// no seat is taken).
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
	fmt.Println("\nA Pod that needs an acme-cad seat, for no user that holds one (no assignment covers it, so it has no line to wait in):")
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
// 5 seats, and an assignment of 3 of them to the ServiceAccount "renderer".
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
  seats: 3
  assignee:
    serviceAccount:
      name: renderer
`

// demoDeployment is a Deployment of replicas Pods of demo-renderer running
// as the ServiceAccount renderer.
func demoDeployment(name string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: license-demo
spec:
  replicas: %[2]d
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
      annotations:
        licensing.license-operator.dev/product: demo-renderer
    spec:
      serviceAccountName: renderer
      containers:
      - name: render
        image: registry.example.com/demo/renderer:1.0
`, name, replicas)
}

// demoWait bounds how long each step of showQueue waits for the cluster to settle.
const demoWait = 90 * time.Second

// demoPod is the part of a Pod showQueue looks at.
type demoPod struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		SchedulingGates []schedulingGate `json:"schedulingGates"`
	} `json:"spec"`
	Status struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

type schedulingGate struct {
	Name string `json:"name"`
}

// seatGate is the scheduling gate of a Pod waiting in line for a seat.
const seatGate = "licensing.license-operator.dev/seat"

// gated says whether the Pod waits in line for a seat.
func (p demoPod) gated() bool {
	return slices.Contains(p.Spec.SchedulingGates, schedulingGate{Name: seatGate})
}

// showQueue shows the line with real controllers: the ServiceAccount
// renderer holds 3 Concurrent seats; a Deployment "thumbnailer" of 1 replica
// takes one, a Deployment "renderer" of 3 replicas the other two, and its
// third Pod waits in line (SchedulingGated, told its position by an event).
// Scaling thumbnailer down frees a seat, and the waiting Pod takes it and
// starts.
func showQueue(ctx context.Context, cluster *localcluster.Cluster) {
	if _, err := cluster.KubectlWithInput(ctx, demo, "apply", "-f", "-"); err != nil {
		fmt.Fprintf(os.Stderr, "Applying the demo failed:\n%v\n", err)
		return
	}
	// The Pods are admitted once the assignment is bound.
	if !until(ctx, "The demo assignment was not bound", func(ctx context.Context) bool {
		out, err := cluster.Kubectl(ctx, "get", "licenseassignment", "renderer", "-n", "license-demo", "-o", "jsonpath={.status.state}")
		return err == nil && out == "Bound"
	}) {
		return
	}
	pods := func(ctx context.Context, app string) []demoPod {
		out, err := cluster.Kubectl(ctx, "get", "pods", "-n", "license-demo", "-l", "app="+app, "-o", "json")
		var list struct {
			Items []demoPod `json:"items"`
		}
		if err != nil || json.Unmarshal([]byte(out), &list) != nil {
			return nil
		}
		return list.Items
	}
	event := func(ctx context.Context, pod, reason string) string {
		out, _ := cluster.Kubectl(ctx, "get", "events", "-n", "license-demo",
			"--field-selector=involvedObject.name="+pod+",reason="+reason, "-o", "jsonpath={.items[-1:].message}")
		return out
	}
	table := func() {
		if out, err := cluster.Kubectl(ctx, "get", "deployments,pods", "-n", "license-demo", "-o", "wide"); err == nil {
			fmt.Print(indent(out))
		}
	}

	fmt.Println("\nThe ServiceAccount renderer holds 3 Concurrent seats of demo-renderer (Hard enforcement).")
	fmt.Println("A Deployment of 1 replica running as it takes one seat:")
	fmt.Println("  kubectl apply -f thumbnailer-deployment.yaml")
	if !apply(ctx, cluster, demoDeployment("thumbnailer", 1)) ||
		!until(ctx, "The thumbnailer Pod did not run", func(ctx context.Context) bool {
			p := pods(ctx, "thumbnailer")
			return len(p) == 1 && p[0].Status.Phase == phaseRunning
		}) {
		return
	}
	fmt.Println("A Deployment of 3 replicas running as it gets the other two; its third Pod waits in line:")
	fmt.Println("  kubectl apply -f renderer-deployment.yaml")
	if !apply(ctx, cluster, demoDeployment("renderer", 3)) {
		return
	}
	var waiting, told string
	if !until(ctx, "The renderer Pods did not settle", func(ctx context.Context) bool {
		running, gated := 0, []string{}
		for _, p := range pods(ctx, "renderer") {
			switch {
			case p.gated():
				gated = append(gated, p.Metadata.Name)
			case p.Status.Phase == phaseRunning:
				running++
			}
		}
		if running != 2 || len(gated) != 1 {
			return false
		}
		waiting, told = gated[0], event(ctx, gated[0], "WaitingForSeat")
		return told != ""
	}) {
		return
	}
	table()
	fmt.Printf("Pod %s is SchedulingGated: it waits for a seat, and its event says where it stands:\n", waiting)
	fmt.Printf("  kubectl get events -n license-demo --field-selector involvedObject.name=%s\n", waiting)
	fmt.Printf("  WaitingForSeat: %s\n", told)

	fmt.Println("\nScaling thumbnailer down frees its seat:")
	fmt.Println("  kubectl scale deployment thumbnailer -n license-demo --replicas=0")
	freed := time.Now()
	if _, err := cluster.Kubectl(ctx, "scale", "deployment", "thumbnailer", "-n", "license-demo", "--replicas=0"); err != nil {
		fmt.Fprintf(os.Stderr, "Scaling the demo Deployment failed:\n%v\n", err)
		return
	}
	var took time.Duration
	var taken string
	if !until(ctx, "The waiting Pod did not start", func(ctx context.Context) bool {
		for _, p := range pods(ctx, "renderer") {
			if p.Metadata.Name == waiting && !p.gated() && p.Status.Phase == phaseRunning {
				if took == 0 {
					took = time.Since(freed)
				}
				taken = event(ctx, waiting, "SeatTaken")
				return taken != ""
			}
		}
		return false
	}) {
		return
	}
	fmt.Printf("Pod %s took the freed seat and was Running %s later:\n", waiting, took.Round(10*time.Millisecond))
	fmt.Printf("  SeatTaken: %s\n", taken)
	table()
}

// apply applies a manifest of the demo and prints what kubectl says.
func apply(ctx context.Context, cluster *localcluster.Cluster, manifest string) bool {
	out, err := cluster.KubectlWithInput(ctx, manifest, "apply", "-f", "-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "Applying the demo failed:\n%v\n", err)
		return false
	}
	fmt.Print(indent(out))
	return true
}

// until polls done every 200 ms for at most demoWait; when it gives up it
// says what did not happen and returns false.
func until(ctx context.Context, what string, done func(context.Context) bool) bool {
	ctx, cancel := context.WithTimeout(ctx, demoWait)
	defer cancel()
	for !done(ctx) {
		if !sleep(ctx, 200*time.Millisecond) {
			fmt.Fprintf(os.Stderr, "%s in time; see `kubectl get events -n license-demo` and the manager log.\n", what)
			return false
		}
	}
	return true
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

// phaseRunning is the phase of a Pod that runs (corev1.PodRunning, read from kubectl's JSON).
const phaseRunning = "Running"
