package workload

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
	"github.com/license-operator/license-operator/internal/seats"
	utiltesting "github.com/license-operator/license-operator/internal/util/testing"
)

// A Pod needing two products takes a seat for the first before it looks at
// the second; when the second cannot be decided (an error), the first seat is
// given back: the Pod is refused and must not hold it.
func TestDecideGivesSeatsBackOnError(t *testing.T) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := licensingv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	const ns = "team"
	lic := func(name, product string) *licensingv1alpha1.SoftwareLicense {
		l := utiltesting.MakeLicense(name, ns).Product(product).Obj()
		model, enf := licensingv1alpha1.SeatModelConcurrent, licensingv1alpha1.EnforcementHard
		l.Status = licensingv1alpha1.SoftwareLicenseStatus{
			State:           licensingv1alpha1.LicenseStateActive,
			Seats:           licensingv1alpha1.LicenseSeatStatus{Total: ptr.To[int32](1)},
			Product:         &licensingv1alpha1.ResolvedProduct{Name: product, Covers: []string{product}},
			EffectivePolicy: &licensingv1alpha1.EffectivePolicy{PolicySettings: licensingv1alpha1.PolicySettings{SeatModel: &model, Enforcement: &enf}},
		}
		return l
	}
	asg := func(name, licence string) *licensingv1alpha1.LicenseAssignment {
		return utiltesting.MakeAssignment(name, ns).License(licence).ServiceAccount("default").BoundTo(ns+"/"+licence, 1, time.Now()).Obj()
	}
	c := fake.NewClientBuilder().WithScheme(s).
		WithIndex(&licensingv1alpha1.SoftwareLicense{}, CoversIndex, func(o client.Object) []string {
			return o.(*licensingv1alpha1.SoftwareLicense).Status.Product.Covers
		}).
		WithObjects(utiltesting.MakeProduct("cad").Obj(), utiltesting.MakeProduct("db").Obj(), lic("cad", "cad"), lic("db", "db"), asg("a", "cad"), asg("b", "db")).
		WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			lo := &client.ListOptions{}
			lo.ApplyOptions(opts)
			if _, ok := list.(*licensingv1alpha1.SoftwareLicenseList); ok && lo.FieldSelector != nil && strings.Contains(lo.FieldSelector.String(), "db") {
				return errors.New("the cache is gone")
			}
			return c.List(ctx, list, opts...)
		}}).Build()
	h := NewHandler(c, s, &seats.Ledger{Reader: c, Writer: c, Clock: clocktesting.NewFakeClock(time.Now()), Grace: seats.LedgerGrace}, nil)
	meta := metav1.ObjectMeta{Annotations: map[string]string{licensingv1alpha1.ProductAnnotation: "cad,db"}}
	w := licensing.WorkloadFromPodSpec("Pod", "p", ns, meta, &corev1.PodSpec{}, nil)
	if _, err := h.Decide(context.Background(), &w, seats.PodRef{Namespace: ns, Name: "p", UID: "uid-p"}, false); err == nil {
		t.Fatal("Decide succeeded although the licences of db could not be listed")
	}
	l := &licensingv1alpha1.SeatLedger{}
	if err := seats.GetLedger(context.Background(), c, ns, "a", l); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(l.Spec.Entries, func(e licensingv1alpha1.SeatLedgerEntry) bool { return e.Pod == "p" }) {
		t.Errorf("the refused Pod still holds the seat of product cad: ledger %v", l.Spec.Entries)
	}
}

// The mutating Pod path decides with the requester the API server vouches
// for, not with the user annotation, and stores the Pod with that user; only
// a trusted controller's request is judged by the annotation its template
// carried, and keeps it.
func TestHandleUsesTheRequester(t *testing.T) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := licensingv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	const ns = "team"
	model, enf := licensingv1alpha1.SeatModelNamedUser, licensingv1alpha1.EnforcementHard
	lic := utiltesting.MakeLicense("named", ns).Product("cad").Obj()
	lic.Status = licensingv1alpha1.SoftwareLicenseStatus{
		State:           licensingv1alpha1.LicenseStateActive,
		Product:         &licensingv1alpha1.ResolvedProduct{Name: "cad", Covers: []string{"cad"}},
		EffectivePolicy: &licensingv1alpha1.EffectivePolicy{PolicySettings: licensingv1alpha1.PolicySettings{SeatModel: &model, Enforcement: &enf}},
	}
	asg := utiltesting.MakeAssignment("alice", ns).License("named").User("alice@example.com").BoundTo(ns+"/named", 1, time.Now()).Obj()
	c := fake.NewClientBuilder().WithScheme(s).
		WithIndex(&licensingv1alpha1.SoftwareLicense{}, CoversIndex, func(o client.Object) []string {
			return o.(*licensingv1alpha1.SoftwareLicense).Status.Product.Covers
		}).
		WithObjects(utiltesting.MakeProduct("cad").Obj(), lic, asg).Build()
	h := NewHandler(c, s, &seats.Ledger{Reader: c, Writer: c, Clock: clocktesting.NewFakeClock(time.Now()), Grace: seats.LedgerGrace}, nil)
	h.Identity = licensing.Identity{TrustedControllers: licensing.DefaultTrustedWorkloadControllers, UsernamePrefix: "oidc:"}
	podRequest := func(requester, annotated string) admission.Request {
		pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns, Annotations: map[string]string{licensingv1alpha1.ProductAnnotation: "cad"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "cad:1"}}}}
		if annotated != "" {
			pod.Annotations[licensing.UserAnnotation] = annotated
		}
		raw, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			Kind: metav1.GroupVersionKind{Kind: "Pod"}, Operation: admissionv1.Create, Namespace: ns, Name: "p",
			UserInfo: authenticationv1.UserInfo{Username: requester}, Object: runtime.RawExtension{Raw: raw},
		}}
	}
	const rsc = "system:serviceaccount:kube-system:replicaset-controller"
	cases := map[string]struct {
		req     admission.Request
		allowed bool
		says    string
		// stamped is the user the patch writes ("" when there is no patch).
		stamped string
	}{
		"bob's Pod claiming alice is bob's":                 {req: podRequest("oidc:bob@example.com", "alice@example.com"), says: "Pod runs for user bob@example.com"},
		"alice's Pod, whatever it claims":                   {req: podRequest("oidc:alice@example.com", "carol@example.com"), allowed: true, stamped: "alice@example.com"},
		"a username without the prefix is matched as it is": {req: podRequest("alice@example.com", "alice@example.com"), allowed: true},
		"the ReplicaSet controller's Pod of alice":          {req: podRequest(rsc, "alice@example.com"), allowed: true},
		"the ReplicaSet controller's Pod of bob":            {req: podRequest(rsc, "bob@example.com"), says: "Pod runs for user bob@example.com"},
		"a never-stamped Pod of a controller":               {req: podRequest(rsc, ""), says: "re-apply the workload so that its user is recorded"},
	}
	pods := &PodAdmission{Handler: h, Stamper: NewStamper(s, h.Identity)}
	for name, tc := range cases {
		resp := pods.Handle(context.Background(), tc.req)
		if resp.Allowed != tc.allowed {
			t.Errorf("%s: allowed = %v, want %v (%v)", name, resp.Allowed, tc.allowed, resp.Result)
			continue
		}
		stamped := ""
		for _, op := range resp.Patches {
			if op.Path == "/metadata/annotations/licensing.license-operator.dev~1user" {
				stamped, _ = op.Value.(string)
			}
		}
		if stamped != tc.stamped {
			t.Errorf("%s: the patch stamps user %q, want %q (patches %v)", name, stamped, tc.stamped, resp.Patches)
		}
		if tc.says != "" && !strings.Contains(resp.Result.Message, tc.says) {
			t.Errorf("%s: message %q does not say %q", name, resp.Result.Message, tc.says)
		}
	}
}

// The rollout deadlock warning follows the Deployment controller's
// arithmetic: maxUnavailable rounds down, maxSurge up, and both 0 means
// maxUnavailable 1.
func TestNoUnavailable(t *testing.T) {
	dep := func(replicas int32, surge, unavailable *intstr.IntOrString) *appsv1.Deployment {
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &replicas}}
		if surge != nil || unavailable != nil {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: surge, MaxUnavailable: unavailable}}
		}
		return d
	}
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	n := func(i int) *intstr.IntOrString { v := intstr.FromInt(i); return &v }
	recreate := dep(3, nil, nil)
	recreate.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
	for name, tc := range map[string]struct {
		obj  client.Object
		want bool
	}{
		"default 25% of 3 replicas rounds down to 0": {dep(3, nil, nil), true},
		"default 25% of 4 replicas is 1":             {dep(4, nil, nil), false},
		"25% given of 3":                             {dep(3, pct("25%"), pct("25%")), true},
		"maxUnavailable 0, maxSurge 1":               {dep(10, n(1), n(0)), true},
		"maxUnavailable 1":                           {dep(10, n(1), n(1)), false},
		"both round to 0: the controller takes 1":    {dep(3, n(0), pct("25%")), false},
		"Recreate":         {recreate, false},
		"not a Deployment": {&appsv1.StatefulSet{}, false},
	} {
		if got := noUnavailable(tc.obj); got != tc.want {
			t.Errorf("%s: noUnavailable = %v, want %v", name, got, tc.want)
		}
	}
}
