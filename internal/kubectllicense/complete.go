package kubectllicense

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// CompletionFunc completes an argument or a flag value.
type CompletionFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// completionTimeout bounds the API calls of a completion: a shell waits on it.
const completionTimeout = 5 * time.Second

// CompleteLicenceNames completes the first argument with the names of the
// licences of the namespace of -n (NAMESPACE/NAME with -A).
func CompleteLicenceNames(f *Factory) CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completeNames(cmd, f, &licensingv1alpha1.SoftwareLicenseList{}, true, toComplete)
	}
}

// CompleteProductNames completes a flag value with LicenseProduct names.
func CompleteProductNames(f *Factory) CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return completeNames(cmd, f, &licensingv1alpha1.LicenseProductList{}, false, toComplete)
	}
}

// completeNamespaces completes -n with the namespaces of the cluster.
func completeNamespaces(f *Factory) CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return completeNames(cmd, f, &corev1.NamespaceList{}, false, toComplete)
	}
}

// completeContexts completes --context with the kubeconfig's contexts.
func completeContexts(f *Factory) CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		cfg, err := f.ConfigFlags.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for name := range cfg.Contexts {
			if strings.HasPrefix(name, toComplete) {
				names = append(names, name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNames lists into list (in the namespace of -n when namespaced,
// NAMESPACE/NAME with -A) and keeps the names that start with toComplete;
// an error completes nothing (a shell cannot show it).
func completeNames(cmd *cobra.Command, f *Factory, list client.ObjectList, namespaced bool, toComplete string) ([]string, cobra.ShellCompDirective) {
	c, ns, err := f.ListScope()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	var opts []client.ListOption
	if namespaced && ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	if err := c.List(ctx, list, opts...); err != nil {
		cobra.CompDebugln("kubectl-license completion: "+err.Error(), true)
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		obj := o.(client.Object)
		name := obj.GetName()
		if namespaced && ns == "" {
			name = obj.GetNamespace() + "/" + name
		}
		if strings.HasPrefix(name, toComplete) {
			names = append(names, name)
		}
		return nil
	})
	return names, cobra.ShellCompDirectiveNoFileComp
}
