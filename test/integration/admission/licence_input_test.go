package admission

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

var _ = Describe("A licence of a user-based product", func() {
	It("is refused without users, naming spec.users, and accepted with one", func() {
		ns := newNamespace()
		product := ns + "-cad"
		createProduct(utiltesting.MakeProduct(product).Authorization(licensingv1alpha1.AuthorizationUser).Obj())

		err := k8sClient.Create(ctx, utiltesting.MakeLicense("nobody", ns).Product(product).Seats(5).Obj())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(And(ContainSubstring("spec.users"), ContainSubstring("authorizes by User"), ContainSubstring("add at least one")))

		Expect(k8sClient.Create(ctx, utiltesting.MakeLicense("ada", ns).Product(product).Seats(5).Users("ada@example.com").Obj())).To(Succeed())
	})
})
