package seats

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// The seat ledger's writers send their updates without managedFields (half
// the bytes of a large ledger's write, docs/benchmarks.md): that is only
// right if the API server keeps the stored managedFields of an update that
// carries none, and goes on tracking the fields it writes.
var _ = Describe("A seat ledger update without managedFields", func() {
	It("keeps the stored managedFields and tracks the new entry", func() {
		ns := newNamespace()
		l := &licensingv1alpha1.SeatLedger{
			ObjectMeta: metav1.ObjectMeta{Name: "seat-ledger-a", Namespace: ns},
			Spec: licensingv1alpha1.SeatLedgerSpec{Assignment: "a", Entries: []licensingv1alpha1.SeatLedgerEntry{
				{Pod: "p-1", UID: "u-1", Admitted: metav1.Now()},
			}},
		}
		Expect(k8sClient.Create(ctx, l, client.FieldOwner("license-operator"))).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(l), l)).To(Succeed())
		Expect(l.ManagedFields).NotTo(BeEmpty())

		l.ManagedFields = nil
		l.Spec.Entries = append(l.Spec.Entries, licensingv1alpha1.SeatLedgerEntry{Pod: "p-2", UID: "u-2", Admitted: metav1.Now()})
		Expect(k8sClient.Update(ctx, l, client.FieldOwner("license-operator"))).To(Succeed())

		stored := &licensingv1alpha1.SeatLedger{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(l), stored)).To(Succeed())
		Expect(stored.Spec.Entries).To(HaveLen(2))
		Expect(stored.ManagedFields).To(HaveLen(1))
		Expect(stored.ManagedFields[0].Manager).To(Equal("license-operator"))
		Expect(stored.ManagedFields[0].FieldsV1.GetRawString()).To(ContainSubstring(`"k:{\"pod\":\"p-2\"}"`),
			"the server tracks the entry the update added")
	})
})
