package security

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// These tests run users[].manager as DESIGN.md gives it: the operator binds
// a licence's managers, with a RoleBinding the licence owns, to the
// ClusterRole config/rbac ships, and the assignment webhook keeps them to
// their own licences. Who may do what is asked of the API server's own RBAC
// authorizer, with kubectl auth can-i (the envtest kubectl) and with the
// users' own client certificates.

// installManagerRole creates the ClusterRole of config/rbac/license_manager_role.yaml
// under the name config/default gives it.
func installManagerRole() {
	raw, err := os.ReadFile(filepath.Join(ut.RepoRoot(), "config", "rbac", "license_manager_role.yaml"))
	Expect(err).NotTo(HaveOccurred())
	role := &rbacv1.ClusterRole{}
	Expect(yaml.Unmarshal(raw, role)).To(Succeed())
	role.Name = licensing.ManagerClusterRole
	if err := k8sClient.Create(ctx, role); !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
}

// adminKubeconfig is the path of a kubeconfig of a cluster administrator of
// the test API server, written once.
var adminKubeconfig string

// canI is what `kubectl auth can-i VERB RESOURCE -n NS --as USER` answers,
// run by a cluster administrator (impersonation) against the test API server.
func canI(user, verb, resource, ns string) string {
	assets, err := ut.EnvtestAssets()
	Expect(err).NotTo(HaveOccurred())
	if adminKubeconfig == "" {
		admin, err := testEnv.AddUser(envtest.User{Name: "kubectl-admin", Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		kubeconfig, err := admin.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		dir, err := os.MkdirTemp("", "security-kubeconfig-")
		Expect(err).NotTo(HaveOccurred())
		path := filepath.Join(dir, "kubeconfig")
		Expect(os.WriteFile(path, kubeconfig, 0o600)).To(Succeed())
		adminKubeconfig = path
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(assets, "kubectl"), "--kubeconfig", adminKubeconfig, "auth", "can-i", verb, resource, "-n", ns, "--as", user)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	answer := strings.TrimSpace(out.String())
	// can-i exits 1 for "no"; anything else is a failure to ask.
	if err != nil {
		Expect(answer).To(Equal("no"), "kubectl auth can-i: %v: %s", err, stderr.String())
	}
	return answer
}

// selfCan asks, as the tenant itself, whether it may do verb on resource in ns.
func selfCan(t *tenant, verb, resource, ns string) bool {
	r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Group: v1.GroupVersion.Group, Resource: resource},
	}}
	Expect(t.client.Create(ctx, r)).To(Succeed())
	return r.Status.Allowed
}

func managersBinding(g Gomega, ns string) *rbacv1.RoleBinding {
	rb := &rbacv1.RoleBinding{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: licensing.ManagerBindingName("cad")}, rb)).To(Succeed())
	return rb
}

func subjectNames(rb *rbacv1.RoleBinding) []string {
	var out []string
	for _, s := range rb.Subjects {
		out = append(out, s.Kind+":"+s.Name)
	}
	return out
}

// setUsers replaces the users of licence ns/cad, as the administrator.
func setUsers(ns string, users ...v1.LicenseUser) {
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l := &v1.SoftwareLicense{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cad"}, l); err != nil {
			return err
		}
		l.Spec.Users = users
		return k8sClient.Update(ctx, l)
	})).To(Succeed())
}

func manager(email string) v1.LicenseUser { return v1.LicenseUser{Email: email, Manager: true} }
func user(email string) v1.LicenseUser    { return v1.LicenseUser{Email: email} }

var _ = Describe("Licence managers: users[].manager", func() {
	BeforeEach(installManagerRole)

	It("binds a licence's managers to the manager ClusterRole with a RoleBinding the licence owns, and follows the licence", func() {
		ns := newNamespace()
		ann, bob := "ann-"+rand.String(4)+"@example.com", "bob-"+rand.String(4)+"@example.com"
		lic := ut.MakeLicense("cad", ns).Obj()
		lic.Spec.Users = []v1.LicenseUser{manager(ann), user(bob)}
		Expect(k8sClient.Create(ctx, lic)).To(Succeed())

		By("the binding: owned by the licence, to the predefined ClusterRole, naming the manager only")
		Eventually(func(g Gomega) {
			rb := managersBinding(g, ns)
			g.Expect(rb.RoleRef).To(Equal(rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: licensing.ManagerClusterRole}))
			g.Expect(subjectNames(rb)).To(Equal([]string{"User:" + ann}))
			g.Expect(rb.OwnerReferences).To(HaveLen(1))
			owner := rb.OwnerReferences[0]
			g.Expect(owner.UID).To(Equal(lic.UID))
			g.Expect(owner.Kind).To(Equal("SoftwareLicense"))
			g.Expect(owner.Controller).To(HaveValue(BeTrue()))
			g.Expect(owner.BlockOwnerDeletion).To(HaveValue(BeTrue()))
		}).Should(Succeed())

		By("kubectl auth can-i: the manager may manage assignments and read licences, nothing more; a mere user may not")
		Expect(canI(ann, "create", "licenseassignments.licensing.license-operator.dev", ns)).To(Equal("yes"))
		Expect(canI(ann, "delete", "licenseassignments.licensing.license-operator.dev", ns)).To(Equal("yes"))
		Expect(canI(ann, "get", "softwarelicenses.licensing.license-operator.dev", ns)).To(Equal("yes"))
		Expect(canI(ann, "update", "softwarelicenses.licensing.license-operator.dev", ns)).To(Equal("no"))
		Expect(canI(ann, "create", "softwarelicenses.licensing.license-operator.dev", ns)).To(Equal("no"))
		Expect(canI(ann, "get", "secrets", ns)).To(Equal("no"))
		Expect(canI(ann, "create", "licenseassignments.licensing.license-operator.dev", newNamespace())).To(Equal("no"), "only in the licence's namespace")
		Expect(canI(bob, "create", "licenseassignments.licensing.license-operator.dev", ns)).To(Equal("no"))
		annT := newTenant(ann)
		Expect(selfCan(annT, "create", "licenseassignments", ns)).To(BeTrue(), "the manager's own credentials")

		By("bob becomes a manager too")
		setUsers(ns, manager(ann), manager(bob))
		Eventually(func(g Gomega) {
			g.Expect(subjectNames(managersBinding(g, ns))).To(ConsistOf("User:"+ann, "User:"+bob))
		}).Should(Succeed())
		Expect(canI(bob, "create", "licenseassignments.licensing.license-operator.dev", ns)).To(Equal("yes"))

		By("ann's manager flag is removed: she may no longer")
		setUsers(ns, user(ann), manager(bob))
		Eventually(func(g Gomega) {
			g.Expect(subjectNames(managersBinding(g, ns))).To(Equal([]string{"User:" + bob}))
		}).Should(Succeed())
		Expect(canI(ann, "create", "licenseassignments.licensing.license-operator.dev", ns)).To(Equal("no"))
		Expect(selfCan(annT, "create", "licenseassignments", ns)).To(BeFalse())

		By("someone else adds a subject to the binding: it is put back")
		mallory := "mallory-" + rand.String(4)
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			rb := managersBinding(Default, ns)
			rb.Subjects = append(rb.Subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: mallory})
			return k8sClient.Update(ctx, rb)
		})).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(subjectNames(managersBinding(g, ns))).To(Equal([]string{"User:" + bob}))
		}).Should(Succeed())
		Expect(canI(mallory, "create", "licenseassignments.licensing.license-operator.dev", ns)).To(Equal("no"))

		By("someone removes the binding's label, which hides it from the operator's cache: it is put back too")
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			rb := managersBinding(Default, ns)
			delete(rb.Labels, licensing.ManagerBindingLabel)
			rb.Subjects = append(rb.Subjects, rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: mallory})
			return k8sClient.Update(ctx, rb)
		})).To(Succeed())
		Eventually(func(g Gomega) {
			rb := managersBinding(g, ns)
			g.Expect(rb.Labels).To(HaveKeyWithValue(licensing.ManagerBindingLabel, "true"))
			g.Expect(subjectNames(rb)).To(Equal([]string{"User:" + bob}))
		}).Should(Succeed())

		By("someone deletes the binding: it is created again")
		old := managersBinding(Default, ns)
		Expect(k8sClient.Delete(ctx, old)).To(Succeed())
		Eventually(func(g Gomega) {
			rb := managersBinding(g, ns)
			g.Expect(rb.UID).NotTo(Equal(old.UID))
			g.Expect(subjectNames(rb)).To(Equal([]string{"User:" + bob}))
		}).Should(Succeed())

		By("no managers left: the binding is deleted")
		setUsers(ns, user(ann), user(bob))
		Eventually(func() bool {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: licensing.ManagerBindingName("cad")}, &rbacv1.RoleBinding{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue())
		Expect(canI(bob, "create", "licenseassignments.licensing.license-operator.dev", ns)).To(Equal("no"))
	})

	It("leaves a RoleBinding of the same name that is not the licence's alone", func() {
		ns := newNamespace()
		foreign := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: licensing.ManagerBindingName("cad"), Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "someone"}},
		}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		lic := ut.MakeLicense("cad", ns).Obj()
		lic.Spec.Users = []v1.LicenseUser{manager("ann@example.com")}
		Expect(k8sClient.Create(ctx, lic)).To(Succeed())
		Eventually(func(g Gomega) []string {
			return eventNotes(g, ns, "SoftwareLicense", "cad", "ManagersBindingConflict")
		}).Should(ContainElement(ContainSubstring("RoleBinding " + foreign.Name + " exists and does not belong to this licence")))
		rb := managersBinding(Default, ns)
		Expect(rb.UID).To(Equal(foreign.UID))
		Expect(rb.RoleRef.Name).To(Equal("view"))
		Expect(subjectNames(rb)).To(Equal([]string{"User:someone"}))
	})

	It("the operator's own ClusterRole may bind the manager ClusterRole, and no role beyond its own rights (no escalate)", func() {
		// A user with exactly the rules of config/rbac/role.yaml (the
		// operator's ClusterRole as controller-gen writes it) and nothing else.
		raw, err := os.ReadFile(filepath.Join(ut.RepoRoot(), "config", "rbac", "role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		role := &rbacv1.ClusterRole{}
		Expect(yaml.Unmarshal(raw, role)).To(Succeed())
		op := newTenant("operator-like-" + rand.String(4))
		grantCluster(op.name, role.Rules...)
		Expect(role.Rules).NotTo(ContainElement(HaveField("Verbs", ContainElement("escalate"))))
		ns := newNamespace()
		binding := func(name, clusterRole string) *rbacv1.RoleBinding {
			return &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "ann@example.com"}},
			}
		}
		Expect(op.client.Create(ctx, binding("managers", licensing.ManagerClusterRole))).To(Succeed())
		err = op.client.Create(ctx, binding("escalation", "cluster-admin"))
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%v", err)
	})
})

var _ = Describe("The assignment webhook keeps a manager to their licences", func() {
	var ns, ann string
	var annT *tenant
	BeforeEach(func() {
		installManagerRole()
		ns = newNamespace()
		ann = "ann-" + rand.String(4) + "@example.com"
		cad := ut.MakeLicense("cad", ns).Obj()
		cad.Spec.Users = []v1.LicenseUser{manager(ann)}
		Expect(k8sClient.Create(ctx, cad)).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeLicense("other", ns).Obj())).To(Succeed())
		annT = newTenant(ann)
		// ann holds her rights through the managers' binding alone.
		Eventually(func() bool { return selfCan(annT, "create", "licenseassignments", ns) }).Should(BeTrue())
	})

	It("lets a manager create and change assignments of their licence only", func() {
		By("for her licence: allowed")
		mine := ut.MakeAssignment("mine", ns).License("cad").ServiceAccount("ci").Obj()
		Expect(annT.client.Create(ctx, mine)).To(Succeed())

		By("for another licence: refused, naming spec.licenseRef and the licences she manages")
		err := annT.client.Create(ctx, ut.MakeAssignment("theirs", ns).License("other").ServiceAccount("ci").Obj())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.licenseRef"))
		Expect(err.Error()).To(ContainSubstring("a licence they manage (" + ns + "/cad)"))
		Expect(err.Error()).To(ContainSubstring("it names " + ns + "/other"))

		By("with a productRef: refused, naming spec.licenseRef")
		err = annT.client.Create(ctx, ut.MakeAssignment("any", ns).Product("cad").ServiceAccount("ci").Obj())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.licenseRef: Required value"))
		Expect(err.Error()).To(ContainSubstring("this assignment names spec.productRef instead"))

		By("changing her assignment's licenseRef to another licence: refused")
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			a := getAssignment(Default, ns, "mine")
			a.Spec.LicenseRef.Name = "other"
			return annT.client.Update(ctx, a)
		})
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec.licenseRef"))
		Expect(getAssignment(Default, ns, "mine").Spec.LicenseRef.Name).To(Equal("cad"))

		By("changing an assignment of another licence: refused")
		Expect(k8sClient.Create(ctx, ut.MakeAssignment("admins", ns).License("other").ServiceAccount("ci").Obj())).To(Succeed())
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			a := getAssignment(Default, ns, "admins")
			a.Spec.Seats = 3
			return annT.client.Update(ctx, a)
		})
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec.licenseRef"))
		Expect(err.Error()).To(ContainSubstring("it names " + ns + "/other"))
		Expect(getAssignment(Default, ns, "admins").Spec.Seats).To(Equal(int32(1)))

		By("changing her own assignment: allowed")
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			a := getAssignment(Default, ns, "mine")
			a.Spec.Seats = 2
			return annT.client.Update(ctx, a)
		})).To(Succeed())

		By("deleting an assignment of another licence: refused, and it stays")
		err = annT.client.Delete(ctx, getAssignment(Default, ns, "admins"))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("create, change or delete only the assignments"))
		Expect(err.Error()).To(ContainSubstring("it names " + ns + "/other"))
		Expect(getAssignment(Default, ns, "admins").DeletionTimestamp).To(BeNil())

		By("deleting her own: allowed")
		Expect(annT.client.Delete(ctx, getAssignment(Default, ns, "mine"))).To(Succeed())
	})

	It("does not limit a manager who may create licences, nor a user whose rights come from other RBAC", func() {
		By("a namespace editor who is also a manager: any licence, or a product")
		eve := "eve-" + rand.String(4) + "@example.com"
		setUsers(ns, manager(ann), manager(eve))
		eveT := newTenant(eve)
		grant(eve, ns, editorRules...)
		Expect(eveT.client.Create(ctx, ut.MakeAssignment("eve-other", ns).License("other").ServiceAccount("ci").Obj())).To(Succeed())
		Expect(eveT.client.Create(ctx, ut.MakeAssignment("eve-any", ns).Product("cad").ServiceAccount("ci").Obj())).To(Succeed())
		Expect(eveT.client.Delete(ctx, getAssignment(Default, ns, "eve-other"))).To(Succeed())

		By("a user who may write assignments through a Role of their own and manages nothing: any licence")
		dan := newTenant("dan-" + rand.String(4))
		grant(dan.name, ns, rbacv1.PolicyRule{APIGroups: []string{v1.GroupVersion.Group}, Resources: []string{"licenseassignments"}, Verbs: []string{"*"}})
		Expect(dan.client.Create(ctx, ut.MakeAssignment("dan-other", ns).License("other").ServiceAccount("ci").Obj())).To(Succeed())
		Expect(dan.client.Delete(ctx, getAssignment(Default, ns, "dan-other"))).To(Succeed())
	})
})
