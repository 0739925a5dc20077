package licensing

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
)

func TestAssigneeName(t *testing.T) {
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'a'
	}
	cases := map[string]struct {
		assignee v1.Assignee
		want     string
	}{
		"a user":            {v1.Assignee{User: &v1.UserAssignee{Email: "a@b.c"}}, "user/a@b.c"},
		"a service account": {v1.Assignee{ServiceAccount: &v1.ServiceAccountAssignee{Name: "reporting"}}, "sa/reporting"},
		"a node":            {v1.Assignee{Node: &v1.NodeAssignee{Name: "n1"}}, "node/n1"},
		"a workload's selector as kubectl shows it": {v1.Assignee{Workload: &v1.WorkloadAssignee{Selector: metav1.LabelSelector{
			MatchLabels: map[string]string{"app": "render"},
			MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"batch", "gpu"}}},
		}}}, "workload/app=render,tier in (batch,gpu)"},
		"a workload selecting every Pod": {v1.Assignee{Workload: &v1.WorkloadAssignee{}}, "workload/<none>"},
		"a name cut to the column's bound": {v1.Assignee{ServiceAccount: &v1.ServiceAccountAssignee{Name: string(long)}},
			"sa/" + string(long[:maxAssigneeLength-len("sa/")-len("…")]) + "…"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := AssigneeName(&tc.assignee); got != tc.want {
				t.Errorf("AssigneeName = %q, want %q", got, tc.want)
			}
			if got := AssigneeName(&tc.assignee); len(got) > maxAssigneeLength {
				t.Errorf("AssigneeName is %d bytes, more than %d", len(got), maxAssigneeLength)
			}
		})
	}
}

// TestAssignmentHealth checks which states and reasons are Ready,
// Reconciling (kstatus InProgress) and Stalled (kstatus Failed).
func TestAssignmentHealth(t *testing.T) {
	cases := []struct {
		state                       v1.AssignmentState
		reason                      string
		ready, reconciling, stalled metav1.ConditionStatus
	}{
		{v1.AssignmentStateBound, v1.ReasonSeatsGranted, "True", "False", "False"},
		{v1.AssignmentStatePending, v1.ReasonWaitingForSeats, "False", "True", "False"},
		{v1.AssignmentStatePending, v1.ReasonLicenseNotUsable, "False", "True", "False"},
		{v1.AssignmentStatePending, v1.ReasonActivationLimit, "False", "True", "False"},
		{v1.AssignmentStatePending, v1.ReasonNodeOffline, "False", "True", "False"},
		{v1.AssignmentStatePending, v1.ReasonConsumptionExhausted, "False", "True", "False"},
		{v1.AssignmentStatePending, v1.ReasonLicenseNotFound, "False", "False", "True"},
		{v1.AssignmentStatePending, v1.ReasonProductNotFound, "False", "False", "True"},
		{v1.AssignmentStatePending, v1.ReasonSharingForbidden, "False", "False", "True"},
		{v1.AssignmentStatePending, v1.ReasonAssigneeNotAllowed, "False", "False", "True"},
		{v1.AssignmentStatePending, v1.ReasonNodeNotFound, "False", "False", "True"},
		{v1.AssignmentStatePending, v1.ReasonFingerprintMismatch, "False", "False", "True"},
		{v1.AssignmentStatePending, v1.ReasonVirtualMachineForbidden, "False", "False", "True"},
		{v1.AssignmentStateRejected, v1.ReasonTransferLimit, "False", "False", "True"},
		{v1.AssignmentStateReleased, v1.ReasonReleased, "False", "False", "False"},
	}
	for _, tc := range cases {
		t.Run(string(tc.state)+"/"+tc.reason, func(t *testing.T) {
			got := map[string]metav1.Condition{}
			for _, c := range AssignmentHealth(tc.state, tc.reason, "why") {
				got[c.Type] = c
			}
			for typ, want := range map[string]metav1.ConditionStatus{
				v1.ConditionReady: tc.ready, v1.ConditionReconciling: tc.reconciling, v1.ConditionStalled: tc.stalled} {
				c := got[typ]
				if c.Status != want {
					t.Errorf("%s is %s, want %s", typ, c.Status, want)
				}
				// The condition that says what is wrong carries the reason and message of Bound.
				if want == metav1.ConditionTrue && typ != v1.ConditionReady && (c.Reason != tc.reason || c.Message != "why") {
					t.Errorf("%s is %s/%q, want %s/%q", typ, c.Reason, c.Message, tc.reason, "why")
				}
			}
		})
	}
}
