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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSweepLeftovers(t *testing.T) {
	tmp := t.TempDir()
	// A process that has exited: its pid is gone (until reused).
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{ // name → content of its OwnerFile ("" for none)
		WorkDirPrefix + "dead":     strconv.Itoa(gone.Process.Pid),
		WorkDirPrefix + "alive":    strconv.Itoa(os.Getpid()),
		WorkDirPrefix + "no-owner": "",
		WorkDirPrefix + "garbled":  "not a pid",
		"someone-else":             strconv.Itoa(gone.Process.Pid),
	}
	for name, owner := range dirs {
		dir := filepath.Join(tmp, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, OwnerFile), []byte(owner+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	removed, err := SweepLeftovers(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{filepath.Join(tmp, WorkDirPrefix+"dead")}, removed); diff != "" {
		t.Errorf("SweepLeftovers removed (-want +got):\n%s", diff)
	}
	for name := range dirs {
		_, err := os.Stat(filepath.Join(tmp, name))
		if kept := err == nil; kept == (name == WorkDirPrefix+"dead") {
			t.Errorf("%s: kept %t", name, kept)
		}
	}
}
