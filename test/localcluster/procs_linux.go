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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Every process a Cluster starts dies with the process that started it, even
// when that process is killed with SIGKILL and can run no cleanup: each child
// is started with Pdeathsig, which Linux alone offers (procs_other.go does
// without it).
//
// Pdeathsig fires when the *thread* that forked the child exits, not the
// process. The Go runtime ends an OS thread when a goroutine locked to it
// returns without unlocking, so a child forked from an arbitrary goroutine
// could be killed at a random moment. Every child is therefore forked from
// one goroutine that locks its OS thread for good (spawner below); that
// thread lives until the cluster is stopped.

// parentDeathSignal is what a child receives when its parent dies.
const parentDeathSignal = syscall.SIGKILL

// sysProcAttr puts a child in a process group of its own (a Ctrl-C in a
// terminal reaches only the parent, which stops the children in order) and
// kills it when its parent dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: parentDeathSignal}
}

// spawner runs functions on one goroutine locked to its OS thread, so that
// the children they fork have a parent thread that lives as long as they do.
type spawner struct {
	calls chan func()
}

func newSpawner() *spawner {
	s := &spawner{calls: make(chan func())}
	go func() {
		// Never unlocked: when close ends this goroutine, its thread exits
		// with it, which kills any child still alive (Pdeathsig).
		runtime.LockOSThread()
		for call := range s.calls {
			call()
		}
	}()
	return s
}

// do runs fn on the spawner's thread and returns its error.
func (s *spawner) do(fn func() error) error {
	done := make(chan error, 1)
	s.calls <- func() { done <- fn() }
	return <-done
}

// start starts cmd on the spawner's thread with sysProcAttr.
func (s *spawner) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = sysProcAttr()
	return s.do(cmd.Start)
}

// close ends the spawner's goroutine; call it once every child has exited.
func (s *spawner) close() { close(s.calls) }

// envtest starts etcd and kube-apiserver itself, with a SysProcAttr of its
// own (Setpgid only). To give them Pdeathsig too, Start points envtest at
// links named etcd and kube-apiserver in a directory named wrapperDirName,
// which lead to the running executable; this package's init sees that it was
// started through such a link, sets its own parent-death signal and replaces
// itself (execve keeps the signal) with the real binary of the assets
// directory named in the directory's wrapperFile.
const (
	wrapperDirName = "pdeathsig-bin"
	wrapperFile    = "exec"
)

func init() {
	if filepath.Base(filepath.Dir(os.Args[0])) != wrapperDirName {
		return
	}
	err := execWithParentDeathSignal(filepath.Dir(os.Args[0]), filepath.Base(os.Args[0]))
	fmt.Fprintf(os.Stderr, "localcluster: %s: %v\n", os.Args[0], err)
	os.Exit(127)
}

// execWithParentDeathSignal replaces the process with name of the assets
// directory, set to receive parentDeathSignal when its parent dies. It only
// returns on failure.
func execWithParentDeathSignal(dir, name string) error {
	data, err := os.ReadFile(filepath.Join(dir, wrapperFile))
	if err != nil {
		return err
	}
	assets, pid, ok := strings.Cut(strings.TrimSpace(string(data)), "\n")
	parent, perr := strconv.Atoi(pid)
	if !ok || perr != nil {
		return fmt.Errorf("%s holds no assets directory and parent pid", filepath.Join(dir, wrapperFile))
	}
	// prctl sets the signal of the calling thread, and execve keeps the
	// thread that calls it: both must run on the same one.
	runtime.LockOSThread()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(parentDeathSignal), 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %w", errno)
	}
	// The parent may have died before prctl: then nobody would kill us.
	if os.Getppid() != parent {
		return fmt.Errorf("the parent (pid %d) is gone", parent)
	}
	real := filepath.Join(assets, name)
	return syscall.Exec(real, append([]string{real}, os.Args[1:]...), os.Environ())
}

// wrapBinaries writes the links of names under dir/wrapperDirName and
// returns that directory; see init.
func wrapBinaries(dir, assets string, names ...string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	wrappers := filepath.Join(dir, wrapperDirName)
	if err := os.MkdirAll(wrappers, 0o755); err != nil {
		return "", err
	}
	content := assets + "\n" + strconv.Itoa(os.Getpid()) + "\n"
	if err := os.WriteFile(filepath.Join(wrappers, wrapperFile), []byte(content), 0o600); err != nil {
		return "", err
	}
	for _, name := range names {
		link := filepath.Join(wrappers, name)
		_ = os.Remove(link)
		if err := os.Symlink(self, link); err != nil {
			return "", err
		}
	}
	return wrappers, nil
}

// DieWithParent asks Linux to send sig to this process when its parent
// exits: run-local stops its cluster when make, or the shell that started
// it, dies. The signal is bound to the thread that calls it: call it from
// main before any goroutine locks that thread.
func DieWithParent(sig syscall.Signal) error {
	parent := os.Getppid()
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(sig), 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %w", errno)
	}
	if os.Getppid() != parent {
		return syscall.Kill(os.Getpid(), sig)
	}
	return nil
}
