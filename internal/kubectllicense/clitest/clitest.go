// Package clitest runs a kubectl license subcommand in a test as a user runs
// it: arguments, standard input, and what it writes to stdout and stderr;
// in-process (Run) or as the built binary (BuildPlugin, RunBinary).
package clitest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Run builds the command with newCmd, runs it with args and stdin, and
// returns its stdout, its stderr (cobra's own messages included) and its
// error.
func Run(t *testing.T, newCmd func(genericiooptions.IOStreams) *cobra.Command, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newCmd(genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	cmd.SetOut(&errOut)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

// BuildPlugin builds cmd/kubectl-license of the module at root into dir and
// returns the path of the binary.
func BuildPlugin(root, dir string) (string, error) {
	bin := filepath.Join(dir, "kubectl-license")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/kubectl-license")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/kubectl-license: %w: %s", err, out)
	}
	return bin, nil
}

// RunBinary runs the built plugin bin with args, the environment of the test
// plus env, and stdin, as a shell runs it, and returns its stdout, its
// stderr and its exit status; err is set only when it could not run.
func RunBinary(bin string, env []string, stdin string, args ...string) (stdout, stderr string, code int, err error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return "", "", 0, err
		}
		code = exit.ExitCode()
	}
	return out.String(), errOut.String(), code, nil
}
