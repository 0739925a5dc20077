package controller

// This file holds the client side of seat accounting that is not the
// reconcile pass itself: the record of the assignment statuses this process
// wrote (so that a pass never decides from a cache that has not seen them
// yet), the one-time check that the cache has caught up with the API server
// when a process starts granting, the guarded status write, and the statuses
// of assignments that no licence answers for (their licence or product does
// not exist). docs/seat-accounting.md explains how these fit together.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// errCacheBehind aborts a pass that would grant seats while the cache has
// not caught up with the API server; the pass is retried.
var errCacheBehind = errors.New("the cache has not caught up with the API server yet")

// seatState is what the seat accounting of one SoftwareLicenseReconciler
// keeps in memory. Its zero value is ready to use. Nothing in it is a source
// of truth: it only makes the cache at least as recent as this process's
// own writes, and it is rebuilt (empty) on restart.
type seatState struct {
	assumed assumedAssignments
	// licences are the licences as this process's last writes left them
	// (finalizer, status), until the cache shows those writes.
	licences assumedObjects[*licensingv1alpha1.SoftwareLicense]
	fence    cacheFence
	// kicks, when set, enqueues a licence whose reconcile must write a
	// decision another licence's pass made (a productRef assignment it binds).
	kicks chan event.GenericEvent
}

// assumedObjects remembers the objects this process wrote until the
// informer cache shows them: a pass that read an object from the cache
// before our own write arrived there sees our write instead. This is the
// "assume" of the kube-scheduler's cache and of Kueue's workloads. For
// assignments, without it a pass right after a binding would count a seat as
// free that it just gave away; for licences, a pass right after a status
// write would patch from a stale resourceVersion and fail with a Conflict.
type assumedObjects[T client.Object] struct {
	mu sync.Mutex
	m  map[types.NamespacedName]*assumedObject[T]
}

// assumedAssignments are the assignment statuses this process wrote.
type assumedAssignments = assumedObjects[*licensingv1alpha1.LicenseAssignment]

type assumedObject[T client.Object] struct {
	// obj is the object as our last write returned it.
	obj T
	// older are the resourceVersions that precede obj: a cached object at one
	// of them has not seen our write. The cache only moves forward, so any
	// other version is newer and the record is dropped.
	older map[string]bool
	// uncertain: the last write failed in a way that leaves its outcome
	// unknown (a timeout); the next pass reads the object from the API server.
	uncertain bool
}

// view returns what a pass must use for a cached object: our own later
// write when the cache has not seen it yet, else the cached object. The
// object returned is shared: a caller that changes it copies it first.
func (s *assumedObjects[T]) view(cached T) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := client.ObjectKeyFromObject(cached)
	e, ok := s.m[key]
	if !ok {
		return cached
	}
	if e.uncertain || (e.older[cached.GetResourceVersion()] && e.obj.GetUID() == cached.GetUID()) {
		return e.obj
	}
	delete(s.m, key)
	return cached
}

// record keeps obj as what the next view of its key returns, preceded by
// the version before.
func (s *assumedObjects[T]) record(before string, obj T, uncertain bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[types.NamespacedName]*assumedObject[T]{}
	}
	key := client.ObjectKeyFromObject(obj)
	e, ok := s.m[key]
	if !uncertain && obj.GetResourceVersion() == before {
		// The write changed nothing (an empty patch): the object is still
		// at the version it was based on, which is the cache's or our
		// pending record's. Marking that version as older would keep the
		// record for as long as the object stays unchanged (view keeps it
		// while the cache shows "before"): after a restart, a copy of
		// every licence (issue 15).
		return
	}
	if !ok {
		e = &assumedObject[T]{older: map[string]bool{}}
		s.m[key] = e
	}
	e.older[before] = true
	e.obj, e.uncertain = obj.DeepCopyObject().(T), uncertain
}

// wrote records a successful write: before is the object the write was
// based on, after the object the API server returned.
func (s *assumedObjects[T]) wrote(before, after T) {
	s.record(before.GetResourceVersion(), after, false)
}

// unsure records a write whose outcome is unknown.
func (s *assumedObjects[T]) unsure(before, attempted T) {
	s.record(before.GetResourceVersion(), attempted, true)
}

// forget drops the record of a deleted object.
func (s *assumedObjects[T]) forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

// unsureKeys lists the objects whose last write has an unknown outcome.
func (s *assumedObjects[T]) unsureKeys() []types.NamespacedName {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []types.NamespacedName
	for k, e := range s.m {
		if e.uncertain {
			keys = append(keys, k)
		}
	}
	return keys
}

// resolve settles the record of a write with an unknown outcome from the
// object as the API server has it now (nil when it is gone).
func (s *assumedObjects[T]) resolve(key types.NamespacedName, current T, gone bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok {
		return
	}
	if gone || e.older[current.GetResourceVersion()] {
		// Gone, or the write never happened: the cache will show the truth.
		delete(s.m, key)
		return
	}
	e.obj, e.uncertain = current.DeepCopyObject().(T), false
}

// cacheFence makes a process check once, before its first grant, that its
// informer cache holds every assignment the API server held when the check
// began, at that version or later. After a restart, or when a standby
// replica becomes the leader, the cache may still lag the writes of the
// process that granted before; a grant decided from such a cache could give
// away a seat that is taken. Later passes need no such check: the only
// writer of bindings is this process from then on, and assumedAssignments
// covers its own writes.
type cacheFence struct {
	mu     sync.Mutex
	passed bool
}

// check lists the assignments from the API server (metadata only, a
// consistent read) and compares them with the cache. It returns
// errCacheBehind while the cache lags.
func (f *cacheFence) check(ctx context.Context, apiReader, cached client.Reader) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.passed || apiReader == nil {
		return nil
	}
	var live metav1.PartialObjectMetadataList
	live.SetGroupVersionKind(licensingv1alpha1.GroupVersion.WithKind("LicenseAssignmentList"))
	var behind []string
	opts := &client.ListOptions{Limit: 500}
	for {
		if err := apiReader.List(ctx, &live, opts); err != nil {
			return fmt.Errorf("listing the assignments from the API server: %w", err)
		}
		for i := range live.Items {
			m := &live.Items[i]
			var c licensingv1alpha1.LicenseAssignment
			err := cached.Get(ctx, client.ObjectKeyFromObject(m), &c)
			switch {
			case apierrors.IsNotFound(err):
				behind = append(behind, m.Namespace+"/"+m.Name)
			case err != nil:
				return err
			case !atLeast(c.ResourceVersion, m.ResourceVersion):
				behind = append(behind, m.Namespace+"/"+m.Name)
			}
		}
		if live.Continue == "" {
			break
		}
		opts.Continue = live.Continue
	}
	if len(behind) > 0 {
		ctrl.LoggerFrom(ctx).V(1).Info("Waiting for the cache to catch up before granting seats", "behind", len(behind), "first", behind[0])
		return errCacheBehind
	}
	f.passed = true
	return nil
}

// atLeast says whether resourceVersion have is the same as or later than
// want. resourceVersions are opaque to clients, but those of an
// etcd-backed API server are its revision numbers; when they do not parse
// as such only equality counts.
func atLeast(have, want string) bool {
	if have == want {
		return true
	}
	h, err1 := strconv.ParseUint(have, 10, 64)
	w, err2 := strconv.ParseUint(want, 10, 64)
	return err1 == nil && err2 == nil && h >= w
}

// writeAssignmentStatus writes status on the assignment with a full status
// Update: the resourceVersion of a, the version the decision was made from,
// guards it, so a decision made from a stale object fails with Conflict
// instead of overwriting a newer one. It records the write for later passes.
func (r *SoftwareLicenseReconciler) writeAssignmentStatus(ctx context.Context, a *licensingv1alpha1.LicenseAssignment,
	status licensingv1alpha1.LicenseAssignmentStatus) error {
	updated := a.DeepCopy()
	updated.Status = status
	err := r.Status().Update(ctx, updated)
	switch {
	case err == nil:
		r.seats.assumed.wrote(a, updated)
		return nil
	case apierrors.IsConflict(err):
		return err
	case apierrors.IsNotFound(err):
		r.seats.assumed.forget(client.ObjectKeyFromObject(a))
		return err
	default:
		// A timeout or a dropped connection: the write may or may not have
		// happened. Until a read settles it, assume it did.
		r.seats.assumed.unsure(a, updated)
		return err
	}
}

// settleUnsureWrites reads from the API server every assignment whose last
// write has an unknown outcome.
func (r *SoftwareLicenseReconciler) settleUnsureWrites(ctx context.Context) error {
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	for _, key := range r.seats.assumed.unsureKeys() {
		var a licensingv1alpha1.LicenseAssignment
		switch err := reader.Get(ctx, key, &a); {
		case apierrors.IsNotFound(err):
			r.seats.assumed.resolve(key, nil, true)
		case err != nil:
			return fmt.Errorf("reading assignment %s after a write of unknown outcome: %w", key, err)
		default:
			r.seats.assumed.resolve(key, &a, false)
		}
	}
	return nil
}

// kick enqueues the licence with key "namespace/name".
func (r *SoftwareLicenseReconciler) kick(ctx context.Context, key string) {
	ns, name, ok := cutKey(key)
	if !ok || r.seats.kicks == nil {
		return
	}
	lic := &licensingv1alpha1.SoftwareLicense{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	select {
	case r.seats.kicks <- event.GenericEvent{Object: lic}:
	case <-ctx.Done():
	}
}

// orphanRequest is the request that stands for the productRef assignments
// of a product no licence covers: a licence key with no namespace, which no
// SoftwareLicense has.
func orphanRequest(product string) ctrl.Request {
	return ctrl.Request{NamespacedName: types.NamespacedName{Name: product}}
}

// reconcileOrphans writes the status of the assignments no licence answers
// for, when req names no SoftwareLicense: those whose spec.licenseRef names
// it, those still bound to it (their licence vanished without releasing
// them, for example when its finalizer was removed by hand), and, for an
// orphanRequest, the productRef assignments of a product no licence covers.
// They wait (Pending) with a message that says what is missing.
func (r *SoftwareLicenseReconciler) reconcileOrphans(ctx context.Context, req ctrl.Request) error {
	now := r.Clock.Now()
	type orphan struct {
		a               *licensingv1alpha1.LicenseAssignment
		reason, message string
	}
	var orphans []orphan
	if req.Namespace == "" {
		product := req.Name
		var licenses licensingv1alpha1.SoftwareLicenseList
		if err := r.List(ctx, &licenses, client.MatchingFields{IndexLicenseCovers: product}); err != nil {
			return fmt.Errorf("listing the licences of product %s: %w", product, err)
		}
		if len(licenses.Items) > 0 {
			return nil // the licences of the product answer for them
		}
		var list licensingv1alpha1.LicenseAssignmentList
		if err := r.List(ctx, &list, client.MatchingFields{IndexAssignmentProduct: product}); err != nil {
			return fmt.Errorf("listing the assignments of product %s: %w", product, err)
		}
		reason, message := licensingv1alpha1.ReasonLicenseNotFound,
			fmt.Sprintf("no licence of product %s exists: create a SoftwareLicense of it shared with this namespace", product)
		var p licensingv1alpha1.LicenseProduct
		switch err := r.Get(ctx, types.NamespacedName{Name: product}, &p); {
		case apierrors.IsNotFound(err):
			reason, message = licensingv1alpha1.ReasonProductNotFound,
				fmt.Sprintf("product %s does not exist: create the LicenseProduct or fix spec.productRef", product)
		case err != nil:
			return err
		}
		for i := range list.Items {
			if a := &list.Items[i]; a.Status.License == "" {
				orphans = append(orphans, orphan{a, reason, message})
			}
		}
	} else {
		key := LicenseKey(req.Namespace, req.Name)
		for _, field := range []string{IndexAssignmentLicenseRef, IndexAssignmentLicense} {
			var list licensingv1alpha1.LicenseAssignmentList
			if err := r.List(ctx, &list, client.MatchingFields{field: key}); err != nil {
				return fmt.Errorf("listing the assignments of licence %s: %w", key, err)
			}
			for i := range list.Items {
				a := &list.Items[i]
				if field == IndexAssignmentLicenseRef && a.Status.License != "" && a.Status.License != key {
					continue
				}
				message := fmt.Sprintf("licence %s does not exist: create it, or fix spec.licenseRef", key)
				if a.Spec.ProductRef != nil {
					message = fmt.Sprintf("licence %s no longer exists; it waits for another licence of product %s", key, a.Spec.ProductRef.Name)
				}
				orphans = append(orphans, orphan{a, licensingv1alpha1.ReasonLicenseNotFound, message})
			}
		}
	}
	for _, o := range orphans {
		a := r.seats.assumed.view(o.a)
		if a.DeletionTimestamp != nil {
			continue
		}
		status := licensing.WaitingStatus(a, o.reason, o.message, now)
		if equality.Semantic.DeepEqual(a.Status, status) {
			continue
		}
		if err := r.writeAssignmentStatus(ctx, a, status); err != nil {
			return fmt.Errorf("writing the status of assignment %s: %w", klog.KObj(a), client.IgnoreNotFound(err))
		}
		ctrl.LoggerFrom(ctx).V(1).Info("Assignment waits for a licence", "assignment", klog.KObj(a), "reason", o.reason)
		if o.a.Spec.ProductRef != nil {
			// A productRef assignment released by a vanished licence: the
			// other licences of the product may take it now.
			var licenses licensingv1alpha1.SoftwareLicenseList
			if err := r.List(ctx, &licenses, client.MatchingFields{IndexLicenseCovers: o.a.Spec.ProductRef.Name}); err == nil {
				for i := range licenses.Items {
					r.kick(ctx, LicenseKey(licenses.Items[i].Namespace, licenses.Items[i].Name))
				}
			}
		}
	}
	return nil
}
