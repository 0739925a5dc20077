//go:build e2e

package cluster

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
	"github.com/license-operator/license-operator/test/kubecluster"
)

var _ = Describe("Licence managers", func() {
	It("lose their RoleBinding with the licence: the garbage collector removes it", func() {
		const ns = "e2e-managers"
		Expect(k8sClient.Create(ctx, kubecluster.MakeNamespace(ns, nil))).To(Succeed())
		lic := utiltesting.MakeLicense("cad", ns).Obj()
		lic.Spec.Users = []licensingv1alpha1.LicenseUser{{Email: "ann@example.com", Manager: true}}
		Expect(k8sClient.Create(ctx, lic)).To(Succeed())
		key := types.NamespacedName{Namespace: ns, Name: licensing.ManagerBindingName("cad")}
		Eventually(func() error { return k8sClient.Get(ctx, key, &rbacv1.RoleBinding{}) }).Should(Succeed())

		Expect(k8sClient.Delete(ctx, lic)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key, &rbacv1.RoleBinding{}))
		}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(BeTrue())
	})
})
