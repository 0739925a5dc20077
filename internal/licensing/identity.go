package licensing

// This file holds the rules of who a workload runs for (DESIGN.md "Who the
// user of a workload is"): the user of a Pod or pod template is the
// authenticated requester that created or last changed what it runs, never a
// value the creator writes. The mutating workload webhook records it in the
// user annotation; the validating one decides with it. Nothing here talks to
// a client.

import (
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// FeaturesAnnotation on a Pod or pod template names the features of the
// product the workload uses; a change of it changes what the workload runs.
const FeaturesAnnotation = licensingv1alpha1.LabelPrefix + "features"

// DefaultTrustedWorkloadControllers are the requesters whose creates and
// updates of Pods and pod templates keep the user the object carries: the
// controller manager under its own credentials, and the ServiceAccounts of
// the ReplicaSet, Deployment, Job, CronJob, StatefulSet and DaemonSet
// controllers when it runs with --use-service-account-credentials.
var DefaultTrustedWorkloadControllers = []string{
	"system:kube-controller-manager",
	"system:serviceaccount:kube-system:replicaset-controller",
	"system:serviceaccount:kube-system:deployment-controller",
	"system:serviceaccount:kube-system:job-controller",
	"system:serviceaccount:kube-system:cronjob-controller",
	"system:serviceaccount:kube-system:statefulset-controller",
	"system:serviceaccount:kube-system:daemon-set-controller",
}

// Identity is how the installation tells people from the workload
// controllers that act for them (flags --trusted-workload-controllers and
// --username-prefix).
type Identity struct {
	// TrustedControllers are the usernames of the workload controllers.
	TrustedControllers []string
	// UsernamePrefix is stripped from a requester's username to give the
	// licence user compared with users[].email and assignee emails (for
	// example "oidc:" when the API server's --oidc-username-prefix adds it).
	UsernamePrefix string
}

// DefaultIdentity trusts DefaultTrustedWorkloadControllers and strips nothing.
func DefaultIdentity() Identity {
	return Identity{TrustedControllers: slices.Clone(DefaultTrustedWorkloadControllers)}
}

// Trusted says whether username is a trusted workload controller.
func (id Identity) Trusted(username string) bool {
	return slices.Contains(id.TrustedControllers, username)
}

// EmailPattern is the pattern of a licence user's email in the CRDs
// (SoftwareLicense spec.users[].email, LicenseAssignment
// spec.assignee.user.email): only a licence user of this form can hold a
// NamedUser seat. TestEmailPatternIsTheCRDs keeps it equal to theirs.
const EmailPattern = `^[^@\s]+@[^@\s]+$`

var emailRE = regexp.MustCompile(EmailPattern)

// CanHoldNamedSeat says whether a licence user (LicenceUser) can hold a
// NamedUser seat: whether the CRDs accept it as a user's email. A
// ServiceAccount (system:serviceaccount:NAMESPACE:NAME, the username of a
// GitOps controller or a CI pipeline) or a certificate user without an '@'
// cannot: no licence can list it and no assignment can name it.
func CanHoldNamedSeat(user string) bool {
	return emailRE.MatchString(user)
}

// LicenceUser is the licence user a requester is: its username with the
// prefix stripped. Matching is exact: no case folding.
func (id Identity) LicenceUser(username string) string {
	return strings.TrimPrefix(username, id.UsernamePrefix)
}

// ChangesWhatRuns says whether an update of a Pod or pod template changes
// what it runs: an image of a container, init container or ephemeral
// container, or the product, features or user annotation. A rollout restart
// annotation, a scale or a label change does not.
func ChangesWhatRuns(old, updated *corev1.PodTemplateSpec) bool {
	for _, a := range []string{licensingv1alpha1.ProductAnnotation, FeaturesAnnotation, UserAnnotation} {
		ov, oOK := old.Annotations[a]
		nv, nOK := updated.Annotations[a]
		if ov != nv || oOK != nOK {
			return true
		}
	}
	return !slices.Equal(containerImages(old.Spec.InitContainers), containerImages(updated.Spec.InitContainers)) ||
		!slices.Equal(containerImages(old.Spec.Containers), containerImages(updated.Spec.Containers)) ||
		!slices.Equal(ephemeralImages(old.Spec.EphemeralContainers), ephemeralImages(updated.Spec.EphemeralContainers))
}

func containerImages(cs []corev1.Container) []string {
	out := make([]string, len(cs))
	for i := range cs {
		out[i] = cs[i].Image
	}
	return out
}

func ephemeralImages(cs []corev1.EphemeralContainer) []string {
	out := make([]string, len(cs))
	for i := range cs {
		out[i] = cs[i].Image
	}
	return out
}

// UserOf is the user a Pod or pod template runs for after a create (old nil)
// or update by requester, and whether the requester is that user (a person
// whose request records it) rather than a value kept from before:
//   - a trusted workload controller keeps what the object carries: the
//     ReplicaSet controller's Pod runs for whoever applied the Deployment;
//   - a person's create runs for that person, whatever the object says;
//   - a person's update that changes what runs (ChangesWhatRuns; the user
//     annotation itself included) runs for that person;
//   - a person's other updates (rollout restart, scale, labels) keep the
//     user the object had, so that nobody moves a seat by restarting; a pod
//     template that had none yet and changes anyway records the person (the
//     template changes regardless, so the stamp starts no rollout of its own);
//     an update that leaves the template alone records nothing.
func (id Identity) UserOf(requester string, old, updated *corev1.PodTemplateSpec) (user string, requesterIs bool) {
	if id.Trusted(requester) {
		return updated.Annotations[UserAnnotation], false
	}
	if old == nil || ChangesWhatRuns(old, updated) {
		return id.LicenceUser(requester), true
	}
	if kept := old.Annotations[UserAnnotation]; kept != "" {
		return kept, false
	}
	if !equality.Semantic.DeepEqual(old, updated) {
		return id.LicenceUser(requester), true
	}
	return "", false
}

// Stamp is what the mutating webhook writes into the user annotation of a
// Pod or pod template: Set says whether to write it, User is the value (""
// removes the annotation). A trusted controller's request is never changed.
type Stamp struct {
	Set  bool
	User string
}

// StampFor is the stamp of a create (old nil) or update by requester.
func (id Identity) StampFor(requester string, old, updated *corev1.PodTemplateSpec) Stamp {
	if id.Trusted(requester) {
		return Stamp{}
	}
	user, _ := id.UserOf(requester, old, updated)
	if v, ok := updated.Annotations[UserAnnotation]; v == user && (ok || user == "") {
		return Stamp{}
	}
	return Stamp{Set: true, User: user}
}

// PodAsTemplate is a Pod's metadata and spec as a pod template, so that a Pod
// and a template are judged by the same rules.
func PodAsTemplate(pod *corev1.Pod) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec}
}
