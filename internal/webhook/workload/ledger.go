package workload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// The seat ledger of a Concurrent assignment is a ConfigMap in the assignment's
// namespace, owned by the assignment, listing the Pods admitted on its seats:
// data key = Pod name, value = "<uid> <admission time RFC3339>". The webhook reads
// it live from the API server and writes it with its resourceVersion
// (compare-and-swap), exactly as the ResourceQuota admission plugin does with
// quota status: two webhook replicas, or two requests in one replica, cannot
// both take the last seat, because only one of their updates can succeed.

const (
	// LedgerLabel marks seat ledger ConfigMaps; its value is "true".
	LedgerLabel = licensingv1alpha1.LabelPrefix + "seat-ledger"
	// LedgerAssignmentAnnotation names the assignment a ledger belongs to.
	LedgerAssignmentAnnotation = licensingv1alpha1.LabelPrefix + "assignment"
	ledgerPrefix               = "seat-ledger-"
)

// LedgerName is the name of the ledger ConfigMap of an assignment.
func LedgerName(assignment string) string {
	name := ledgerPrefix + assignment
	if len(name) <= 253 {
		return name
	}
	sum := sha256.Sum256([]byte(assignment))
	return name[:253-17] + "-" + hex.EncodeToString(sum[:8])
}

// ledgerEntry is one admitted Pod.
type ledgerEntry struct {
	UID      types.UID
	Admitted time.Time
}

func parseEntry(v string) ledgerEntry {
	uid, ts, _ := strings.Cut(v, " ")
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		t = time.Time{}
	}
	return ledgerEntry{UID: types.UID(uid), Admitted: t}
}

func formatEntry(e ledgerEntry) string {
	return string(e.UID) + " " + e.Admitted.UTC().Format(time.RFC3339)
}

// Ledger reserves and releases Concurrent seats.
type Ledger struct {
	// Reader reads live from the API server (never a cache).
	Reader client.Reader
	// Writer creates and updates ledgers.
	Writer client.Client
	Clock  clock.PassiveClock
	// Grace is how long an entry is kept although its Pod does not exist (the
	// Pod may still be on its way through admission to storage).
	Grace time.Duration
}

// PodRef identifies the Pod asking for a seat.
type PodRef struct {
	Namespace, Name string
	UID             types.UID
}

// Reservation is the outcome of Reserve.
type Reservation struct {
	// Admitted is true when the Pod holds a seat (or already held one).
	Admitted bool
	// Over is true when a Soft cover admitted beyond its seats.
	Over bool
	// Used counts the live entries, this Pod included when admitted.
	Used    int
	Holders []string
}

var errLedgerBusy = errors.New("the seat ledger is being changed by many admissions at once; retry")

// Reserve adds the Pod to the assignment's ledger if fewer than seats live Pods
// hold it (or always, when allowOver). It retries on conflicts until ctx ends.
func (l *Ledger) Reserve(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment, pod PodRef, seats int32, allowOver bool) (Reservation, error) {
	key := types.NamespacedName{Namespace: asg.Namespace, Name: LedgerName(asg.Name)}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			// Jittered back-off: spreads the contenders of one ledger.
			d := time.Duration(rand.Int64N(int64(2*time.Millisecond)*int64(min(attempt, 10)))) + time.Millisecond
			select {
			case <-ctx.Done():
				return Reservation{}, errLedgerBusy
			case <-time.After(d):
			}
		}
		cm := &corev1.ConfigMap{}
		err := l.Reader.Get(ctx, key, cm)
		if apierrors.IsNotFound(err) {
			cm = l.newLedger(asg, key)
			cm.Data[pod.Name] = formatEntry(ledgerEntry{UID: pod.UID, Admitted: l.Clock.Now()})
			if seats < 1 && !allowOver {
				return Reservation{Used: 0}, nil
			}
			if err := l.Writer.Create(ctx, cm); err != nil {
				if apierrors.IsAlreadyExists(err) {
					continue
				}
				if ctx.Err() != nil {
					return Reservation{}, errLedgerBusy
				}
				return Reservation{}, fmt.Errorf("creating seat ledger %s: %w", key, err)
			}
			return Reservation{Admitted: true, Over: seats < 1, Used: 1, Holders: []string{pod.Name}}, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return Reservation{}, errLedgerBusy
			}
			return Reservation{}, fmt.Errorf("reading seat ledger %s: %w", key, err)
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		if e, ok := cm.Data[pod.Name]; ok && parseEntry(e).UID == pod.UID {
			// A retried admission of the same Pod: it holds its seat already.
			return Reservation{Admitted: true, Used: len(cm.Data), Holders: holders(cm)}, nil
		}
		pruned, err := l.prune(ctx, cm)
		if err != nil {
			return Reservation{}, err
		}
		used := len(cm.Data)
		if _, ok := cm.Data[pod.Name]; ok {
			// An entry of an earlier Pod of this name that is gone: replaced below.
			used--
		}
		if used >= int(seats) && !allowOver {
			if pruned {
				// Save the pruning; losing this race is harmless.
				_ = l.Writer.Update(ctx, cm)
			}
			return Reservation{Used: used, Holders: holders(cm)}, nil
		}
		cm.Data[pod.Name] = formatEntry(ledgerEntry{UID: pod.UID, Admitted: l.Clock.Now()})
		if err := l.Writer.Update(ctx, cm); err != nil {
			if apierrors.IsConflict(err) {
				continue
			}
			if ctx.Err() != nil {
				return Reservation{}, errLedgerBusy
			}
			return Reservation{}, fmt.Errorf("updating seat ledger %s: %w", key, err)
		}
		return Reservation{Admitted: true, Over: used >= int(seats), Used: used + 1, Holders: holders(cm)}, nil
	}
}

// Unreserve removes the Pod's entry again (a later product of the same Pod was refused).
func (l *Ledger) Unreserve(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment, pod PodRef) error {
	return l.Release(ctx, types.NamespacedName{Namespace: asg.Namespace, Name: LedgerName(asg.Name)}, pod)
}

// Release removes the entry of the Pod (matching UID) from one ledger.
func (l *Ledger) Release(ctx context.Context, ledger types.NamespacedName, pod PodRef) error {
	for {
		cm := &corev1.ConfigMap{}
		if err := l.Reader.Get(ctx, ledger, cm); err != nil {
			return client.IgnoreNotFound(err)
		}
		e, ok := cm.Data[pod.Name]
		if !ok || (pod.UID != "" && parseEntry(e).UID != pod.UID) {
			return nil
		}
		delete(cm.Data, pod.Name)
		err := l.Writer.Update(ctx, cm)
		if apierrors.IsConflict(err) {
			continue
		}
		return client.IgnoreNotFound(err)
	}
}

// prune drops the entries whose Pod is terminal, or gone (or replaced by another
// Pod of the same name) for longer than the grace.
func (l *Ledger) prune(ctx context.Context, cm *corev1.ConfigMap) (bool, error) {
	now := l.Clock.Now()
	changed := false
	for name, v := range cm.Data {
		e := parseEntry(v)
		if now.Sub(e.Admitted) < l.Grace {
			continue
		}
		full := &corev1.Pod{}
		err := l.Reader.Get(ctx, types.NamespacedName{Namespace: cm.Namespace, Name: name}, full)
		switch {
		case apierrors.IsNotFound(err):
			delete(cm.Data, name)
			changed = true
		case err != nil:
			return false, fmt.Errorf("checking Pod %s/%s of seat ledger %s: %w", cm.Namespace, name, cm.Name, err)
		case full.UID != e.UID || podTerminal(full):
			delete(cm.Data, name)
			changed = true
		}
	}
	return changed, nil
}

func podTerminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func holders(cm *corev1.ConfigMap) []string {
	out := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (l *Ledger) newLedger(asg *licensingv1alpha1.LicenseAssignment, key types.NamespacedName) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:        key.Name,
			Namespace:   key.Namespace,
			Labels:      map[string]string{LedgerLabel: "true"},
			Annotations: map[string]string{LedgerAssignmentAnnotation: asg.Name},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: licensingv1alpha1.GroupVersion.String(),
				Kind:       "LicenseAssignment",
				Name:       asg.Name,
				UID:        asg.UID,
			}},
		},
		Data: map[string]string{},
	}
}

// Peek answers Reserve for a dry-run request: it reads the ledger and writes nothing.
func (l *Ledger) Peek(ctx context.Context, asg *licensingv1alpha1.LicenseAssignment, pod PodRef, seats int32, allowOver bool) (Reservation, error) {
	cm := &corev1.ConfigMap{}
	err := l.Reader.Get(ctx, types.NamespacedName{Namespace: asg.Namespace, Name: LedgerName(asg.Name)}, cm)
	if apierrors.IsNotFound(err) {
		return Reservation{Admitted: seats > 0 || allowOver, Over: seats < 1, Used: 1}, nil
	}
	if err != nil {
		return Reservation{}, fmt.Errorf("reading seat ledger of %s: %w", asg.Name, err)
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	if _, err := l.prune(ctx, cm); err != nil {
		return Reservation{}, err
	}
	used := len(cm.Data)
	if used >= int(seats) && !allowOver {
		return Reservation{Used: used, Holders: holders(cm)}, nil
	}
	return Reservation{Admitted: true, Over: used >= int(seats), Used: used + 1, Holders: holders(cm)}, nil
}
