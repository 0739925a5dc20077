package diagnose

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/kubectllicense/diagnose"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// This suite runs `kubectl license why` and `kubectl license can-i` as a
// person runs them: through cobra, under a root command wired as the
// plugin's root wires them, with a kubeconfig file, against a real
// kube-apiserver on which the whole operator runs (every controller and
// every webhook, configured exactly as config/webhook renders them), as the
// operator's ServiceAccount with the SeatLedger write policy applied.

// personUser is the person whose kubeconfig the commands run with.
const personUser = "alice@example.com"

var (
	ctx       context.Context
	cancel    context.CancelFunc
	opEnv     *kubecluster.OperatorEnvironment
	k8sClient client.Client
	// warnings collects the admission warnings of personClient's requests.
	warnings *kubecluster.Warnings
	// personClient is the person's client: what they create by hand.
	personClient client.Client
	// kcmClient acts as kube-controller-manager: a trusted workload
	// controller, whose Pods keep the user of their template.
	kcmClient  client.Client
	kubeconfig string
)

func TestDiagnose(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "kubectl license why and can-i Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	scheme := kubecluster.Scheme()
	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	opEnv, err = kubecluster.StartOperatorEnvironment(ctx, assets, scheme, controller.Options{Clock: clock.RealClock{}})
	Expect(err).NotTo(HaveOccurred())
	k8sClient = opEnv.Admin

	person, err := opEnv.Env.AddUser(envtest.User{Name: personUser, Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	pcfg := person.Config()
	warnings = &kubecluster.Warnings{}
	pcfg.WarningHandler = warnings
	personClient, err = client.New(pcfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(kubecluster.WriteKubeconfig(person.Config(), kubeconfig, "envtest", personUser, "default")).To(Succeed())

	kcm, err := opEnv.Env.AddUser(envtest.User{Name: kubecluster.ControllerManagerUser, Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kcmClient, err = client.New(kcm.Config(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	Consistently(opEnv.Errs).WithTimeout(time.Second).ShouldNot(Receive())
})

var _ = AfterSuite(func() {
	cancel()
	if opEnv != nil {
		Expect(opEnv.Stop()).To(Succeed())
	}
})

// run runs the plugin's subcommand with args, the kubeconfig file and -n
// namespace, under a root command wired as the plugin's root wires it
// (one line a subcommand, sharing the root's ConfigFlags), and returns its
// standard output, its standard error and its exit code (diagnose.ExitCode).
func run(namespace string, stdin string, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: bytes.NewBufferString(stdin), Out: &out, ErrOut: &errOut}
	flags := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{Use: "kubectl-license", SilenceUsage: true}
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(diagnose.NewWhyCmd(flags, streams))
	root.AddCommand(diagnose.NewCanICmd(flags, streams))
	root.SetArgs(append(args, "--kubeconfig", kubeconfig, "-n", namespace))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(ctx)
	GinkgoWriter.Printf("$ kubectl license %v -n %s\n%s%s(exit %d)\n", args, namespace, out.String(), errOut.String(), diagnose.ExitCode(err))
	return out.String(), errOut.String(), diagnose.ExitCode(err)
}

// complete asks the plugin's shell completion (cobra's __complete) for
// the words that complete the last of args, in namespace.
func complete(namespace string, args ...string) string {
	var out bytes.Buffer
	streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &out}
	flags := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{Use: "kubectl-license"}
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(diagnose.NewWhyCmd(flags, streams))
	root.SetArgs(append([]string{"__complete", "--kubeconfig", kubeconfig, "-n", namespace}, args...))
	root.SetOut(&out)
	Expect(root.ExecuteContext(ctx)).To(Succeed())
	return out.String()
}

// writeFile writes content into a new file of the spec's temporary directory.
func writeFile(name, content string) string {
	path := filepath.Join(GinkgoT().TempDir(), name)
	Expect(os.WriteFile(path, []byte(content), 0o600)).To(Succeed())
	return path
}
