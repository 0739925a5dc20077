package controller

import (
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

// The licence controller runs DefaultLicenceConcurrency workers (the suite's
// manager uses the default). Two licences of one product compete for its
// productRef assignments; their passes run at once, each decides from its own
// view, and the resourceVersion guard of the assignment's status Update lets
// only the first binding through.
var _ = Describe("Licences reconciled at once", func() {
	It("bind an assignment two licences race for exactly once, and grant no seat twice", func() {
		Expect(DefaultLicenceConcurrency).To(BeNumerically(">", 1), "the suite's manager must reconcile licences concurrently")
		ns := newNamespace()
		wc, err := client.NewWithWatch(testEnv.Config, client.Options{Scheme: k8sClient.Scheme()})
		Expect(err).NotTo(HaveOccurred())

		// Every licence an assignment was ever seen bound to.
		var mu sync.Mutex
		seen := map[string]map[string]bool{}
		w, err := wc.Watch(ctx, &v1.LicenseAssignmentList{}, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()
		go func() {
			defer GinkgoRecover()
			for ev := range w.ResultChan() {
				a, ok := ev.Object.(*v1.LicenseAssignment)
				if !ok || ev.Type == watch.Error || a.Status.License == "" {
					continue
				}
				mu.Lock()
				if seen[a.Name] == nil {
					seen[a.Name] = map[string]bool{}
				}
				seen[a.Name][a.Status.License] = true
				mu.Unlock()
			}
		}()

		// pairs products with one productRef assignment each, raced for by
		// two one-seat licences; and one product with ten assignments raced
		// for by two three-seat licences.
		const pairs = 12
		start := fakeClock.Now().Add(-time.Hour)
		product := func(i int) string { return fmt.Sprintf("%s-race-%d", ns, i) }
		many := ns + "-race-many"
		for i := range pairs {
			Expect(k8sClient.Create(ctx, ut.MakeProduct(product(i)).Obj())).To(Succeed())
			Expect(k8sClient.Create(ctx, ut.MakeAssignment(fmt.Sprintf("a-%d", i), ns).ServiceAccount("runner").Product(product(i)).Obj())).To(Succeed())
		}
		Expect(k8sClient.Create(ctx, ut.MakeProduct(many).Obj())).To(Succeed())
		for j := range 10 {
			Expect(k8sClient.Create(ctx, ut.MakeAssignment(fmt.Sprintf("m-%d", j), ns).ServiceAccount(fmt.Sprintf("runner-%d", j)).Product(many).Obj())).To(Succeed())
		}
		// Every licence at once, so that the two of a product are reconciled together.
		var wg sync.WaitGroup
		create := func(l *v1.SoftwareLicense) {
			wg.Add(1)
			go func() {
				defer GinkgoRecover()
				defer wg.Done()
				Expect(k8sClient.Create(ctx, l)).To(Succeed())
			}()
		}
		for i := range pairs {
			for _, side := range []string{"x", "y"} {
				create(ut.MakeLicense(fmt.Sprintf("l-%d-%s", i, side), ns).Product(product(i)).Seats(1).MaxActivations(1).Start(start).Obj())
			}
		}
		for _, side := range []string{"x", "y"} {
			create(ut.MakeLicense("many-"+side, ns).Product(many).Seats(3).MaxActivations(3).Start(start).Obj())
		}
		wg.Wait()

		check := func(g Gomega) {
			used := map[string]int32{}
			var licences v1.SoftwareLicenseList
			g.Expect(k8sClient.List(ctx, &licences, client.InNamespace(ns))).To(Succeed())
			for _, l := range licences.Items {
				used[ns+"/"+l.Name] = l.Status.Seats.Used
				g.Expect(l.Status.Seats.Used).To(BeNumerically("<=", *l.Spec.Seats), "licence %s uses more seats than it has", l.Name)
			}
			var list v1.LicenseAssignmentList
			g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			holders := map[string]int32{}
			boundMany := 0
			for _, a := range list.Items {
				if a.Status.State == v1.AssignmentStateBound {
					holders[a.Status.License] += a.Status.Seats
					if a.Spec.ProductRef.Name == many {
						boundMany++
					}
				}
			}
			for i := range pairs {
				a := &v1.LicenseAssignment{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("a-%d", i)}, a)).To(Succeed())
				g.Expect(a.Status.State).To(Equal(v1.AssignmentStateBound), "assignment a-%d", i)
				x, y := fmt.Sprintf("%s/l-%d-x", ns, i), fmt.Sprintf("%s/l-%d-y", ns, i)
				g.Expect(a.Status.License).To(BeElementOf(x, y))
				g.Expect(used[x]+used[y]).To(Equal(int32(1)), "the seats used of the licences of product %d", i)
				g.Expect(used[a.Status.License]).To(Equal(int32(1)))
			}
			g.Expect(boundMany).To(Equal(6), "six of the ten assignments hold the six seats of the two licences")
			for key, n := range holders {
				g.Expect(used[key]).To(Equal(n), "licence %s counts the assignments bound to it", key)
			}
		}
		Eventually(check).Should(Succeed())
		Consistently(check, 2*time.Second).Should(Succeed())
		mu.Lock()
		defer mu.Unlock()
		for name, licences := range seen {
			Expect(licences).To(HaveLen(1), "assignment %s was bound to more than one licence: %v", name, licences)
		}
		Expect(seen).To(HaveLen(pairs + 6))
	})
})
