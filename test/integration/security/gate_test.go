package security

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

// Issue 11 §1, "Only the operator opens the gate": a Pod waiting in line
// carries the scheduling gate v1.SeatGate and the label v1.LicensedLabel. A
// tenant with the built-in edit role may update Pods, and removing a gate
// reaches no webhook: the ValidatingAdmissionPolicy of config/policy
// (pod_seat_gate.yaml) refuses it, and any change of the label, to everyone
// but the operator's ServiceAccount user. The Pods are created by the
// operator's user, whose writes skip the webhooks, so that what is tested is
// the policy alone.
var _ = Describe("Only the operator opens the seat gate", func() {
	var ns string
	var mallory *tenant
	var operator client.Client

	BeforeEach(func() {
		Expect(kubecluster.ApplyPolicies(ctx, k8sClient, licensing.DefaultOperatorUsername)).To(Succeed())
		ns = newNamespace()
		// edit holds what the roles labelled aggregate-to-edit grant, as the
		// controller manager aggregates them in a cluster.
		Expect(kubecluster.AggregateClusterRoles(ctx, k8sClient, "view", "edit", "admin")).To(Succeed())
		mallory = newTenant("mallory-" + rand.String(4))
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "edit-" + mallory.name, Namespace: ns},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: mallory.name}},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"},
		})).To(Succeed())
		var err error
		operator, err = client.New(userConfig(licensing.DefaultOperatorUsername, kubecluster.OperatorGroups), client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
	})

	// waiting is a gated, licensed Pod created by the operator.
	waiting := func(name string) *corev1.Pod {
		GinkgoHelper()
		pod := kubecluster.MakePod(name, ns).Label(v1.LicensedLabel, "true").Label("app", "cad").SchedulingGate(v1.SeatGate).Obj()
		Expect(operator.Create(ctx, pod)).To(Succeed())
		return pod
	}
	ungated := func(p *corev1.Pod) *corev1.Pod {
		q := p.DeepCopy()
		q.Spec.SchedulingGates = nil
		return q
	}
	withLabel := func(p *corev1.Pod, value string) *corev1.Pod {
		q := p.DeepCopy()
		if q.Labels == nil {
			q.Labels = map[string]string{}
		}
		q.Labels[v1.LicensedLabel] = value
		return q
	}
	withoutLabel := func(p *corev1.Pod) *corev1.Pod {
		q := p.DeepCopy()
		delete(q.Labels, v1.LicensedLabel)
		return q
	}
	// refused checks that the policy refused the user's request and that
	// its message names what was protected and who asked.
	refused := func(err error, user, names string) {
		GinkgoHelper()
		Expect(err).To(HaveOccurred())
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(SatisfyAll(
			ContainSubstring("ValidatingAdmissionPolicy 'pod-seat-gate'"),
			ContainSubstring(names),
			ContainSubstring(user+" may not")))
	}
	gateRefusal := func(pod *corev1.Pod) string {
		return fmt.Sprintf("Pod %s/%s waits in line for a licence seat: only the license-operator removes its scheduling gate %s", pod.Namespace, pod.Name, v1.SeatGate)
	}
	labelRefusal := func(pod *corev1.Pod, verb string) string {
		return fmt.Sprintf("the label %s of Pod %s/%s marks the Pods the license-operator admitted for a product: only the operator may add, change or remove it; %s may not %s it",
			v1.LicensedLabel, pod.Namespace, pod.Name, mallory.name, verb)
	}
	// inForce waits until the policy (new in the first test) and
	// mallory's binding are in force: a dry run changes nothing.
	inForce := func(pod *corev1.Pod) {
		GinkgoHelper()
		Eventually(func(g Gomega) {
			err := mallory.client.Update(ctx, ungated(pod), client.DryRunAll)
			g.Expect(err).To(HaveOccurred())
			g.Expect(err.Error()).To(ContainSubstring(gateRefusal(pod)))
		}).Should(Succeed())
	}

	It("refuses a namespace editor who removes the seat gate or touches the licensed label, and lets her make other changes", func() {
		pod := waiting("cad-0")
		inForce(pod)

		By("removing the gate, by update and by patch")
		refused(mallory.client.Update(ctx, ungated(pod)), mallory.name, gateRefusal(pod))
		refused(mallory.client.Patch(ctx, ungated(pod), client.MergeFrom(pod)), mallory.name, gateRefusal(pod))

		By("changing or removing the label")
		refused(mallory.client.Update(ctx, withLabel(pod, "false")), mallory.name, labelRefusal(pod, "change"))
		refused(mallory.client.Patch(ctx, withLabel(pod, ""), client.MergeFrom(pod)), mallory.name, labelRefusal(pod, "change"))
		refused(mallory.client.Update(ctx, withoutLabel(pod)), mallory.name, labelRefusal(pod, "remove"))
		refused(mallory.client.Patch(ctx, withoutLabel(pod), client.MergeFrom(pod)), mallory.name, labelRefusal(pod, "remove"))

		By("adding the label to a Pod the operator did not admit")
		plain := kubecluster.MakePod("plain", ns).Obj()
		Expect(operator.Create(ctx, plain)).To(Succeed())
		refused(mallory.client.Patch(ctx, withLabel(plain, "true"), client.MergeFrom(plain)), mallory.name, labelRefusal(plain, "add"))

		cur := &corev1.Pod{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), cur)).To(Succeed())
		Expect(cur.Spec.SchedulingGates).To(ConsistOf(corev1.PodSchedulingGate{Name: v1.SeatGate}))
		Expect(cur.Labels).To(HaveKeyWithValue(v1.LicensedLabel, "true"))

		By("other changes of the same Pods pass")
		changed := cur.DeepCopy()
		changed.Annotations = map[string]string{"example.com/note": "mine"}
		changed.Labels["app"] = "cad-2"
		Expect(mallory.client.Patch(ctx, changed, client.MergeFrom(cur))).To(Succeed())
		Expect(mallory.client.Update(ctx, plain.DeepCopy())).To(Succeed(), "an update of a Pod with no labels and no gates")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), cur)).To(Succeed())
		Expect(cur.Annotations).To(HaveKeyWithValue("example.com/note", "mine"))
		Expect(cur.Labels).To(Equal(map[string]string{v1.LicensedLabel: "true", "app": "cad-2"}))
		Expect(cur.Spec.SchedulingGates).To(ConsistOf(corev1.PodSchedulingGate{Name: v1.SeatGate}))
	})

	It("refuses a namespace editor who removes the consumption gate of a Pod waiting for the next period", func() {
		pod := kubecluster.MakePod("metered-0", ns).Label(v1.LicensedLabel, "true").SchedulingGate(v1.UseGate).Obj()
		Expect(operator.Create(ctx, pod)).To(Succeed())
		inForce(waiting("cad-0"))
		refused(mallory.client.Patch(ctx, ungated(pod), client.MergeFrom(pod)), mallory.name,
			fmt.Sprintf("Pod %s/%s waits for the next consumption period of its licence: only the license-operator removes its scheduling gate %s", pod.Namespace, pod.Name, v1.UseGate))
		Expect(operator.Patch(ctx, ungated(pod), client.MergeFrom(pod))).To(Succeed(), "the operator may")
	})

	It("refuses the label through pods/status to a Role that grants it", func() {
		pod := waiting("cad-0")
		inForce(pod)
		grant(mallory.name, ns, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/status"}, Verbs: []string{"get", "update", "patch"}})
		Eventually(func(g Gomega) {
			err := mallory.client.Status().Update(ctx, withoutLabel(pod), client.DryRunAll)
			g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
			g.Expect(err.Error()).NotTo(ContainSubstring("cannot update resource"), "the Role is in force")
		}).Should(Succeed())
		refused(mallory.client.Status().Update(ctx, withoutLabel(pod)), mallory.name, labelRefusal(pod, "remove"))
		refused(mallory.client.Status().Patch(ctx, withLabel(pod, "false"), client.MergeFrom(pod)), mallory.name, labelRefusal(pod, "change"))
	})

	It("lets the operator remove the gate and change the label", func() {
		pod := waiting("cad-0")
		inForce(pod)

		Expect(operator.Patch(ctx, ungated(pod), client.MergeFrom(pod))).To(Succeed())
		cur := &corev1.Pod{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), cur)).To(Succeed())
		Expect(cur.Spec.SchedulingGates).To(BeEmpty())

		Expect(operator.Update(ctx, withLabel(cur, "false"))).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), cur)).To(Succeed())
		Expect(cur.Labels).To(HaveKeyWithValue(v1.LicensedLabel, "false"))
		Expect(operator.Update(ctx, withoutLabel(cur))).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), cur)).To(Succeed())
		Expect(cur.Labels).NotTo(HaveKey(v1.LicensedLabel))
	})
})
