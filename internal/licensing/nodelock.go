package licensing

// This file holds the rules of NodeLocked seats that depend on the Node an
// assignment names: the node must exist, match one of the licence's
// spec.entitlement.machineFingerprints (when it lists any), not be a virtual
// machine under a preventVM policy, and not be offline longer than
// spec.entitlement.offlineGracePeriod. Grant applies them; they read only
// what the API server vouches for (the Node object the kubelet and the
// cluster administrator write), never a value the assignment's author wrote.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// fingerprintPrefix starts a hashed machine fingerprint.
const fingerprintPrefix = "sha256:"

// HashFingerprint is "sha256:" and the hex SHA-256 of a raw systemUUID or
// machineID, the hashed form spec.entitlement.machineFingerprints accepts.
func HashFingerprint(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return fingerprintPrefix + hex.EncodeToString(sum[:])
}

// nodeIDs are a node's raw machine identities: its systemUUID and machineID,
// those that are set.
func nodeIDs(node *corev1.Node) []string {
	var ids []string
	for _, id := range []string{node.Status.NodeInfo.SystemUUID, node.Status.NodeInfo.MachineID} {
		if id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// FingerprintMatches says whether a fingerprint of the licence names the
// raw machine identity id: the raw value (case-insensitively, as UUIDs are
// written in either case), or "sha256:" and the hex SHA-256 of the raw value
// as the node reports it or in lower case.
func FingerprintMatches(fingerprint, id string) bool {
	if id == "" {
		return false
	}
	if hashed, ok := strings.CutPrefix(fingerprint, fingerprintPrefix); ok {
		want := fingerprintPrefix + strings.ToLower(hashed)
		return want == HashFingerprint(id) || want == HashFingerprint(strings.ToLower(id))
	}
	return strings.EqualFold(fingerprint, id)
}

// NodeMatchesFingerprints says whether the node's systemUUID or machineID
// matches one of fingerprints. An empty list matches every node.
func NodeMatchesFingerprints(fingerprints []licensingv1alpha1.MachineFingerprint, node *corev1.Node) bool {
	if len(fingerprints) == 0 {
		return true
	}
	for _, f := range fingerprints {
		for _, id := range nodeIDs(node) {
			if FingerprintMatches(string(f), id) {
				return true
			}
		}
	}
	return false
}

// NodeFingerprintText shows a node's fingerprints as a person can copy them
// into spec.entitlement.machineFingerprints: the raw systemUUID and its
// sha256: form, and the same for the machineID.
func NodeFingerprintText(node *corev1.Node) string {
	var parts []string
	if id := node.Status.NodeInfo.SystemUUID; id != "" {
		parts = append(parts, fmt.Sprintf("systemUUID %s (%s)", id, HashFingerprint(id)))
	}
	if id := node.Status.NodeInfo.MachineID; id != "" {
		parts = append(parts, fmt.Sprintf("machineID %s (%s)", id, HashFingerprint(id)))
	}
	if len(parts) == 0 {
		return "no systemUUID or machineID (its kubelet has not reported status.nodeInfo yet)"
	}
	return strings.Join(parts, ", ")
}

// NodeOffline says whether a node is NotReady, and since when: its Ready
// condition is False or Unknown, from the condition's lastTransitionTime. A
// node without a Ready condition (its kubelet has not reported yet) is not
// offline.
func NodeOffline(node *corev1.Node) (time.Time, bool) {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.LastTransitionTime.Time, c.Status != corev1.ConditionTrue
		}
	}
	return time.Time{}, false
}

// NodeLockVerdict is what the node rules say about a NodeLocked assignment's node.
type NodeLockVerdict struct {
	// OK: the node may hold (or take) a seat now.
	OK bool
	// Reason and Message say why not: NodeNotFound and NodeOffline wait
	// (Pending), FingerprintMismatch and VirtualMachineForbidden are Rejected.
	Reason, Message string
	// Rejected: the assignment is Rejected (the node can never hold a seat
	// of this licence as they are), not Pending.
	Rejected bool
	// Until is when a node that is NotReady but within its offline grace
	// period loses the seat, if it is still NotReady then; nil otherwise.
	Until *time.Time
	// Since is when the node became NotReady, for an offline node.
	Since *time.Time
}

// NodeLockParams are the parts of a licence the node rules read.
type NodeLockParams struct {
	// License is "namespace/name", for the messages.
	License string
	// Entitlement is the licence's spec.entitlement (nil: none).
	Entitlement *licensingv1alpha1.Entitlement
	// PreventVM is the effective policy's preventVM.
	PreventVM bool
}

// CheckNodeLock applies the node rules to the node an assignment names
// (nil when no such Node exists), at now. held says whether the assignment
// holds a seat already: the fingerprints and preventVM are checked when a
// seat is granted (removing a fingerprint later unbinds no one, as lowering
// spec.seats does not), while a missing or offline node loses a held seat.
//
// The rules, in order:
//   - the node must exist (NodeNotFound: Pending; a deleted node frees its seat at once);
//   - a new seat needs a node that is not a virtual machine when the policy
//     has preventVM (IsVirtualMachineNode; VirtualMachineForbidden: Rejected);
//   - a new seat needs a node whose systemUUID or machineID matches one of
//     spec.entitlement.machineFingerprints when it lists any
//     (FingerprintMismatch: Rejected, with the node's fingerprints);
//   - with spec.entitlement.offlineGracePeriod, a node NotReady for at least
//     that long holds no seat (NodeOffline: Pending); a NotReady node within
//     it keeps its seat until the end of the grace period (Until). Without
//     it, a NotReady node keeps its seat.
func CheckNodeLock(p NodeLockParams, name string, node *corev1.Node, held bool, now time.Time) NodeLockVerdict {
	if node == nil {
		return NodeLockVerdict{Reason: licensingv1alpha1.ReasonNodeNotFound,
			Message: fmt.Sprintf("node %s does not exist: the NodeLocked seat of licence %s binds once the node joins the cluster; check spec.assignee.node.name", name, p.License)}
	}
	if !held && p.PreventVM && IsVirtualMachineNode(node) {
		return NodeLockVerdict{Rejected: true, Reason: licensingv1alpha1.ReasonVirtualMachineForbidden,
			Message: fmt.Sprintf("node %s is a virtual machine (label %s=true) and the policy of licence %s has preventVM: lock the seat to a physical node", name, licensingv1alpha1.VirtualMachineLabel, p.License)}
	}
	var fingerprints []licensingv1alpha1.MachineFingerprint
	if p.Entitlement != nil {
		fingerprints = p.Entitlement.MachineFingerprints
	}
	if !held && !NodeMatchesFingerprints(fingerprints, node) {
		return NodeLockVerdict{Rejected: true, Reason: licensingv1alpha1.ReasonFingerprintMismatch,
			Message: fmt.Sprintf("node %s matches none of the %d machine fingerprints of licence %s: its fingerprints are %s; add one of them to the licence's spec.entitlement.machineFingerprints, or lock the seat to a listed machine",
				name, len(fingerprints), p.License, NodeFingerprintText(node))}
	}
	since, offline := NodeOffline(node)
	if !offline || p.Entitlement == nil || p.Entitlement.OfflineGracePeriod == nil {
		return NodeLockVerdict{OK: true}
	}
	grace, err := ParseDuration(string(*p.Entitlement.OfflineGracePeriod))
	if err != nil {
		// The CRD schema admits only durations that parse: keep the seat.
		return NodeLockVerdict{OK: true}
	}
	until := grace.AddTo(since)
	if now.Before(until) {
		return NodeLockVerdict{OK: true, Until: &until, Since: &since}
	}
	return NodeLockVerdict{Reason: licensingv1alpha1.ReasonNodeOffline, Since: &since,
		Message: fmt.Sprintf("node %s has been NotReady since %s, longer than the offlineGracePeriod %s of licence %s (ended %s): its seat is free for others; the assignment takes a seat again, if one is free, when the node is Ready",
			name, stampUTC(since), *p.Entitlement.OfflineGracePeriod, p.License, stampUTC(until))}
}

func stampUTC(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// nodeLock applies CheckNodeLock to an assignee of the licence; locked is
// false when the node rules do not apply (not a NodeLocked licence, or not
// a node). An OK node within its offline grace period moves the licence's
// next boundary to the end of it.
func (p *poolLicense) nodeLock(as *licensingv1alpha1.Assignee, held bool) (NodeLockVerdict, bool) {
	if p.model != licensingv1alpha1.SeatModelNodeLocked || as == nil || as.Node == nil {
		return NodeLockVerdict{OK: true}, false
	}
	params := NodeLockParams{
		License:     p.key,
		Entitlement: p.License.Spec.Entitlement,
		PreventVM:   p.Policy != nil && p.Policy.PreventVM != nil && *p.Policy.PreventVM,
	}
	v := CheckNodeLock(params, as.Node.Name, p.nodes[as.Node.Name], held, p.now)
	if v.OK && v.Until != nil && (p.next == nil || v.Until.Before(*p.next)) {
		until := *v.Until
		p.next = &until
	}
	return v, true
}

// nodeLost is the outcome of a held NodeLocked seat whose node is gone or
// has been offline longer than the offline grace period: the assignment is
// Pending and holds nothing, so the seat is free for others. It is nil when
// the seat stays (or the node rules do not apply); note then says, for a
// NotReady node within its grace period, when the seat frees.
func (p *poolLicense) nodeLost(a *licensingv1alpha1.LicenseAssignment) (lost *outcome, note string) {
	as := a.Status.BoundAssignee
	if as == nil {
		as = &a.Spec.Assignee
	}
	v, locked := p.nodeLock(as, true)
	switch {
	case !locked:
		return nil, ""
	case v.OK && v.Until != nil:
		return nil, fmt.Sprintf("node %s has been NotReady since %s: it keeps its seat until the offlineGracePeriod of licence %s ends at %s, then the seat is free for others unless the node is Ready again",
			as.Node.Name, stampUTC(*v.Since), p.key, stampUTC(*v.Until))
	case v.OK:
		return nil, ""
	}
	if a.Spec.LicenseRef != nil {
		p.pending += a.Spec.Seats
	}
	return &outcome{state: licensingv1alpha1.AssignmentStatePending, writer: p.key,
		transfers: a.Status.Transfers, reason: v.Reason, message: v.Message}, ""
}

// NodeLockChanged says whether a change of a Node from a to b changes what
// CheckNodeLock reads of it: its machine identities, the virtual-machine
// label, or its Ready condition (status or transition time). The kubelet's
// heartbeats change none of them.
func NodeLockChanged(a, b *corev1.Node) bool {
	if a == nil || b == nil {
		return a != b
	}
	sinceA, offA := NodeOffline(a)
	sinceB, offB := NodeOffline(b)
	return a.Status.NodeInfo.SystemUUID != b.Status.NodeInfo.SystemUUID ||
		a.Status.NodeInfo.MachineID != b.Status.NodeInfo.MachineID ||
		IsVirtualMachineNode(a) != IsVirtualMachineNode(b) ||
		offA != offB || !sinceA.Equal(sinceB)
}
