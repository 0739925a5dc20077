// Package kueuecrds tests the operator's Kueue AdmissionCheck controller
// against Kueue's CRDs only: no Kueue manager runs. The tests play Kueue:
// they write, as an administrator, what Kueue writes into a Workload's
// status (its checks Pending, QuotaReserved and the admission, Finished,
// Evicted) and check what the operator does in return. That Kueue itself
// reacts to the check as its contract says (admits on Ready, requeues on
// Retry, deactivates on Rejected) is not tested here: test/e2e/kueue runs a
// real Kueue for that.
package kueuecrds

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/license-operator/license-operator/internal/controller"
	"github.com/license-operator/license-operator/internal/kueue"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/internal/webhook/workload"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// seatWait is the operator's --kueue-seat-wait in these tests.
const seatWait = 3 * time.Second

// checkName is the AdmissionCheck of the operator's controllerName the
// ClusterQueue of these tests lists.
const checkName = "licence-seats"

// jobController is the username of the Job controller (one of
// licensing.DefaultTrustedWorkloadControllers): the Pods of a Job arrive
// as its requests.
const jobController = "system:serviceaccount:kube-system:job-controller"

var (
	ctx       context.Context
	cancel    context.CancelFunc
	opEnv     *kubecluster.OperatorEnvironment
	k8sClient client.Client
	// jobClient creates Pods as the Job controller does.
	jobClient client.Client
	// operatorClient acts as the operator's ServiceAccount, the only writer
	// of seat ledgers the policy allows.
	operatorClient client.Client
	// crdsInstalledAfterStart is set once the operator ran without Kueue's
	// CRDs and they were installed.
	crdsInstalledAfterStart bool
)

func TestKueueCRDs(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Kueue AdmissionCheck against Kueue's CRDs (no Kueue manager) Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	scheme := kubecluster.Scheme()

	By("starting the operator on a control plane without Kueue's CRDs")
	opEnv, err = kubecluster.StartOperatorEnvironment(ctx, assets, scheme, controller.Options{Clock: clock.RealClock{}}, workload.Options{
		Kueue: &kueue.Options{Enabled: true, SeatWait: seatWait, DiscoveryInterval: 200 * time.Millisecond},
	})
	Expect(err).NotTo(HaveOccurred())
	k8sClient = opEnv.Admin
	Consistently(opEnv.Errs).WithTimeout(time.Second).ShouldNot(Receive())

	By("installing Kueue's CRDs after the operator started")
	dir, err := kubecluster.KueueCRDDir()
	Expect(err).NotTo(HaveOccurred())
	crds, err := envtest.InstallCRDs(opEnv.Config, envtest.CRDInstallOptions{Paths: []string{dir}, ErrorIfPathMissing: true})
	Expect(err).NotTo(HaveOccurred())
	Expect(crds).To(ContainElement(HaveField("ObjectMeta.Name", "workloads.kueue.x-k8s.io")))
	crdsInstalledAfterStart = true

	jc := rest.CopyConfig(opEnv.Config)
	jc.Impersonate = rest.ImpersonationConfig{UserName: jobController, Groups: []string{"system:masters", "system:authenticated"}}
	jobClient, err = client.New(jc, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	op, err := opEnv.Env.AddUser(envtest.User{Name: licensing.DefaultOperatorUsername, Groups: kubecluster.OperatorGroups}, nil)
	Expect(err).NotTo(HaveOccurred())
	operatorClient, err = client.New(op.Config(), client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	By("an AdmissionCheck of the operator and a ClusterQueue that lists it")
	Expect(k8sClient.Create(ctx, kubecluster.MakeAdmissionCheck(checkName, kueue.ControllerName))).To(Succeed())
	Expect(k8sClient.Create(ctx, kubecluster.MakeClusterQueue("batch").CPU("default", "1000").AdmissionChecks(checkName).Obj())).To(Succeed())
})

var _ = AfterSuite(func() {
	cancel()
	if opEnv != nil {
		Expect(opEnv.Stop()).To(Succeed())
	}
})

var nsCounter int

func newNamespace() string {
	nsCounter++
	name := fmt.Sprintf("kq-%d-%d", GinkgoParallelProcess(), nsCounter)
	Expect(k8sClient.Create(ctx, kubecluster.MakeNamespace(name, nil))).To(Succeed())
	return name
}
