package roundtrip

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/kubectllicense"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// This suite takes the seed 001 example through `kubectl license import`,
// a real kube-apiserver on which the whole operator runs (every controller
// and every webhook), and `kubectl license export`, and checks the mapping
// of docs/kubectl-license.md from seed 001 to the CRDs to seed 000, field by
// field.
//
// The controllers run on a clock fixed inside the seed example's term
// (now): the state they compute from its dates is the same whatever the
// day the test runs.

// now is the controllers' time: inside the seed example's term, 2026-05-19
// to 2027-05-19, and more than the default ExpiringSoon window (90d) before
// its end.
var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

var (
	ctx        context.Context
	cancel     context.CancelFunc
	opEnv      *kubecluster.OperatorEnvironment
	k8sClient  client.Client
	kubeconfig string
)

func TestRoundTrip(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "seed 001 → kubectl license import → the operator → kubectl license export → seed 000 Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	scheme := kubecluster.Scheme()
	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	opEnv, err = kubecluster.StartOperatorEnvironment(ctx, assets, scheme, controller.Options{Clock: clocktesting.NewFakePassiveClock(now)})
	Expect(err).NotTo(HaveOccurred())
	k8sClient = opEnv.Admin

	admin, err := opEnv.Env.AddUser(envtest.User{Name: "admin@example.com", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(kubecluster.WriteKubeconfig(admin.Config(), kubeconfig, "envtest", "admin@example.com", "default")).To(Succeed())
	Consistently(opEnv.Errs).WithTimeout(time.Second).ShouldNot(Receive())
})

var _ = AfterSuite(func() {
	cancel()
	if opEnv != nil {
		Expect(opEnv.Stop()).To(Succeed())
	}
})

// plugin runs kubectl-license with args, as its main does (the root command
// with every subcommand), and returns its standard output and error.
func plugin(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}
	err = kubectllicense.Execute(ctx, streams, args)
	GinkgoWriter.Printf("$ kubectl license %v\n%s%s", args, out.String(), errOut.String())
	return out.String(), errOut.String(), err
}
