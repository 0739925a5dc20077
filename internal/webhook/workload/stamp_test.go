package workload

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/license-operator/license-operator/internal/licensing"
)

// The Stamper writes the user annotation of the Pod or of the pod template
// (never of the workload object itself) as licensing.Identity.StampFor says,
// as a JSON patch, and leaves a trusted controller's request alone.
func TestStamperPatches(t *testing.T) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	st := NewStamper(s, licensing.Identity{TrustedControllers: licensing.DefaultTrustedWorkloadControllers, UsernamePrefix: "oidc:"})
	deployment := func(image, user string) *appsv1.Deployment {
		d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "team"}}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "main", Image: image}}
		if user != "" {
			d.Spec.Template.Annotations = map[string]string{licensing.UserAnnotation: user}
		}
		return d
	}
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team",
		Annotations: map[string]string{licensing.UserAnnotation: "alice@example.com"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "cad:1"}}}}
	request := func(kind string, op admissionv1.Operation, user string, obj, old runtime.Object) admission.Request {
		raw := func(o runtime.Object) runtime.RawExtension {
			if o == nil {
				return runtime.RawExtension{}
			}
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			return runtime.RawExtension{Raw: b}
		}
		return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			Kind: metav1.GroupVersionKind{Kind: kind}, Operation: op, Namespace: "team",
			UserInfo: authenticationv1.UserInfo{Username: user}, Object: raw(obj), OldObject: raw(old),
		}}
	}
	cases := map[string]struct {
		req   admission.Request
		patch []string // the paths patched
	}{
		"bob's Pod with alice's name written is stamped bob": {
			req:   request("Pod", admissionv1.Create, "oidc:bob@example.com", pod, nil),
			patch: []string{"replace /metadata/annotations/licensing.license-operator.dev~1user"},
		},
		"alice's Pod with her own name needs no patch": {
			req: request("Pod", admissionv1.Create, "oidc:alice@example.com", pod, nil),
		},
		"the ReplicaSet controller's Pod keeps the template's user": {
			req: request("Pod", admissionv1.Create, "system:serviceaccount:kube-system:replicaset-controller", pod, nil),
		},
		"alice's Deployment gets her name in the template": {
			req:   request("Deployment", admissionv1.Create, "oidc:alice@example.com", deployment("cad:1", ""), nil),
			patch: []string{"add /spec/template/metadata/annotations"},
		},
		"bob's image edit re-stamps the template": {
			req:   request("Deployment", admissionv1.Update, "oidc:bob@example.com", deployment("cad:2", "alice@example.com"), deployment("cad:1", "alice@example.com")),
			patch: []string{"replace /spec/template/metadata/annotations/licensing.license-operator.dev~1user"},
		},
		"bob's scale keeps alice": {
			req: request("Deployment", admissionv1.Update, "oidc:bob@example.com", deployment("cad:1", "alice@example.com"), deployment("cad:1", "alice@example.com")),
		},
	}
	for name, c := range cases {
		resp := st.Handle(context.Background(), c.req)
		if !resp.Allowed {
			t.Errorf("%s: refused: %+v", name, resp.Result)
			continue
		}
		var got []string
		for _, p := range resp.Patches {
			got = append(got, p.Operation+" "+p.Path)
		}
		if diff := cmp.Diff(c.patch, got); diff != "" {
			t.Errorf("%s: patches (-want +got):\n%s", name, diff)
		}
	}
}
