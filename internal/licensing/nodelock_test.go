package licensing

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

func TestFingerprintMatches(t *testing.T) {
	const raw = "4C4C4544-0042-3510-8052-B4C04F4E3332"
	for name, tc := range map[string]struct {
		fingerprint, id string
		want            bool
	}{
		"raw, same case":                    {raw, raw, true},
		"raw, other case":                   {strings.ToLower(raw), raw, true},
		"sha256 of the raw value":           {HashFingerprint(raw), raw, true},
		"sha256 in upper-case hex":          {"sha256:" + strings.ToUpper(strings.TrimPrefix(HashFingerprint(raw), "sha256:")), raw, true},
		"sha256 of the lower-cased UUID":    {HashFingerprint(strings.ToLower(raw)), raw, true},
		"another machine":                   {"4c4c4544-0000-0000-0000-000000000000", raw, false},
		"sha256 of another value":           {HashFingerprint("other"), raw, false},
		"a node that reports no identity":   {raw, "", false},
		"a sha256 fingerprint is not a raw": {HashFingerprint(raw), HashFingerprint(raw), false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := FingerprintMatches(tc.fingerprint, tc.id); got != tc.want {
				t.Errorf("FingerprintMatches(%q, %q) = %v, want %v", tc.fingerprint, tc.id, got, tc.want)
			}
		})
	}
}

func TestHashFingerprint(t *testing.T) {
	// sha256("test"), as `printf test | sha256sum` prints it.
	if got, want := HashFingerprint("test"), "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; got != want {
		t.Errorf("HashFingerprint = %s, want %s", got, want)
	}
}

func TestCheckNodeLock(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	grace := func(d v1.CalendarDuration, f ...v1.MachineFingerprint) *v1.Entitlement {
		e := &v1.Entitlement{MachineFingerprints: f}
		if d != "" {
			e.OfflineGracePeriod = &d
		}
		return e
	}
	node := ut.MakeNode("n1").SystemUUID("uuid-1").MachineID("mid-1")
	until := now.Add(time.Minute)
	for name, tc := range map[string]struct {
		params NodeLockParams
		node   *corev1.Node
		held   bool
		want   NodeLockVerdict
		// message holds substrings of the message.
		message []string
	}{
		"a node that does not exist": {
			params: NodeLockParams{License: "ns/lic"}, node: nil,
			want:    NodeLockVerdict{Reason: v1.ReasonNodeNotFound},
			message: []string{"node n1 does not exist", "spec.assignee.node.name"},
		},
		"a held seat of a deleted node is lost": {
			params: NodeLockParams{License: "ns/lic"}, node: nil, held: true,
			want: NodeLockVerdict{Reason: v1.ReasonNodeNotFound},
		},
		"no fingerprints: any node": {
			params: NodeLockParams{License: "ns/lic"}, node: node.DeepCopy(),
			want: NodeLockVerdict{OK: true},
		},
		"a mismatch shows the node's fingerprints and the field to add them to": {
			params: NodeLockParams{License: "ns/lic", Entitlement: grace("", "other")}, node: node.DeepCopy(),
			want: NodeLockVerdict{Rejected: true, Reason: v1.ReasonFingerprintMismatch},
			message: []string{"systemUUID uuid-1 (" + HashFingerprint("uuid-1") + ")", "machineID mid-1 (" + HashFingerprint("mid-1") + ")",
				"spec.entitlement.machineFingerprints"},
		},
		"a machineID matches": {
			params: NodeLockParams{License: "ns/lic", Entitlement: grace("", "mid-1")}, node: node.DeepCopy(),
			want: NodeLockVerdict{OK: true},
		},
		"a held seat keeps a node no longer listed": {
			params: NodeLockParams{License: "ns/lic", Entitlement: grace("", "other")}, node: node.DeepCopy(), held: true,
			want: NodeLockVerdict{OK: true},
		},
		"preventVM rejects a virtual machine": {
			params: NodeLockParams{License: "ns/lic", PreventVM: true}, node: ut.MakeNode("n1").VirtualMachine().Obj(),
			want:    NodeLockVerdict{Rejected: true, Reason: v1.ReasonVirtualMachineForbidden},
			message: []string{"node n1 is a virtual machine", v1.VirtualMachineLabel + "=true", "preventVM"},
		},
		"preventVM takes a physical node": {
			params: NodeLockParams{License: "ns/lic", PreventVM: true}, node: ut.MakeNode("n1").Label(v1.VirtualMachineLabel, "false").Obj(),
			want: NodeLockVerdict{OK: true},
		},
		"NotReady without offlineGracePeriod keeps the seat": {
			params: NodeLockParams{License: "ns/lic"}, node: node.Clone().Ready(corev1.ConditionFalse, now.Add(-1000*time.Hour)).Obj(), held: true,
			want: NodeLockVerdict{OK: true},
		},
		"NotReady within the grace period keeps the seat until its end": {
			params: NodeLockParams{License: "ns/lic", Entitlement: grace("1h")}, node: node.Clone().Ready(corev1.ConditionUnknown, until.Add(-time.Hour)).Obj(), held: true,
			want: NodeLockVerdict{OK: true, Until: &until, Since: ptr.To(until.Add(-time.Hour))},
		},
		"NotReady exactly at the end of the grace period is offline": {
			params: NodeLockParams{License: "ns/lic", Entitlement: grace("1h")}, node: node.Clone().Ready(corev1.ConditionFalse, now.Add(-time.Hour)).Obj(), held: true,
			want:    NodeLockVerdict{Reason: v1.ReasonNodeOffline, Since: ptr.To(now.Add(-time.Hour))},
			message: []string{"NotReady since 2026-03-10T11:00:00Z", "offlineGracePeriod 1h", "seat is free"},
		},
		"Ready again takes a seat": {
			params: NodeLockParams{License: "ns/lic", Entitlement: grace("1h")}, node: node.Clone().Ready(corev1.ConditionTrue, now).Obj(),
			want: NodeLockVerdict{OK: true},
		},
		"no Ready condition yet is not offline": {
			params: NodeLockParams{License: "ns/lic", Entitlement: grace("1h")}, node: node.Clone().Obj(), held: true,
			want: NodeLockVerdict{OK: true},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := CheckNodeLock(tc.params, "n1", tc.node, tc.held, now)
			msg := got.Message
			got.Message = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
			if tc.want.OK && msg != "" {
				t.Errorf("an OK verdict has a message: %s", msg)
			}
			if !tc.want.OK && msg == "" {
				t.Error("no message says why")
			}
			for _, m := range tc.message {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q lacks %q", msg, m)
				}
			}
		})
	}
}

func TestGrantRequeuesAtTheEndOfAnOfflineGracePeriod(t *testing.T) {
	since := grantNow.Add(-10 * time.Minute)
	l := gUsable(ut.MakeLicense("lic", "ns").Seats(1).OfflineGracePeriod("1h").Obj(), gPolicy(v1.SeatModelNodeLocked, v1.EnforcementHard, 10, 0))
	res := Grant(GrantInput{Now: grantNow, Licenses: []GrantLicense{l},
		Assignments: []*v1.LicenseAssignment{ut.MakeAssignment("a", "ns").Node("down").License("lic").Created(gAt(1)).BoundTo("ns/lic", 1, gAt(2)).Obj()},
		Nodes:       gNodes(ut.MakeNode("down").Ready(corev1.ConditionFalse, since).Obj())})
	if got, want := res.Boundaries["ns/lic"], since.Add(time.Hour); !got.Equal(want) {
		t.Errorf("boundary %v, want %v", got, want)
	}
	if d := res.Assignments["ns/a"]; d.Status.State != v1.AssignmentStateBound ||
		!strings.Contains(d.Status.Message, "NotReady since 2026-03-10T11:50:00Z") || !strings.Contains(d.Status.Message, "ends at 2026-03-10T12:50:00Z") {
		t.Errorf("within the grace period the seat is held, and the message says until when: %+v", d.Status)
	}
	// Without a NotReady node there is no boundary.
	res = Grant(GrantInput{Now: grantNow, Licenses: []GrantLicense{l},
		Assignments: []*v1.LicenseAssignment{ut.MakeAssignment("a", "ns").Node("up").License("lic").Created(gAt(1)).BoundTo("ns/lic", 1, gAt(2)).Obj()},
		Nodes:       gNodes(ut.MakeNode("up").Ready(corev1.ConditionTrue, since).Obj())})
	if len(res.Boundaries) != 0 {
		t.Errorf("boundaries %v without a NotReady node", res.Boundaries)
	}
}

func TestNodeLockChanged(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	base := ut.MakeNode("n").SystemUUID("u").MachineID("m").Ready(corev1.ConditionTrue, t0)
	heartbeat := base.Clone()
	heartbeat.Status.Conditions[0].LastHeartbeatTime.Time = t0.Add(time.Minute)
	heartbeat.Status.Allocatable = corev1.ResourceList{}
	for name, tc := range map[string]struct {
		b    *corev1.Node
		want bool
	}{
		"a heartbeat":            {heartbeat.Obj(), false},
		"NotReady":               {base.Clone().Ready(corev1.ConditionFalse, t0.Add(time.Minute)).Obj(), true},
		"a new systemUUID":       {base.Clone().SystemUUID("u2").Obj(), true},
		"a new machineID":        {base.Clone().MachineID("m2").Obj(), true},
		"labelled a VM":          {base.Clone().VirtualMachine().Obj(), true},
		"another label":          {base.Clone().Label("zone", "a").Obj(), false},
		"deleted (nil new node)": {nil, true},
	} {
		t.Run(name, func(t *testing.T) {
			if got := NodeLockChanged(base.Obj(), tc.b); got != tc.want {
				t.Errorf("NodeLockChanged = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestActivationLimit(t *testing.T) {
	key := ut.MakeProduct("key").Obj()
	user := ut.MakeProduct("user").Authorization(v1.AuthorizationUser).Obj()
	for name, tc := range map[string]struct {
		policy  *v1.EffectivePolicy
		product *v1.LicenseProduct
		want    *int32
	}{
		"the policy's maxActivations":                {gPolicy(v1.SeatModelConcurrent, v1.EnforcementHard, 5, 0), nil, ptr.To[int32](5)},
		"no maxActivations: the seats are the limit": {&v1.EffectivePolicy{}, user, nil},
		"a Site licence has no limit":                {gPolicy(v1.SeatModelSite, v1.EnforcementHard, 5, 0), key, nil},
		"unresolved, a Key product: the built-in 1":  {nil, key, ptr.To[int32](1)},
		"unresolved, a User product: none":           {nil, user, nil},
		"unresolved, no product: none":               {nil, nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ActivationLimit(tc.policy, tc.product)); diff != "" {
				t.Errorf("ActivationLimit (-want +got):\n%s", diff)
			}
		})
	}
}
