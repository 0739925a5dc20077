package withcontrollers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/license-operator/license-operator/internal/controller"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// This suite runs the operator as it is deployed, on a real kube-apiserver:
// one manager serving the webhooks (configured exactly as config/webhook
// renders them) and running every controller, as the operator's
// ServiceAccount with the SeatLedger write policy applied, so that what
// admission counts shows in the status the controllers compute
// (consumption, a freeToUse product's uses).

var (
	ctx       context.Context
	cancel    context.CancelFunc
	opEnv     *kubecluster.OperatorEnvironment
	k8sClient client.Client
)

func TestWithControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "Admission with the controllers Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.Background())
	assets, err := utiltesting.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	opEnv, err = kubecluster.StartOperatorEnvironment(ctx, assets, kubecluster.Scheme(), controller.Options{Clock: clock.RealClock{}})
	Expect(err).NotTo(HaveOccurred())
	k8sClient = opEnv.Admin
	Consistently(opEnv.Errs).WithTimeout(time.Second).ShouldNot(Receive())
})

var _ = AfterSuite(func() {
	cancel()
	if opEnv != nil {
		Expect(opEnv.Stop()).To(Succeed())
	}
})
