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
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const (
	// WorkDirPrefix begins the name of every temporary work directory Start
	// creates (under os.TempDir()).
	WorkDirPrefix = "license-operator-local-"
	// OwnerFile, in a work directory Start created, holds the id of the
	// process that created it. Start writes it before anything else.
	OwnerFile = "owner.pid"
)

// newWorkDir creates a temporary work directory owned by this process.
func newWorkDir() (string, error) {
	dir, err := os.MkdirTemp("", WorkDirPrefix)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, OwnerFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return "", errors.Join(err, os.RemoveAll(dir))
	}
	return dir, nil
}

// SweepLeftovers removes what a killed Start left in tmp (os.TempDir() when
// empty): a parent killed with SIGKILL runs no cleanup, and its children die
// with it (Pdeathsig) but its work directory stays. It removes only the
// directories it recognises as its own: named WorkDirPrefix…, holding an
// OwnerFile whose process is gone. A directory without an OwnerFile, or whose
// owner runs, is left alone. Start calls it; it returns what it removed.
func SweepLeftovers(tmp string) ([]string, error) {
	if tmp == "" {
		tmp = os.TempDir()
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), WorkDirPrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, OwnerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 || running(pid) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, dir)
	}
	return removed, errors.Join(errs...)
}

// running says whether process pid exists. A pid reused by another process
// counts as running: a leftover is then kept rather than a live directory
// removed.
func running(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
