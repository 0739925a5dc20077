package diagnose

import (
	"strings"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

func newNamespace() string {
	ns := kubecluster.MakeNamespace("why-"+rand.String(6), nil)
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// licensed creates product, a licence "cad" of it with seats in namespace
// ns (its policy's fields overridden by overrides), and an assignment
// "render" of seats for the default ServiceAccount, and waits until the
// controllers have bound it.
func licensed(ns, product string, seats int32, overrides *licensingv1alpha1.PolicySettings) (*licensingv1alpha1.SoftwareLicense, *licensingv1alpha1.LicenseAssignment) {
	Expect(k8sClient.Create(ctx, utiltesting.MakeProduct(product).Obj())).To(Succeed())
	l := utiltesting.MakeLicense("cad", ns).Product(product).Seats(seats)
	if overrides != nil {
		l.Overrides(*overrides)
	}
	Expect(k8sClient.Create(ctx, l.Obj())).To(Succeed())
	a := utiltesting.MakeAssignment("render", ns).License("cad").ServiceAccount("default").Seats(seats).Obj()
	Expect(k8sClient.Create(ctx, a)).To(Succeed())
	lic := &licensingv1alpha1.SoftwareLicense{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(a), a)).To(Succeed())
		g.Expect(a.Status.State).To(Equal(licensingv1alpha1.AssignmentStateBound))
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cad"}, lic)).To(Succeed())
		g.Expect(lic.Status.Seats.Used).To(Equal(seats))
	}).Should(Succeed())
	return lic, a
}

// createPod creates pod as the person, retrying while the webhook's cache
// has not seen the assignment yet, and returns the admission warnings.
func createPod(pod *corev1.Pod) []string {
	Eventually(func() error {
		warnings.Take()
		return personClient.Create(ctx, pod)
	}).Should(Succeed())
	return warnings.Take()
}

// eventsOf are the events of obj with reason, as `kubectl get events` shows them.
func eventsOf(obj client.Object, reason string) func(Gomega) []corev1.Event {
	return func(g Gomega) []corev1.Event {
		list := &corev1.EventList{}
		g.Expect(k8sClient.List(ctx, list, client.InNamespace(obj.GetNamespace()),
			client.MatchingFields{"involvedObject.uid": string(obj.GetUID()), "reason": reason})).To(Succeed())
		return list.Items
	}
}

// containing is the one text of texts that contains s.
func containing(texts []string, s string) string {
	var found []string
	for _, t := range texts {
		if strings.Contains(t, s) {
			found = append(found, t)
		}
	}
	ExpectWithOffset(1, found).To(HaveLen(1), "one text of %q contains %q", texts, s)
	return found[0]
}
