package bench

// BenchmarkLeaderHandover measures how long the manager's replicas go
// without a leader when the leader dies without a word (kill -9, a node
// lost): two manager processes, the binary built from ./cmd, run against a
// local kube-apiserver (test/localcluster, webhooks off) with --leader-elect,
// under the operator's ServiceAccount (a token of
// license-operator-system/license-operator-controller-manager) bound to
// exactly the roles config/rbac ships: the ClusterRole role.yaml and the
// leader-election Role, in license-operator-system. Each iteration starts
// replica A, waits until it holds the Lease, starts replica B, waits until B
// is ready, sends A SIGKILL, and polls the Lease every 20 ms until its
// holderIdentity is B's. Reported: the seconds from the SIGKILL to that
// change (each iteration, p50 and max), and the Lease's
// leaseDurationSeconds. The managers' logs must show no forbidden request:
// the shipped roles suffice for leader election and for every controller's
// cache.
//
// The timing depends on controller-runtime's leader election defaults, which
// cmd/main.go keeps: LeaseDuration 15 s, RenewDeadline 10 s, RetryPeriod 2 s.
// The leader renews every RetryPeriod; B notes the time it first sees each
// renewal at one of its tries (every RetryPeriod, jittered up to 1.2 times),
// and takes the Lease at its first try after it has seen it unrenewed for a
// whole LeaseDuration: between 13 s (15 - 2) and 19.8 s (15 + 2.4 + 2.4)
// after the kill, about 16.4 s on average. Timings are not asserted.
//
// Run (about a minute per iteration on two shared cores):
//
//	go test ./test/bench/ -run '^$' -bench BenchmarkLeaderHandover -benchtime=3x -timeout 20m -v
//
// Results are in docs/operations.md, section "Leader election".

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/license-operator/license-operator/test/kubecluster"
	"github.com/license-operator/license-operator/test/localcluster"
)

const (
	// operatorNamespace and operatorServiceAccount are config/default's.
	operatorNamespace      = "license-operator-system"
	operatorServiceAccount = "license-operator-controller-manager"
	// leaseName is cmd/main.go's default --leader-election-id.
	leaseName = "license-operator.licensing.license-operator.dev"
)

func BenchmarkLeaderHandover(b *testing.B) {
	logf.SetLogger(logr.Discard())
	ctx := context.Background()
	// It binds the shipped roles itself, to a ServiceAccount token.
	lc, bin := startLocalCluster(b, localcluster.Options{DisableWebhooks: true, PrivilegedOperator: true})
	admin, err := client.New(lc.Config, client.Options{Scheme: kubecluster.Scheme()})
	if err != nil {
		b.Fatal(err)
	}
	kubeconfig := shippedRolesKubeconfig(b, lc, admin)
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=true",
		"--leader-election-namespace=" + operatorNamespace,
	}

	var handovers []time.Duration
	var leaseSeconds int32
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		logs := make([]string, 2)
		for j, name := range []string{"a", "b"} {
			logs[j] = filepath.Join(lc.WorkDir, fmt.Sprintf("manager-%d-%s.log", i, name))
		}
		a := startReplica(b, lc, bin, args, logs[0])
		holderA := waitHolder(b, admin, func(h string) bool { return h != "" })
		rb := startReplica(b, lc, bin, args, logs[1])
		// B is ready: its caches synced and it tries for the Lease.
		if err := syscall.Kill(a.PID(), syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		killed := time.Now()
		holderB := waitHolder(b, admin, func(h string) bool { return h != "" && h != holderA })
		took := time.Since(killed)
		handovers = append(handovers, took)
		lease := &coordinationv1.Lease{}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: leaseName}, lease); err != nil {
			b.Fatal(err)
		}
		leaseSeconds = ptr.Deref(lease.Spec.LeaseDurationSeconds, 0)
		b.Logf("iteration %d: %s held the Lease; SIGKILL; %s took it after %.2f s", i, holderA, holderB, took.Seconds())
		_ = a.Stop() // reaps the killed process
		if err := rb.Stop(); err != nil {
			b.Errorf("replica b: %v", err)
		}
		for _, l := range logs {
			noForbidden(b, l)
		}
	}
	b.StopTimer()
	sort.Slice(handovers, func(i, j int) bool { return handovers[i] < handovers[j] })
	b.ReportMetric(handovers[len(handovers)/2].Seconds(), "p50-handover-s")
	b.ReportMetric(handovers[len(handovers)-1].Seconds(), "max-handover-s")
	b.ReportMetric(float64(leaseSeconds), "lease-duration-s")
}

// startLocalCluster starts the local cluster with opts and builds the
// manager binary into its work directory; the cluster stops when the
// benchmark ends.
func startLocalCluster(b *testing.B, opts localcluster.Options) (lc *localcluster.Cluster, bin string) {
	b.Helper()
	ctx := context.Background()
	lc, err := localcluster.Start(ctx, opts)
	if lc != nil {
		b.Cleanup(func() { _ = lc.Stop() })
	}
	if err != nil {
		b.Fatal(err)
	}
	bin = filepath.Join(lc.WorkDir, "manager")
	if err := localcluster.BuildManager(ctx, lc.RepoRoot, bin); err != nil {
		b.Fatal(err)
	}
	return lc, bin
}

// startReplica starts a manager with args, logging to logPath, and waits
// until it is ready.
func startReplica(b *testing.B, lc *localcluster.Cluster, bin string, args []string, logPath string) *localcluster.Manager {
	b.Helper()
	out, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = out.Close() })
	m, err := lc.StartManager(context.Background(), localcluster.ManagerOptions{Binary: bin, Args: args, Output: out})
	if err != nil {
		b.Fatalf("%v\n%s", err, tailFile(logPath))
	}
	return m
}

// waitHolder polls the Lease every 20 ms until its holderIdentity satisfies
// ok, and returns it.
func waitHolder(b *testing.B, admin client.Client, ok func(string) bool) string {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		lease := &coordinationv1.Lease{}
		err := admin.Get(context.Background(), client.ObjectKey{Namespace: operatorNamespace, Name: leaseName}, lease)
		if err == nil && ok(ptr.Deref(lease.Spec.HolderIdentity, "")) {
			return ptr.Deref(lease.Spec.HolderIdentity, "")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatal("the Lease did not change hands within 2 minutes")
	return ""
}

// noForbidden fails when the manager's log shows a request the API server
// refused for want of a permission.
func noForbidden(b *testing.B, logPath string) {
	b.Helper()
	raw, err := os.ReadFile(logPath)
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, "forbidden") {
			b.Errorf("%s: a forbidden request: %s", filepath.Base(logPath), line)
		}
	}
}

// tailFile is the last lines of a log, for a failure message.
func tailFile(path string) string {
	raw, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// shippedRolesKubeconfig creates the operator's namespace and ServiceAccount,
// binds the ServiceAccount to the ClusterRole of config/rbac/role.yaml and
// the Role of config/rbac/leader_election_role.yaml (nothing else), and
// writes a kubeconfig with a token of it.
func shippedRolesKubeconfig(b *testing.B, lc *localcluster.Cluster, admin client.Client) string {
	b.Helper()
	ctx := context.Background()
	must := func(err error) {
		b.Helper()
		if err != nil {
			b.Fatal(err)
		}
	}
	must(admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}))
	must(admin.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: operatorServiceAccount, Namespace: operatorNamespace}}))
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: operatorServiceAccount, Namespace: operatorNamespace}}

	clusterRole := &rbacv1.ClusterRole{}
	must(readShipped(lc, "role.yaml", clusterRole))
	clusterRole.ObjectMeta = metav1.ObjectMeta{Name: "license-operator-manager-role"}
	must(admin.Create(ctx, clusterRole))
	must(admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: clusterRole.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole.Name},
		Subjects:   subject,
	}))
	role := &rbacv1.Role{}
	must(readShipped(lc, "leader_election_role.yaml", role))
	role.ObjectMeta = metav1.ObjectMeta{Name: "license-operator-leader-election-role", Namespace: operatorNamespace}
	must(admin.Create(ctx, role))
	must(admin.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: operatorNamespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   subject,
	}))

	cs, err := kubernetes.NewForConfig(lc.Config)
	must(err)
	tr, err := cs.CoreV1().ServiceAccounts(operatorNamespace).CreateToken(ctx, operatorServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	must(err)

	server := lc.Config.Host
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: lc.Config.CAData}
	kc.AuthInfos["operator"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["operator"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "operator", Namespace: operatorNamespace}
	kc.CurrentContext = "operator"
	path := filepath.Join(lc.WorkDir, "serviceaccount.kubeconfig")
	must(clientcmd.WriteToFile(*kc, path))
	return path
}

// readShipped reads a file of config/rbac into obj.
func readShipped(lc *localcluster.Cluster, file string, obj any) error {
	raw, err := os.ReadFile(filepath.Join(lc.RepoRoot, "config", "rbac", file))
	if err != nil {
		return err
	}
	return yaml.Unmarshal(raw, obj)
}
