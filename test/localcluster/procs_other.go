//go:build !linux

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
	"os/exec"
	"syscall"
)

// Pdeathsig is Linux-only (see procs_linux.go): elsewhere the children are
// stopped by Stop, and what a killed parent leaves is swept by the next Start.

func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

type spawner struct{}

func newSpawner() *spawner                   { return &spawner{} }
func (*spawner) do(fn func() error) error    { return fn() }
func (*spawner) close()                      {}
func (s *spawner) start(cmd *exec.Cmd) error { cmd.SysProcAttr = sysProcAttr(); return cmd.Start() }

// wrapBinaries leaves envtest's binaries as they are.
func wrapBinaries(_, assets string, _ ...string) (string, error) { return assets, nil }

// DieWithParent does nothing: only Linux has a parent-death signal.
func DieWithParent(syscall.Signal) error { return nil }
