package controller

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

var seq atomic.Int64

// unique gives every test its own names.
func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

// newNamespace creates a namespace for one test.
func newNamespace() string {
	GinkgoHelper()
	ns := unique("ns")
	Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	return ns
}

// touchAnnotation is changed by tests to trigger a reconcile after they
// moved the fake clock.
const touchAnnotation = v1.LabelPrefix + "test-touch"

// touch changes an annotation of the licence so that it is reconciled.
func touch(ns, name string) {
	GinkgoHelper()
	Eventually(func() error {
		l := &v1.SoftwareLicense{}
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, l); err != nil {
			return err
		}
		if l.Annotations == nil {
			l.Annotations = map[string]string{}
		}
		l.Annotations[touchAnnotation] = fmt.Sprint(seq.Add(1))
		return k8sClient.Update(ctx, l)
	}).Should(Succeed())
}

func getLicense(ns, name string) func() (*v1.SoftwareLicense, error) {
	return func() (*v1.SoftwareLicense, error) {
		l := &v1.SoftwareLicense{}
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, l)
		return l, err
	}
}

func state(l *v1.SoftwareLicense) v1.LicenseState { return l.Status.State }

// licenseEvents lists the events.k8s.io Events about a licence, by reason.
func licenseEvents(ns, name string) func() (map[string]int, error) {
	return func() (map[string]int, error) {
		var list eventsv1.EventList
		if err := k8sClient.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		out := map[string]int{}
		for _, e := range list.Items {
			if e.Regarding.Kind == "SoftwareLicense" && e.Regarding.Name == name {
				count := 1
				if e.Series != nil {
					count = int(e.Series.Count)
				}
				out[e.Reason] += count
			}
		}
		return out, nil
	}
}

var _ = Describe("SoftwareLicense controller", func() {
	It("writes the status of a new licence, so that kubectl wait --for=condition=Ready works", func() {
		ns := newNamespace()
		product := unique("cad")
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Vendor("Acme").Authorization(v1.AuthorizationUser).
			Policy(ut.MakePolicy("std").Type(v1.LicenseTypeTimeLimited).ValidDuration("1y").Obj()).DefaultPolicy("std").
			Pricing("100", "EUR", "1y").Obj())).To(Succeed())
		start := fakeClock.Now().Add(-time.Hour)
		Expect(k8sClient.Create(ctx, ut.MakeLicense("cad-1", ns).Product(product).Seats(4).Start(start).Obj())).To(Succeed())

		admin, err := testEnv.ControlPlane.AddUser(envtest.User{Name: "kubectl-wait", Groups: []string{"system:masters"}}, nil)
		Expect(err).NotTo(HaveOccurred())
		kubectl, err := admin.Kubectl()
		Expect(err).NotTo(HaveOccurred())
		kubectl.Path = filepath.Join(assets, "kubectl")
		stdout, stderr, err := kubectl.Run("wait", "--for=condition=Ready", "--timeout=60s", "-n", ns, "softwarelicense/cad-1")
		out, _ := io.ReadAll(stdout)
		errOut, _ := io.ReadAll(stderr)
		Expect(err).NotTo(HaveOccurred(), "kubectl wait: %s %s", out, errOut)
		Expect(string(out)).To(ContainSubstring("condition met"))

		l, err := getLicense(ns, "cad-1")()
		Expect(err).NotTo(HaveOccurred())
		st := l.Status
		Expect(st.ObservedGeneration).To(Equal(l.Generation))
		Expect(st.State).To(Equal(v1.LicenseStateActive))
		Expect(st.Compliance).To(Equal(v1.ComplianceCompliant))
		Expect(st.Seats).To(Equal(v1.LicenseSeatStatus{Total: ptr.To[int32](4), Used: 0, Available: ptr.To[int32](4)}))
		Expect(st.Product).To(Equal(&v1.ResolvedProduct{Name: product, DisplayName: product, Vendor: "Acme",
			Authorization: v1.AuthorizationUser, Covers: []string{product}}))
		Expect(st.EffectivePolicy.Code).To(Equal("std"))
		Expect(st.EffectivePolicy.Sources).To(HaveKeyWithValue("validDuration", v1.PolicySource("Policy/std")))
		Expect(st.EffectivePolicy.Sources).To(HaveKeyWithValue("seatModel", v1.PolicySource("Default")))
		Expect(st.ValidFrom.Time).To(BeTemporally("==", start.Truncate(time.Second)))
		Expect(st.ValidUntil.Time).To(BeTemporally("==", start.Truncate(time.Second).AddDate(1, 0, 0)))
		Expect(st.Cost).To(Equal(&v1.CostStatus{UnitPrice: "100.00", Total: "400.00", Currency: "EUR", Period: "1y"}))
		for _, typ := range []string{"Ready", "Stalled", "PolicyResolved", "Expired", "ExpiringSoon", "InGracePeriod", "OverAllocated", "UnderUtilized", "SeatsExhausted"} {
			c := meta.FindStatusCondition(st.Conditions, typ)
			Expect(c).NotTo(BeNil(), "condition %s", typ)
			Expect(c.ObservedGeneration).To(Equal(l.Generation), "condition %s", typ)
		}
		Eventually(func(g Gomega) {
			p := &v1.LicenseProduct{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: product}, p)).To(Succeed())
			g.Expect(p.Status.Licenses).To(Equal(int32(1)))
			g.Expect(p.Status.Seats.Total).To(Equal(ptr.To[int32](4)))
		}).Should(Succeed())
	})

	It("reports a missing product and recovers when it is created", func() {
		ns := newNamespace()
		product := unique("late")
		Expect(k8sClient.Create(ctx, ut.MakeLicense("l", ns).Product(product).Start(fakeClock.Now()).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			l, err := getLicense(ns, "l")()
			g.Expect(err).NotTo(HaveOccurred())
			c := meta.FindStatusCondition(l.Status.Conditions, v1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1.ReasonProductNotFound))
			g.Expect(meta.IsStatusConditionTrue(l.Status.Conditions, v1.ConditionStalled)).To(BeTrue())
		}).Should(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Authorization(v1.AuthorizationUser).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			l, err := getLicense(ns, "l")()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(meta.IsStatusConditionTrue(l.Status.Conditions, v1.ConditionReady)).To(BeTrue())
			g.Expect(meta.IsStatusConditionFalse(l.Status.Conditions, v1.ConditionStalled)).To(BeTrue())
		}).Should(Succeed())
	})

	It("carries a change of the product's policy into its licences", func() {
		ns := newNamespace()
		product := unique("pol")
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Authorization(v1.AuthorizationUser).
			Policy(ut.MakePolicy("std").Type(v1.LicenseTypeTimeLimited).ValidDuration("1y").Obj()).DefaultPolicy("std").Obj())).To(Succeed())
		start := fakeClock.Now().Truncate(time.Second)
		for _, name := range []string{"a", "b"} {
			Expect(k8sClient.Create(ctx, ut.MakeLicense(name, ns).Product(product).Start(start).Obj())).To(Succeed())
			Eventually(getLicense(ns, name)).Should(WithTransform(func(l *v1.SoftwareLicense) time.Time {
				if l.Status.ValidUntil == nil {
					return time.Time{}
				}
				return l.Status.ValidUntil.Time
			}, BeTemporally("==", start.AddDate(1, 0, 0))))
		}

		Eventually(func() error {
			p := &v1.LicenseProduct{}
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: product}, p); err != nil {
				return err
			}
			p.Spec.Policies[0].ValidDuration = ptr.To(v1.CalendarDuration("3m"))
			p.Spec.Policies[0].SeatModel = ptr.To(v1.SeatModelNamedUser)
			return k8sClient.Update(ctx, p)
		}).Should(Succeed())
		for _, name := range []string{"a", "b"} {
			Eventually(func(g Gomega) {
				l, err := getLicense(ns, name)()
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(l.Status.ValidUntil.Time).To(BeTemporally("==", licensing.MustParseDuration("3m").AddTo(start)))
				g.Expect(*l.Status.EffectivePolicy.SeatModel).To(Equal(v1.SeatModelNamedUser))
			}).Should(Succeed())
		}
	})

	It("moves through every state at its boundaries and announces each transition exactly once", func() {
		ns := newNamespace()
		product := unique("life")
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Authorization(v1.AuthorizationUser).
			Policy(ut.MakePolicy("short").Type(v1.LicenseTypeTimeLimited).ValidDuration("5min").
				ExpiringSoonWindow("1min").GracePeriod("2min").Obj()).DefaultPolicy("short").Obj())).To(Succeed())
		start := fakeClock.Now().Truncate(time.Second).Add(time.Minute)
		Expect(k8sClient.Create(ctx, ut.MakeLicense("l", ns).Product(product).Start(start).Obj())).To(Succeed())
		Eventually(getLicense(ns, "l")).Should(WithTransform(state, Equal(v1.LicenseStatePending)))

		for _, step := range []struct {
			at    time.Time
			state v1.LicenseState
		}{
			{start.Add(-time.Second), v1.LicenseStatePending},
			{start, v1.LicenseStateActive},
			{start.Add(4 * time.Minute), v1.LicenseStateExpiringSoon},
			{start.Add(5 * time.Minute), v1.LicenseStateInGracePeriod},
			{start.Add(7*time.Minute - time.Second), v1.LicenseStateInGracePeriod},
			{start.Add(7 * time.Minute), v1.LicenseStateExpired},
		} {
			fakeClock.SetTime(step.at)
			touch(ns, "l")
			Eventually(getLicense(ns, "l")).Should(WithTransform(state, Equal(step.state)), "at %s", step.at)
		}
		l, err := getLicense(ns, "l")()
		Expect(err).NotTo(HaveOccurred())
		Expect(meta.IsStatusConditionTrue(l.Status.Conditions, v1.ConditionExpired)).To(BeTrue())
		// Expired is a state of the licence, not a broken object: it stays Ready and not Stalled.
		Expect(meta.IsStatusConditionTrue(l.Status.Conditions, v1.ConditionReady)).To(BeTrue())
		Expect(meta.IsStatusConditionFalse(l.Status.Conditions, v1.ConditionStalled)).To(BeTrue())

		want := map[string]int{EventExpiringSoon: 1, EventInGracePeriod: 1, EventExpired: 1}
		Eventually(licenseEvents(ns, "l")).Should(Equal(want))
		// Touch once more at the same instant: nothing changes, nothing is announced again.
		touch(ns, "l")
		Consistently(licenseEvents(ns, "l"), 2*time.Second, 200*time.Millisecond).Should(Equal(want))

		var list eventsv1.EventList
		Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		for _, e := range list.Items {
			Expect(e.Type).To(Equal(corev1.EventTypeWarning), "event %s", e.Reason)
			Expect(e.ReportingController).To(Equal("softwarelicense-controller"))
		}
	})

	It("generates a key into a Secret it owns; the fingerprint shows, the key shows nowhere", func() {
		ns := newNamespace()
		product := unique("keyed")
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Obj())).To(Succeed()) // Key authorisation
		// Expired at once, so an event is emitted too and can be searched for the key.
		Expect(k8sClient.Create(ctx, ut.MakeLicense("k", ns).Product(product).
			Start(fakeClock.Now().Add(-48*time.Hour)).Expiry(fakeClock.Now().Add(-24*time.Hour)).Obj())).To(Succeed())

		secret := &corev1.Secret{}
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "k-license-key"}, secret)
		}).Should(Succeed())
		key := secret.Data[KeySecretDataKey]
		Expect(string(key)).To(MatchRegexp(licensing.KeyPattern))
		l, err := getLicense(ns, "k")()
		Expect(err).NotTo(HaveOccurred())
		Expect(metav1.IsControlledBy(secret, l)).To(BeTrue(), "the generated Secret is not owned by the licence")
		Expect(secret.Labels).To(HaveKeyWithValue(KeySecretLabel, "true"))

		Eventually(getLicense(ns, "k")).Should(WithTransform(func(l *v1.SoftwareLicense) string { return l.Status.KeyFingerprint },
			Equal(licensing.KeyFingerprint(key))))
		Eventually(licenseEvents(ns, "k")).Should(HaveKeyWithValue(EventExpired, 1))

		l, err = getLicense(ns, "k")()
		Expect(err).NotTo(HaveOccurred())
		Expect(l.Status.KeySecretName).To(Equal("k-license-key"))
		raw, err := json.Marshal(l)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(raw)).NotTo(ContainSubstring(string(key)))
		var list eventsv1.EventList
		Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		Expect(list.Items).NotTo(BeEmpty())
		for _, e := range list.Items {
			rawEvent, err := json.Marshal(e)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(rawEvent)).NotTo(ContainSubstring(string(key)))
		}

		// Deleting the Secret generates a new key: the way to rotate it.
		Expect(k8sClient.Delete(ctx, secret)).To(Succeed())
		Eventually(func(g Gomega) {
			s := &corev1.Secret{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "k-license-key"}, s)).To(Succeed())
			g.Expect(s.Data[KeySecretDataKey]).NotTo(Equal(key))
			l, err := getLicense(ns, "k")()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(l.Status.KeyFingerprint).To(Equal(licensing.KeyFingerprint(s.Data[KeySecretDataKey])))
		}).Should(Succeed())
	})

	It("never overwrites a Secret of the generated name that it does not own", func() {
		ns := newNamespace()
		product := unique("keyed")
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "k-license-key", Namespace: ns},
			StringData: map[string]string{"license-key": "MINE-DO-NOT-TOUCH"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeLicense("k", ns).Product(product).Start(fakeClock.Now()).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			l, err := getLicense(ns, "k")()
			g.Expect(err).NotTo(HaveOccurred())
			c := meta.FindStatusCondition(l.Status.Conditions, v1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(v1.ReasonKeyNotFound))
			g.Expect(c.Message).To(ContainSubstring("is not owned by this licence"))
		}).Should(Succeed())
		s := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "k-license-key"}, s)).To(Succeed())
		Expect(string(s.Data["license-key"])).To(Equal("MINE-DO-NOT-TOUCH"))
		Expect(s.OwnerReferences).To(BeEmpty())
	})

	It("fingerprints a user's Secret: a labelled one's change shows at once, an unlabelled one's at the next reconcile", func() {
		ns := newNamespace()
		for _, labelled := range []bool{true, false} {
			name := fmt.Sprintf("user-%v", labelled)
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				StringData: map[string]string{"license-key": "FIRST-" + name}}
			if labelled {
				secret.Labels = map[string]string{KeySecretLabel: "true"}
			}
			Expect(k8sClient.Create(ctx, secret)).To(Succeed())
			Expect(k8sClient.Create(ctx, ut.MakeLicense(name, ns).KeySecret(name, "").Start(fakeClock.Now()).Obj())).To(Succeed())
			Eventually(getLicense(ns, name)).Should(WithTransform(func(l *v1.SoftwareLicense) string { return l.Status.KeyFingerprint },
				Equal(licensing.KeyFingerprint([]byte("FIRST-"+name)))))

			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(secret), secret)).To(Succeed())
			secret.Data = map[string][]byte{"license-key": []byte("SECOND-" + name)}
			Expect(k8sClient.Update(ctx, secret)).To(Succeed())
			second := licensing.KeyFingerprint([]byte("SECOND-" + name))
			fingerprint := WithTransform(func(l *v1.SoftwareLicense) string { return l.Status.KeyFingerprint }, Equal(second))
			if labelled {
				Eventually(getLicense(ns, name)).Should(fingerprint)
				continue
			}
			// Unwatched: unchanged until something reconciles the licence.
			Consistently(getLicense(ns, name), 2*time.Second, 200*time.Millisecond).ShouldNot(fingerprint)
			touch(ns, name)
			Eventually(getLicense(ns, name)).Should(fingerprint)
		}
	})

	It("checks the key against the fingerprint the issuing platform gave, and generates none in its place", func() {
		ns := newNamespace()
		issued := licensing.KeyFingerprint([]byte("ACME-XK4T-9PQ2-LM7R-WV3N"))
		ready := func(name string) func() (*metav1.Condition, error) {
			return func() (*metav1.Condition, error) {
				l, err := getLicense(ns, name)()
				if err != nil {
					return nil, err
				}
				return meta.FindStatusCondition(l.Status.Conditions, v1.ConditionReady), nil
			}
		}

		By("a Secret that holds another key: not Ready, KeyMismatch, both fingerprints named")
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "acme-key", Namespace: ns, Labels: map[string]string{KeySecretLabel: "true"}},
			StringData: map[string]string{"license-key": "ACME-TYPO-9PQ2-LM7R-WV3N"}}
		Expect(k8sClient.Create(ctx, secret)).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeLicense("acme", ns).KeySecret("acme-key", "").IssuedKey(issued).Start(fakeClock.Now()).Obj())).To(Succeed())
		Eventually(ready("acme")).Should(And(
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", v1.ReasonKeyMismatch),
			HaveField("Message", And(ContainSubstring(issued), ContainSubstring(licensing.KeyFingerprint([]byte("ACME-TYPO-9PQ2-LM7R-WV3N")))))))

		By("the issued key: Ready")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(secret), secret)).To(Succeed())
		secret.Data = map[string][]byte{"license-key": []byte("ACME-XK4T-9PQ2-LM7R-WV3N")}
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())
		Eventually(ready("acme")).Should(HaveField("Status", metav1.ConditionTrue))
		Eventually(getLicense(ns, "acme")).Should(HaveField("Status.KeyFingerprint", issued))

		By("a Key product's licence with an issued key and no spec.key: no key generated, KeyNotFound")
		product := unique("keyed")
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeLicense("issued", ns).Product(product).IssuedKey(issued).Start(fakeClock.Now()).Obj())).To(Succeed())
		Eventually(ready("issued")).Should(And(HaveField("Reason", v1.ReasonKeyNotFound),
			HaveField("Message", ContainSubstring("generates no key"))))
		Consistently(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "issued-license-key"}, &corev1.Secret{}))
		}, time.Second, 100*time.Millisecond).Should(BeTrue())
	})
})

var _ = Describe("LicenseProduct controller", func() {
	It("is Ready only when its bundle members exist, and follows them", func() {
		member := unique("member")
		bundle := unique("bundle")
		Expect(k8sClient.Create(ctx, ut.MakeProduct(bundle).Bundle(member).Obj())).To(Succeed())
		readyReason := func() (string, error) {
			p := &v1.LicenseProduct{}
			if err := k8sClient.Get(ctx, client.ObjectKey{Name: bundle}, p); err != nil {
				return "", err
			}
			c := meta.FindStatusCondition(p.Status.Conditions, v1.ConditionReady)
			if c == nil {
				return "", nil
			}
			return string(c.Status) + "/" + c.Reason, nil
		}
		Eventually(readyReason).Should(Equal("False/BundleMemberNotFound"))
		Expect(k8sClient.Create(ctx, ut.MakeProduct(member).Obj())).To(Succeed())
		Eventually(readyReason).Should(Equal("True/Resolved"))
		Expect(k8sClient.Delete(ctx, &v1.LicenseProduct{ObjectMeta: metav1.ObjectMeta{Name: member}})).To(Succeed())
		Eventually(readyReason).Should(Equal("False/BundleMemberNotFound"))
	})

	It("counts its licences and sums their seats", func() {
		ns := newNamespace()
		product := unique("count")
		Expect(k8sClient.Create(ctx, ut.MakeProduct(product).Authorization(v1.AuthorizationUser).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeLicense("a", ns).Product(product).Seats(3).Obj())).To(Succeed())
		Expect(k8sClient.Create(ctx, ut.MakeLicense("b", ns).Product(product).Seats(4).Obj())).To(Succeed())
		seats := func() (v1.LicenseProductStatus, error) {
			p := &v1.LicenseProduct{}
			err := k8sClient.Get(ctx, client.ObjectKey{Name: product}, p)
			return p.Status, err
		}
		Eventually(seats).Should(And(
			WithTransform(func(s v1.LicenseProductStatus) int32 { return s.Licenses }, Equal(int32(2))),
			WithTransform(func(s v1.LicenseProductStatus) v1.SeatCounts { return s.Seats },
				Equal(v1.SeatCounts{Total: ptr.To[int32](7), Available: ptr.To[int32](7)}))))

		Expect(k8sClient.Create(ctx, ut.MakeLicense("site", ns).Product(product).Obj())).To(Succeed())
		Eventually(seats).Should(WithTransform(func(s v1.LicenseProductStatus) v1.SeatCounts { return s.Seats },
			Equal(v1.SeatCounts{})))
		Expect(k8sClient.Delete(ctx, &v1.SoftwareLicense{ObjectMeta: metav1.ObjectMeta{Name: "site", Namespace: ns}})).To(Succeed())
		Eventually(seats).Should(WithTransform(func(s v1.LicenseProductStatus) int32 { return s.Licenses }, Equal(int32(2))))
		Eventually(func() bool {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "site"}, &v1.SoftwareLicense{})
			return apierrors.IsNotFound(err)
		}).Should(BeTrue())
	})
})
