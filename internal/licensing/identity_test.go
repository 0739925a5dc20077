package licensing

import (
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/config/crd"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	rsc   = "system:serviceaccount:kube-system:replicaset-controller"
)

// tmpl is a pod template running image with the given annotations (key, value, ...).
func tmpl(image string, kv ...string) *corev1.PodTemplateSpec {
	t := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}}}
	if len(kv) > 0 {
		t.Annotations = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			t.Annotations[kv[i]] = kv[i+1]
		}
	}
	return t
}

func TestIdentityTrusted(t *testing.T) {
	id := DefaultIdentity()
	cases := map[string]bool{
		"system:kube-controller-manager": true,
		rsc:                              true,
		"system:serviceaccount:kube-system:deployment-controller":  true,
		"system:serviceaccount:kube-system:job-controller":         true,
		"system:serviceaccount:kube-system:cronjob-controller":     true,
		"system:serviceaccount:kube-system:statefulset-controller": true,
		"system:serviceaccount:kube-system:daemon-set-controller":  true,
		// Another namespace's ServiceAccount of the same name is a tenant's.
		"system:serviceaccount:team:replicaset-controller":            false,
		"system:serviceaccount:kube-system:generic-garbage-collector": false,
		"system:serviceaccount:argocd:argocd-application-controller":  false,
		alice:                   false,
		"":                      false,
		DefaultOperatorUsername: false,
		"system:serviceaccount:kube-system:replicaset-controller-imposter": false,
	}
	for user, want := range cases {
		if got := id.Trusted(user); got != want {
			t.Errorf("Trusted(%q) = %v, want %v", user, got, want)
		}
	}
	custom := Identity{TrustedControllers: []string{"system:serviceaccount:ops:my-controller"}}
	if !custom.Trusted("system:serviceaccount:ops:my-controller") || custom.Trusted(rsc) {
		t.Errorf("a configured list replaces the default one")
	}
}

func TestLicenceUser(t *testing.T) {
	cases := []struct {
		prefix, username, want string
	}{
		{"", alice, alice},
		{"oidc:", "oidc:" + alice, alice},
		// Only a leading prefix is stripped; a username without it is itself.
		{"oidc:", alice, alice},
		{"oidc:", "x-oidc:" + alice, "x-oidc:" + alice},
		// Matching is exact: the case is kept.
		{"", "Alice@Example.com", "Alice@Example.com"},
	}
	for _, c := range cases {
		if got := (Identity{UsernamePrefix: c.prefix}).LicenceUser(c.username); got != c.want {
			t.Errorf("prefix %q: LicenceUser(%q) = %q, want %q", c.prefix, c.username, got, c.want)
		}
	}
}

func TestCanHoldNamedSeat(t *testing.T) {
	cases := map[string]bool{
		alice:                true,
		"Alice@Example.com":  true,
		"ops+ci@example.org": true,
		// A ServiceAccount (a GitOps controller's, a pipeline's) is no person.
		"system:serviceaccount:argocd:argocd-application-controller": false,
		"system:serviceaccount:ci:deployer":                          false,
		// A certificate user without an '@', and what the CRDs refuse.
		"alice":              false,
		"":                   false,
		"a@b@example.com":    false,
		"alice @example.com": false,
		"@example.com":       false,
		"alice@":             false,
	}
	for user, want := range cases {
		if got := CanHoldNamedSeat(user); got != want {
			t.Errorf("CanHoldNamedSeat(%q) = %v, want %v", user, got, want)
		}
	}
}

// TestEmailPatternIsTheCRDs: every email of a licence user or a user assignee
// in the CRDs has EmailPattern, so that CanHoldNamedSeat says what the API
// server accepts.
func TestEmailPatternIsTheCRDs(t *testing.T) {
	for file, fields := range map[string][]string{
		"licensing.license-operator.dev_softwarelicenses.yaml":   {"users"},
		"licensing.license-operator.dev_licenseassignments.yaml": {"assignee"},
	} {
		data, err := fs.ReadFile(crd.Bases, "bases/"+file)
		if err != nil {
			t.Fatal(err)
		}
		def := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, def); err != nil {
			t.Fatal(err)
		}
		spec := def.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"]
		for _, f := range fields {
			prop := spec.Properties[f]
			if prop.Items != nil {
				prop = *prop.Items.Schema
			} else {
				prop = prop.Properties["user"]
			}
			if got := prop.Properties["email"].Pattern; got != EmailPattern {
				t.Errorf("%s: spec.%s email pattern %q, want EmailPattern %q", file, f, got, EmailPattern)
			}
		}
	}
}

func TestChangesWhatRuns(t *testing.T) {
	base := func() *corev1.PodTemplateSpec {
		t := tmpl("cad:1", licensingv1alpha1.ProductAnnotation, "cad", UserAnnotation, alice)
		t.Labels = map[string]string{"app": "cad"}
		t.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "setup:1"}}
		return t
	}
	cases := map[string]struct {
		change func(*corev1.PodTemplateSpec)
		want   bool
	}{
		"nothing": {func(*corev1.PodTemplateSpec) {}, false},
		"label":   {func(t *corev1.PodTemplateSpec) { t.Labels["tier"] = "web" }, false},
		"rollout restart": {func(t *corev1.PodTemplateSpec) {
			t.Annotations["kubectl.kubernetes.io/restartedAt"] = "2026-12-02T15:00:00Z"
		}, false},
		"resources":  {func(t *corev1.PodTemplateSpec) { t.Spec.Containers[0].Args = []string{"-v"} }, false},
		"image":      {func(t *corev1.PodTemplateSpec) { t.Spec.Containers[0].Image = "cad:2" }, true},
		"init image": {func(t *corev1.PodTemplateSpec) { t.Spec.InitContainers[0].Image = "setup:2" }, true},
		"added container": {func(t *corev1.PodTemplateSpec) {
			t.Spec.Containers = append(t.Spec.Containers, corev1.Container{Name: "side", Image: "x"})
		}, true},
		"ephemeral container": {func(t *corev1.PodTemplateSpec) {
			t.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox"}}}
		}, true},
		"product":        {func(t *corev1.PodTemplateSpec) { t.Annotations[licensingv1alpha1.ProductAnnotation] = "cad,db" }, true},
		"features added": {func(t *corev1.PodTemplateSpec) { t.Annotations[FeaturesAnnotation] = "render" }, true},
		"user edited":    {func(t *corev1.PodTemplateSpec) { t.Annotations[UserAnnotation] = bob }, true},
		"user removed":   {func(t *corev1.PodTemplateSpec) { delete(t.Annotations, UserAnnotation) }, true},
		"user emptied":   {func(t *corev1.PodTemplateSpec) { t.Annotations[UserAnnotation] = "" }, true},
	}
	for name, c := range cases {
		updated := base()
		c.change(updated)
		if got := ChangesWhatRuns(base(), updated); got != c.want {
			t.Errorf("%s: ChangesWhatRuns = %v, want %v", name, got, c.want)
		}
	}
}

func TestUserOfAndStamp(t *testing.T) {
	id := Identity{TrustedControllers: DefaultTrustedWorkloadControllers, UsernamePrefix: "oidc:"}
	restarted := tmpl("cad:1", UserAnnotation, alice, "kubectl.kubernetes.io/restartedAt", "now")
	cases := map[string]struct {
		requester   string
		old, new    *corev1.PodTemplateSpec
		user        string
		requesterIs bool
		stamp       Stamp
	}{
		"a person's create runs for the person": {
			requester: "oidc:" + alice, new: tmpl("cad:1"),
			user: alice, requesterIs: true, stamp: Stamp{Set: true, User: alice},
		},
		"a person's create replaces a written user": {
			requester: "oidc:" + bob, new: tmpl("cad:1", UserAnnotation, alice),
			user: bob, requesterIs: true, stamp: Stamp{Set: true, User: bob},
		},
		"a person's create with her own name already written needs no patch": {
			requester: "oidc:" + alice, new: tmpl("cad:1", UserAnnotation, alice),
			user: alice, requesterIs: true, stamp: Stamp{},
		},
		"a person's image edit re-stamps": {
			requester: "oidc:" + bob, old: tmpl("cad:1", UserAnnotation, alice), new: tmpl("cad:2", UserAnnotation, alice),
			user: bob, requesterIs: true, stamp: Stamp{Set: true, User: bob},
		},
		"a person's product edit re-stamps": {
			requester: "oidc:" + bob, old: tmpl("cad:1", UserAnnotation, alice),
			new:  tmpl("cad:1", UserAnnotation, alice, licensingv1alpha1.ProductAnnotation, "cad"),
			user: bob, requesterIs: true, stamp: Stamp{Set: true, User: bob},
		},
		"a person's edit of the user annotation re-stamps to the person": {
			requester: "oidc:" + bob, old: tmpl("cad:1", UserAnnotation, alice), new: tmpl("cad:1", UserAnnotation, "carol@example.com"),
			user: bob, requesterIs: true, stamp: Stamp{Set: true, User: bob},
		},
		"a person's removal of the user annotation re-stamps to the person": {
			requester: "oidc:" + bob, old: tmpl("cad:1", UserAnnotation, alice), new: tmpl("cad:1"),
			user: bob, requesterIs: true, stamp: Stamp{Set: true, User: bob},
		},
		"a person's rollout restart keeps the user": {
			requester: "oidc:" + bob, old: tmpl("cad:1", UserAnnotation, alice), new: restarted,
			user: alice, requesterIs: false, stamp: Stamp{},
		},
		"a person's scale (template unchanged) keeps the user": {
			requester: "oidc:" + bob, old: tmpl("cad:1", UserAnnotation, alice), new: tmpl("cad:1", UserAnnotation, alice),
			user: alice, requesterIs: false, stamp: Stamp{},
		},
		"a person's scale of a never-stamped template records nothing (no rollout)": {
			requester: "oidc:" + bob, old: tmpl("cad:1"), new: tmpl("cad:1"),
			user: "", requesterIs: false, stamp: Stamp{},
		},
		"a person's restart of a never-stamped template records the person": {
			requester: "oidc:" + bob, old: tmpl("cad:1"), new: tmpl("cad:1", "kubectl.kubernetes.io/restartedAt", "now"),
			user: bob, requesterIs: true, stamp: Stamp{Set: true, User: bob},
		},
		"a trusted controller's create keeps the template's user": {
			requester: rsc, new: tmpl("cad:1", UserAnnotation, alice),
			user: alice, requesterIs: false, stamp: Stamp{},
		},
		"a trusted controller's create of a never-stamped template has no user": {
			requester: "system:kube-controller-manager", new: tmpl("cad:1"),
			user: "", requesterIs: false, stamp: Stamp{},
		},
		"a trusted controller's update keeps what it writes": {
			requester: "system:serviceaccount:kube-system:deployment-controller", old: tmpl("cad:1", UserAnnotation, alice), new: tmpl("cad:2", UserAnnotation, bob),
			user: bob, requesterIs: false, stamp: Stamp{},
		},
		"a prefix only strips where present": {
			requester: "system:serviceaccount:team:ci", new: tmpl("cad:1"),
			user: "system:serviceaccount:team:ci", requesterIs: true, stamp: Stamp{Set: true, User: "system:serviceaccount:team:ci"},
		},
		"an empty licence user removes a written one": {
			requester: "oidc:", new: tmpl("cad:1", UserAnnotation, alice),
			user: "", requesterIs: true, stamp: Stamp{Set: true, User: ""},
		},
	}
	for name, c := range cases {
		user, is := id.UserOf(c.requester, c.old, c.new)
		if user != c.user || is != c.requesterIs {
			t.Errorf("%s: UserOf = (%q, %v), want (%q, %v)", name, user, is, c.user, c.requesterIs)
		}
		if diff := cmp.Diff(c.stamp, id.StampFor(c.requester, c.old, c.new)); diff != "" {
			t.Errorf("%s: StampFor (-want +got):\n%s", name, diff)
		}
	}
}

// A Pod is judged by the same rules: its metadata and spec as a template.
func TestPodAsTemplate(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{UserAnnotation: alice}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "cad:1"}}}}
	got := PodAsTemplate(pod)
	if got.Annotations[UserAnnotation] != alice || got.Spec.Containers[0].Image != "cad:1" {
		t.Errorf("PodAsTemplate = %+v", got)
	}
}
