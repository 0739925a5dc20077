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

package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/license-operator/license-operator/test/localcluster"
)

// TestRunLocal runs the run-local binary as `make run-local` does (one hollow
// node, with kube-controller-manager and kube-scheduler), waits for it to
// print how to use the cluster, interrupts it as Ctrl-C would, and checks
// that it exits 0 and that etcd, kube-apiserver, the cluster components and
// the manager are gone.
func TestRunLocal(t *testing.T) {
	root, err := localcluster.FindRepoRoot("")
	if err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(t.TempDir(), "run-local")
	build := exec.Command("go", "build", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(binary)
	cmd.Dir = root
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var output strings.Builder
	var outputMu sync.Mutex
	ready := make(chan struct{})
	go func() {
		s := bufio.NewScanner(stdout)
		signalled := false
		for s.Scan() {
			outputMu.Lock()
			output.WriteString(s.Text() + "\n")
			outputMu.Unlock()
			if !signalled && strings.HasPrefix(s.Text(), "Press Ctrl-C") {
				signalled = true
				close(ready)
			}
		}
		exited <- cmd.Wait()
	}()
	printed := func() string {
		outputMu.Lock()
		defer outputMu.Unlock()
		return output.String()
	}

	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("run-local exited before it was ready: %v\nstdout:\n%s\nstderr:\n%s", err, printed(), stderr.String())
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Signal(os.Interrupt)
		t.Fatalf("run-local was not ready within 5 minutes\nstdout:\n%s\nstderr:\n%s", printed(), stderr.String())
	}
	t.Logf("run-local was ready after %s", time.Since(started).Round(100*time.Millisecond))

	children := childrenOf(t, cmd.Process.Pid)
	names := map[string]bool{}
	for _, c := range children {
		names[c.name] = true
	}
	// Process names as /proc shows them: at most 15 characters.
	for _, want := range []string{"etcd", "kube-apiserver", "manager", "kube-controller", "kube-scheduler", "kubemark"} {
		if !names[want] {
			t.Errorf("run-local has no %s child process; children: %v", want, children)
		}
	}
	out := printed()
	for _, want := range []string{
		"export KUBECONFIG=",
		"licenseproduct.licensing.license-operator.dev/",
		"softwarelicense.licensing.license-operator.dev/",
		"licenseassignment.licensing.license-operator.dev/",
		// The samples' status is alive: states, seats and bindings computed.
		" Active ",
		" Bound ",
		// Admission enforces: the Pod without a seat is refused, and says why.
		"is refused:",
		"acme-cad",
		// With real controllers: of the 3 seats, thumbnailer holds one and
		// the Deployment of 3 runs 2 Pods; the third waits in line, told its
		// position, and starts when thumbnailer is scaled down.
		"SchedulingGated",
		`WaitingForSeat: Waiting for a seat of product "demo-renderer"`,
		"position 1 of 1; 3/3 seats held by ",
		"kubectl scale deployment thumbnailer -n license-demo --replicas=0",
		"took the freed seat and was Running",
		`SeatTaken: Took a seat of product "demo-renderer"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("run-local did not print %q; stdout:\n%s", want, out)
		}
	}
	// The tables before and after the seat frees.
	for _, want := range []string{`deployment\.apps/renderer +2/3 `, `deployment\.apps/renderer +3/3 `} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("run-local did not print a line matching %q; stdout:\n%s", want, out)
		}
	}
	if strings.Contains(out, "was admitted") {
		t.Errorf("run-local admitted a Pod that holds no seat; stdout:\n%s", out)
	}

	// A terminal sends SIGINT to the foreground process group; the children
	// are in groups of their own, so only run-local receives it.
	interrupted := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("run-local exited with %v after SIGINT; stderr:\n%s", err, stderr.String())
		}
		t.Logf("run-local exited %s after SIGINT", time.Since(interrupted).Round(100*time.Millisecond))
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("run-local did not exit within 2 minutes of SIGINT; stderr:\n%s", stderr.String())
	}
	for _, c := range children {
		if err := syscall.Kill(c.pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) is still running after run-local exited", c.name, c.pid)
			_ = syscall.Kill(c.pid, syscall.SIGKILL)
		}
	}
}

type process struct {
	pid  int
	name string
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(t *testing.T, pid int) []process {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []process
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil && ppid == pid {
			out = append(out, process{pid: child, name: s[open+1 : end]})
		}
	}
	return out
}

// TestRunLocalKilled kills run-local (--nodes=0) with SIGKILL, as when its
// terminal's session is torn down, once it is ready: it can run no cleanup,
// so every process it started must die with it (Pdeathsig), and its work
// directory, left in the temporary directory, must be swept by the next
// start (SweepLeftovers, which localcluster.Start calls first).
func TestRunLocalKilled(t *testing.T) {
	root, err := localcluster.FindRepoRoot("")
	if err != nil {
		t.Fatal(err)
	}
	binary := filepath.Join(t.TempDir(), "run-local")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(binary, "--nodes=0")
	cmd.Dir = root
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kubeconfig := make(chan string, 1)
	ready := make(chan struct{})
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if path, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "export KUBECONFIG="); ok {
				kubeconfig <- path
			}
			if strings.HasPrefix(s.Text(), "Press Ctrl-C") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("run-local was not ready within 5 minutes; stderr:\n%s", stderr.String())
	}
	workDir := filepath.Dir(<-kubeconfig)

	children := childrenOf(t, cmd.Process.Pid)
	names := map[string]bool{}
	for _, c := range children {
		names[c.name] = true
	}
	for _, want := range []string{"etcd", "kube-apiserver", "manager"} {
		if !names[want] {
			t.Errorf("run-local has no %s child process; children: %v", want, children)
		}
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for _, c := range children {
		for alive(c.pid) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(c.pid) {
			t.Errorf("%s (pid %d) survived run-local's SIGKILL", c.name, c.pid)
			_ = syscall.Kill(c.pid, syscall.SIGKILL)
		}
	}

	if _, err := os.Stat(filepath.Join(workDir, localcluster.OwnerFile)); err != nil {
		t.Fatalf("the killed run-local left no work directory with an owner to sweep: %v", err)
	}
	removed, err := localcluster.SweepLeftovers("")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, workDir) {
		t.Errorf("SweepLeftovers removed %v, not the killed run-local's %s", removed, workDir)
	}
	if _, err := os.Stat(workDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is still there after the sweep: %v", workDir, err)
	}
}

// alive says whether pid runs: it exists and is not a zombie (an orphan
// waits for whoever adopted it to reap it).
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}
