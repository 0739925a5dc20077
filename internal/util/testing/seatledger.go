package testing

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// SeatLedgerWrapper builds a SeatLedger.
type SeatLedgerWrapper struct {
	licensingv1alpha1.SeatLedger
}

// MakeSeatLedger returns an empty ledger of the assignment, named name.
func MakeSeatLedger(name, namespace, assignment string) *SeatLedgerWrapper {
	return &SeatLedgerWrapper{licensingv1alpha1.SeatLedger{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       licensingv1alpha1.SeatLedgerSpec{Assignment: assignment},
	}}
}

// Obj returns the ledger.
func (w *SeatLedgerWrapper) Obj() *licensingv1alpha1.SeatLedger { return &w.SeatLedger }

// Entry adds the entry of a Pod admitted at t.
func (w *SeatLedgerWrapper) Entry(pod, uid string, t time.Time) *SeatLedgerWrapper {
	w.Spec.Entries = append(w.Spec.Entries, licensingv1alpha1.SeatLedgerEntry{Pod: pod, UID: uid, Admitted: metav1.NewTime(t)})
	return w
}

// PodWrapper builds a Pod as the API server stores it (UID, creation time,
// phase), for the pure rules that read live Pods.
type PodWrapper struct {
	corev1.Pod
}

// MakePod returns a Running Pod of the default ServiceAccount with UID uid,
// created at created, running busybox.
func MakePod(name, namespace, uid string, created time.Time) *PodWrapper {
	return &PodWrapper{corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, UID: types.UID(uid), CreationTimestamp: metav1.NewTime(created)},
		Spec: corev1.PodSpec{
			ServiceAccountName: "default",
			Containers:         []corev1.Container{{Name: "main", Image: "busybox:1.36"}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}}
}

// Obj returns the Pod.
func (w *PodWrapper) Obj() *corev1.Pod { return &w.Pod }

// Product sets the product annotation.
func (w *PodWrapper) Product(p string) *PodWrapper {
	if w.Annotations == nil {
		w.Annotations = map[string]string{}
	}
	w.Annotations[licensingv1alpha1.ProductAnnotation] = p
	return w
}

// ServiceAccount sets the ServiceAccount the Pod runs as.
func (w *PodWrapper) ServiceAccount(sa string) *PodWrapper { w.Spec.ServiceAccountName = sa; return w }

// Phase sets status.phase.
func (w *PodWrapper) Phase(p corev1.PodPhase) *PodWrapper { w.Status.Phase = p; return w }

// Waiter adds a Pod waiting in line since t with the given priority.
func (w *SeatLedgerWrapper) Waiter(pod, uid string, priority int32, t time.Time) *SeatLedgerWrapper {
	w.Spec.Waiting = append(w.Spec.Waiting, licensingv1alpha1.SeatLedgerWaiter{Pod: pod, UID: uid, Priority: priority, Queued: metav1.NewMicroTime(t)})
	return w
}

// Reservation adds the reservation of count seats of a Kueue Workload's pod
// set, made at t.
func (w *SeatLedgerWrapper) Reservation(workload, uid, podSet string, count int32, t time.Time) *SeatLedgerWrapper {
	w.Spec.Reservations = append(w.Spec.Reservations, licensingv1alpha1.SeatLedgerReservation{
		Workload: workload, UID: uid, PodSet: podSet, Count: count, Since: metav1.NewTime(t),
	})
	return w
}

// Ride adds a Pod riding the last reservation since t.
func (w *SeatLedgerWrapper) Ride(pod, uid string, t time.Time) *SeatLedgerWrapper {
	r := &w.Spec.Reservations[len(w.Spec.Reservations)-1]
	r.Rides = append(r.Rides, licensingv1alpha1.SeatLedgerEntry{Pod: pod, UID: uid, Admitted: metav1.NewTime(t)})
	return w
}

// KueueGated adds Kueue's scheduling gate: Kueue has not admitted the Pod's Workload yet.
func (w *PodWrapper) KueueGated() *PodWrapper {
	w.Spec.SchedulingGates = append(w.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: "kueue.x-k8s.io/admission"})
	return w
}
