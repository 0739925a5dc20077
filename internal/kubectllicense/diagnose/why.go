package diagnose

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const whyExample = `  # Why does Pod render-2 not start?
  kubectl license why render-2 -n team-a

  # Why does Deployment web have fewer Pods than it asks for?
  kubectl license why deployment/web -n team-a

  # The same for a Job, a StatefulSet, a ReplicaSet, a DaemonSet or a CronJob
  kubectl license why job/nightly-render`

// NewWhyCmd returns `why POD` and `why KIND/NAME`: why a Pod waits for a
// licence seat, or why a workload's Pods are refused. flags are the
// plugin's kubeconfig flags (kubeconfig, --context, -n).
func NewWhyCmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "why (POD | TYPE/NAME)",
		Short: "Explain why a Pod waits for a licence seat, or why a workload's Pods are refused",
		Long: `Explain why a Pod waits for a licence seat, or why a workload's Pods are refused.

For a Pod, it reads the Pod's scheduling gates, the WaitingForSeat events the
operator writes on it, and the status of the assignment and licence whose line
it waits in, and says where it stands and what would let it start, in the
words of the admission webhook.

A refused Pod never exists. For a workload (deployment, replicaset,
statefulset, daemonset, job or cronjob) it reads the FailedCreate events its
controller wrote when the webhook refused a Pod, and shows the webhook's
refusal; it also explains the workload's Pods that wait in line.

It reads Pods, events, workloads and the status of licences and assignments,
never the operator's seat ledgers.`,
		Example: whyExample,
		Args:    cobra.RangeArgs(1, 2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return completeTargets(cmd.Context(), flags, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := parseTarget(args)
			if err != nil {
				return err
			}
			return silence(cmd, runWhy(cmd.Context(), flags, streams.Out, t))
		},
	}
	return cmd
}

func runWhy(ctx context.Context, flags *genericclioptions.ConfigFlags, out io.Writer, t target) error {
	s, err := newSession(flags, nil)
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return Why(ctx, s.client, s.namespace, t.kind, t.name, time.Now(), out)
}

// Why writes why the Pod (kind "Pod") or the workload kind/name of
// namespace waits or is refused, read through r, at now.
func Why(ctx context.Context, r client.Reader, namespace, kind, name string, now time.Time, out io.Writer) error {
	if kind == kindPod {
		pod := &corev1.Pod{}
		if err := r.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, pod); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("pod %s not found in namespace %s: a Pod the webhook refused never exists; "+
					"ask about its workload (kubectl license why deployment/NAME) or try its manifest (kubectl license can-i -f FILE)", name, namespace)
			}
			return err
		}
		return whyPod(ctx, r, pod, now, out)
	}
	return whyWorkload(ctx, r, namespace, kind, name, now, out)
}

// target is what why was asked about.
type target struct{ kind, name string }

const kindPod = "Pod"

// kindAliases are the names why takes for each kind, as kubectl does.
var kindAliases = map[string]string{
	"pod": kindPod, "pods": kindPod, "po": kindPod,
	"deployment": kindDeployment, "deployments": kindDeployment, "deploy": kindDeployment, "deployment.apps": kindDeployment,
	"replicaset": kindReplicaSet, "replicasets": kindReplicaSet, "rs": kindReplicaSet, "replicaset.apps": kindReplicaSet,
	"statefulset": kindStatefulSet, "statefulsets": kindStatefulSet, "sts": kindStatefulSet, "statefulset.apps": kindStatefulSet,
	"daemonset": kindDaemonSet, "daemonsets": kindDaemonSet, "ds": kindDaemonSet, "daemonset.apps": kindDaemonSet,
	"job": kindJob, "jobs": kindJob, "job.batch": kindJob,
	"cronjob": kindCronJob, "cronjobs": kindCronJob, "cj": kindCronJob, "cronjob.batch": kindCronJob,
}

// parseTarget reads POD, TYPE/NAME or TYPE NAME.
func parseTarget(args []string) (target, error) {
	var kind, name string
	switch {
	case len(args) == 2:
		kind, name = args[0], args[1]
	case strings.Contains(args[0], "/"):
		kind, name, _ = strings.Cut(args[0], "/")
	default:
		kind, name = "pod", args[0]
	}
	k, ok := kindAliases[strings.ToLower(kind)]
	if !ok {
		return target{}, fmt.Errorf("why explains a pod, deployment, replicaset, statefulset, daemonset, job or cronjob, not %q", kind)
	}
	if name == "" || strings.Contains(name, "/") {
		return target{}, fmt.Errorf("%q is not a name", name)
	}
	return target{kind: k, name: name}, nil
}

// completeTargets completes Pod names, and TYPE/NAME once a type is typed.
func completeTargets(ctx context.Context, flags *genericclioptions.ConfigFlags, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	s, err := newSession(flags, nil)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if ctx == nil {
		ctx = context.Background()
	}
	kind, _, typed := strings.Cut(toComplete, "/")
	if !typed {
		pods := &corev1.PodList{}
		var out []string
		if err := s.client.List(ctx, pods, client.InNamespace(s.namespace)); err == nil {
			for _, p := range pods.Items {
				out = append(out, p.Name)
			}
		}
		out = append(out, "deployment/", "statefulset/", "replicaset/", "daemonset/", "job/", "cronjob/")
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	k, ok := kindAliases[strings.ToLower(kind)]
	if !ok || k == kindPod {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	list, err := listWorkloads(ctx, s.client, s.namespace, k)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out := make([]string, 0, len(list))
	for _, o := range list {
		out = append(out, kind+"/"+o.GetName())
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
