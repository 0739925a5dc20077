package licensing

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// maxAssigneeLength bounds status.assignee (its schema's MaxLength).
const maxAssigneeLength = 256

// AssigneeName is status.assignee: who holds the seats as one string for
// the printer column, since JSONPath cannot pick one of four fields:
// "user/<email>", "sa/<name>", "node/<name>" or "workload/<selector>" (the
// selector as kubectl shows it, "<none>" for the empty selector), cut to
// maxAssigneeLength.
func AssigneeName(a *licensingv1alpha1.Assignee) string {
	var s string
	switch {
	case a.User != nil:
		s = "user/" + a.User.Email
	case a.ServiceAccount != nil:
		s = "sa/" + a.ServiceAccount.Name
	case a.Node != nil:
		s = "node/" + a.Node.Name
	case a.Workload != nil:
		s = "workload/" + metav1.FormatLabelSelector(&a.Workload.Selector)
	}
	return truncate(s, maxAssigneeLength)
}

// stalledAssignmentReasons are the reasons a Pending assignment waits that
// no seat freed, no renewal and no node coming back will end: what it names
// is missing or refuses it, and a person must change the assignment or
// create what it names.
var stalledAssignmentReasons = map[string]bool{
	licensingv1alpha1.ReasonLicenseNotFound:         true,
	licensingv1alpha1.ReasonProductNotFound:         true,
	licensingv1alpha1.ReasonSharingForbidden:        true,
	licensingv1alpha1.ReasonAssigneeNotAllowed:      true,
	licensingv1alpha1.ReasonNodeNotFound:            true,
	licensingv1alpha1.ReasonFingerprintMismatch:     true,
	licensingv1alpha1.ReasonVirtualMachineForbidden: true,
}

// AssignmentHealth is the Ready, Reconciling and Stalled conditions of an
// assignment in state with the reason and message of its Bound condition
// (docs/health.md has the table):
//   - Bound: Ready; neither Reconciling nor Stalled.
//   - Rejected (it can never bind as written), or Pending for a reason in
//     stalledAssignmentReasons: Stalled (kstatus Failed).
//   - Pending for any other reason (waiting for seats, for a usable licence,
//     for its node): Reconciling (kstatus InProgress).
//   - Released (being deleted): none of them; kstatus reads the deletion.
func AssignmentHealth(state licensingv1alpha1.AssignmentState, reason, message string) []metav1.Condition {
	ready := metav1.Condition{Type: licensingv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: message}
	reconciling := metav1.Condition{Type: licensingv1alpha1.ConditionReconciling, Status: metav1.ConditionFalse,
		Reason: licensingv1alpha1.ReasonNotReconciling, Message: fmt.Sprintf("The assignment is %s", state)}
	stalled := metav1.Condition{Type: licensingv1alpha1.ConditionStalled, Status: metav1.ConditionFalse,
		Reason: licensingv1alpha1.ReasonConfigured, Message: "Everything the spec names exists and accepts the assignee"}
	switch {
	case state == licensingv1alpha1.AssignmentStateBound:
		ready.Status = metav1.ConditionTrue
	case state == licensingv1alpha1.AssignmentStateRejected || state == licensingv1alpha1.AssignmentStatePending && stalledAssignmentReasons[reason]:
		stalled.Status, stalled.Reason, stalled.Message = metav1.ConditionTrue, reason, message
	case state == licensingv1alpha1.AssignmentStatePending:
		reconciling.Status, reconciling.Reason, reconciling.Message = metav1.ConditionTrue, reason, message
	}
	return []metav1.Condition{ready, reconciling, stalled}
}

// setHealth sets the conditions of AssignmentHealth on s, computed from
// generation at now.
func setHealth(s *licensingv1alpha1.LicenseAssignmentStatus, generation int64, reason, message string, now metav1.Time) {
	for _, c := range AssignmentHealth(s.State, reason, message) {
		c.ObservedGeneration, c.LastTransitionTime = generation, now
		meta.SetStatusCondition(&s.Conditions, c)
	}
}
