package kubectllicense

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What a user may not read is counted, never named (DESIGN.md: "the CLI
// names seat holders only in the reader's own namespace and counts the
// rest"). The API server is the judge: a list that answers Forbidden is a
// namespace the user cannot read, and nothing of it is shown.

// Candidates returns the namespaces to read one at a time, and whether they
// are every namespace of the cluster.
type Candidates func(context.Context) (namespaces []string, all bool, err error)

// ListReadable lists with a list made by newList: in every namespace at
// once when the user may; otherwise one namespace at a time, in the
// namespaces candidates returns, skipping those whose list is Forbidden. It
// returns the lists read, and whether they hold every namespace's objects
// (complete): the cluster-wide list was allowed, or every namespace of the
// cluster was read.
func ListReadable[L client.ObjectList](ctx context.Context, c client.Reader, newList func() L,
	candidates Candidates, opts ...client.ListOption) (lists []L, complete bool, err error) {
	all := newList()
	err = c.List(ctx, all, opts...)
	if err == nil {
		return []L{all}, true, nil
	}
	if !apierrors.IsForbidden(err) {
		return nil, false, err
	}
	namespaces, everyNamespace, err := candidates(ctx)
	if err != nil {
		return nil, false, err
	}
	complete = everyNamespace
	for _, ns := range namespaces {
		l, err := ListIn(ctx, c, newList, ns, opts...)
		switch {
		case apierrors.IsForbidden(err):
			complete = false
		case err != nil:
			return nil, false, err
		default:
			lists = append(lists, l)
		}
	}
	return lists, complete, nil
}

// ListIn lists in one namespace.
func ListIn[L client.ObjectList](ctx context.Context, c client.Reader, newList func() L, namespace string, opts ...client.ListOption) (L, error) {
	l := newList()
	err := c.List(ctx, l, append(slices.Clone(opts), client.InNamespace(namespace))...)
	return l, err
}

// NamespacesOrKnown is the Candidates of every namespace of the cluster
// when the user may list them, else of the known ones (the namespaces the
// user named or that the objects at hand live in).
func NamespacesOrKnown(c client.Reader, known ...string) Candidates {
	return func(ctx context.Context) ([]string, bool, error) {
		list := &corev1.NamespaceList{}
		err := c.List(ctx, list)
		switch {
		case apierrors.IsForbidden(err):
			out := slices.Clone(known)
			slices.Sort(out)
			return slices.Compact(out), false, nil
		case err != nil:
			return nil, false, fmt.Errorf("listing namespaces: %w", err)
		}
		out := make([]string, 0, len(list.Items))
		for _, ns := range list.Items {
			out = append(out, ns.Name)
		}
		return out, true, nil
	}
}
