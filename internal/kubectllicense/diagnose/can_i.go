package diagnose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// Verdict is can-i's answer for one workload.
type Verdict string

// The answers of can-i.
const (
	// Yes: the webhooks admit the workload and a Pod of it now.
	Yes Verdict = "yes"
	// No: a webhook refuses the workload or its Pod.
	No Verdict = "no"
	// Wait: a Pod of it is admitted with the operator's scheduling gate: it
	// would wait in line for a seat (or a use of a consumption licence).
	Wait Verdict = "wait"
)

// exitCode is the exit code of the verdict.
func (v Verdict) exitCode() int {
	switch v {
	case No:
		return ExitNo
	case Wait:
		return ExitWait
	}
	return ExitYes
}

// worse is the worse of two verdicts: no, then wait, then yes.
func worse(a, b Verdict) Verdict {
	if a == No || b == No {
		return No
	}
	if a == Wait || b == Wait {
		return Wait
	}
	return Yes
}

const canIExample = `  # Would the Pods of this Deployment be admitted now?
  kubectl license can-i -f deployment.yaml -n team-a

  # In a script: 0 yes, 2 no, 3 wait, 1 could not ask
  kubectl license can-i -f job.yaml && kubectl apply -f job.yaml`

// NewCanICmd returns `can-i -f FILE`: a server-side dry run, through the
// admission webhooks, of a Pod built from each workload of the files (and
// of the workload itself), answered yes, no or wait with the reason. flags
// are the plugin's kubeconfig flags (kubeconfig, --context, -n).
func NewCanICmd(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "can-i -f FILENAME",
		Short: "Ask the admission webhooks whether a workload's Pods would run now, wait for a seat, or be refused",
		Long: `Ask the admission webhooks whether a workload's Pods would run now, wait for a
licence seat, or be refused, without creating anything.

For each workload of the files (Pod, Deployment, StatefulSet, ReplicaSet, Job,
CronJob, DaemonSet; other kinds are skipped) it creates, with a server-side dry
run (dryRun=All), the workload and a Pod built from its pod template, through
the webhooks as they are configured in the cluster. A dry run stores nothing,
and the licensing webhook takes no seat and no use for it.

It answers, for each workload:
  yes   the webhooks admit the workload, and a Pod of it now;
  no    a webhook refuses the workload or its Pod: the refusal, in the webhook's words;
  wait  the Pod is admitted with the operator's scheduling gate: it would wait in
        line for a seat (or a use of a consumption licence); the webhook's warning
        says where.
The answer is for one Pod: the workload's own warnings (replicas that will
wait, a rollout that cannot finish) are shown under it.

Exit status: 0 when every answer is yes, 2 when one is no, 3 when one is wait
and none is no, 1 when it could not ask (no file, no cluster, no permission to
create the Pod: a dry run needs the same permissions as a create).`,
		Example: canIExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return silence(cmd, runCanI(ctx, flags, streams, files))
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil,
		"the workload manifests: files or directories of YAML or JSON (a directory's .yaml, .yml and .json files); - reads standard input")
	_ = cmd.MarkFlagRequired("filename")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

func runCanI(ctx context.Context, flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, files []string) error {
	var objs []*unstructured.Unstructured
	for _, f := range files {
		paths, err := manifestFiles(f)
		if err != nil {
			return err
		}
		for _, p := range paths {
			read, err := readManifests(p, streams.In)
			if err != nil {
				return err
			}
			objs = append(objs, read...)
		}
	}
	warnings := &warningCollector{}
	s, err := newSession(flags, warnings)
	if err != nil {
		return err
	}
	answers, err := CanI(ctx, s.client, warnings, s.namespace, objs)
	if err != nil {
		return err
	}
	verdict := Yes
	for i, a := range answers {
		if i > 0 {
			_, _ = fmt.Fprintln(streams.Out)
		}
		a.write(streams.Out)
		verdict = worse(verdict, a.Verdict)
	}
	if len(answers) == 0 {
		return fmt.Errorf("no workload in %s: can-i tries Pods, Deployments, StatefulSets, ReplicaSets, Jobs, CronJobs and DaemonSets", strings.Join(files, ", "))
	}
	if verdict != Yes {
		return verdictError{code: verdict.exitCode()}
	}
	return nil
}

// Answer is can-i's answer for one workload.
type Answer struct {
	// Kind, Namespace and Name of the workload.
	Kind, Namespace, Name string
	Verdict               Verdict
	// Reason says why, in the webhook's words where it gave any.
	Reason []string
	// Warnings are the other admission warnings of the workload and its Pod.
	Warnings []string
	// Notes say what was not tried.
	Notes []string
}

func (a Answer) write(out io.Writer) {
	_, _ = fmt.Fprintf(out, "%s %s/%s: %s\n", a.Kind, a.Namespace, a.Name, a.Verdict)
	for _, r := range a.Reason {
		indent(out, "  ", r)
	}
	for _, w := range a.Warnings {
		indent(out, "  warning: ", w)
	}
	for _, n := range a.Notes {
		indent(out, "  note: ", n)
	}
}

// Warner gives the warnings the API server sent since it was last asked.
type Warner interface {
	Take() []string
}

// CanI asks, with dry runs through c, about each workload of objs (other
// kinds are skipped); warnings collects the API server's warnings of c's
// requests. Objects without a namespace go to namespace.
func CanI(ctx context.Context, c client.Client, warnings Warner, namespace string, objs []*unstructured.Unstructured) ([]Answer, error) {
	var answers []Answer
	for _, u := range objs {
		obj, err := typed(u)
		if err != nil {
			return nil, err
		}
		if obj == nil {
			continue
		}
		if obj.GetNamespace() == "" {
			obj.SetNamespace(namespace)
		}
		a, err := canI(ctx, c, warnings, obj, u.GetKind())
		if err != nil {
			return nil, err
		}
		answers = append(answers, a)
	}
	return answers, nil
}

// typed converts a manifest into its typed workload object, or nil when it
// is not a workload can-i tries.
func typed(u *unstructured.Unstructured) (client.Object, error) {
	var obj client.Object
	switch gv := u.GroupVersionKind(); {
	case gv.Group == "" && gv.Version == "v1" && gv.Kind == kindPod:
		obj = &corev1.Pod{}
	case (gv.Group == "apps" || gv.Group == "batch") && gv.Version == "v1":
		if t := licensing.NewTemplated(gv.Kind); t != nil {
			obj = t
		}
	}
	if obj == nil {
		return nil, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return obj, nil
}

// canI tries one workload: the workload itself (unless it is a Pod), then
// a Pod of its template.
func canI(ctx context.Context, c client.Client, warnings Warner, obj client.Object, kind string) (Answer, error) {
	a := Answer{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), Verdict: Yes}
	warnings.Take()
	if _, isPod := obj.(*corev1.Pod); !isPod {
		err := c.Create(ctx, obj.DeepCopyObject().(client.Object), client.DryRunAll)
		a.Warnings = append(a.Warnings, warnings.Take()...)
		switch refusal, ok := refusalOf(err); {
		case ok:
			a.Verdict, a.Reason = No, []string{refusal}
			return a, nil
		case apierrors.IsAlreadyExists(err):
			a.Notes = append(a.Notes, fmt.Sprintf("%s %s exists: only a Pod of its template was tried", kind, obj.GetName()))
		case err != nil:
			return a, fmt.Errorf("dry-run create of %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
	pod := PodFor(obj)
	if pod.Name != "" {
		if err := c.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{}); err == nil {
			// A Pod of that name exists (and may hold a seat under it): ask for one like it.
			a.Notes = append(a.Notes, fmt.Sprintf("Pod %s exists: a Pod named %s-… was tried instead", pod.Name, pod.Name))
			pod.GenerateName, pod.Name = pod.Name+"-", ""
		}
	}
	warnings.Take()
	err := c.Create(ctx, pod, client.DryRunAll)
	podWarnings := warnings.Take()
	if refusal, ok := refusalOf(err); ok {
		a.Verdict, a.Reason = No, []string{refusal}
		a.Warnings = append(a.Warnings, podWarnings...)
		return a, nil
	}
	if err != nil {
		return a, fmt.Errorf("dry-run create of a Pod of %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
	}
	gate := ""
	switch {
	case licensing.SeatGated(pod):
		gate = licensingv1alpha1.SeatGate
	case licensing.HasSchedulingGate(pod, licensingv1alpha1.UseGate):
		gate = licensingv1alpha1.UseGate
	}
	if gate == "" {
		a.Reason = []string{admittedText(pod)}
		a.Warnings = append(a.Warnings, podWarnings...)
		return a, nil
	}
	a.Verdict = Wait
	// The webhook's warning that says where the Pod waits names the gate.
	for _, w := range podWarnings {
		if strings.Contains(w, "scheduling gate "+gate) {
			a.Reason = append(a.Reason, w)
		} else {
			a.Warnings = append(a.Warnings, w)
		}
	}
	if len(a.Reason) == 0 {
		a.Reason = []string{fmt.Sprintf("Pod %s/%s is admitted with the scheduling gate %s: it would wait in line", pod.Namespace, pod.Name, gate)}
	}
	return a, nil
}

// admittedText says why a Pod the webhooks admitted without a gate runs.
func admittedText(pod *corev1.Pod) string {
	if pod.Labels[licensingv1alpha1.LicensedLabel] == licensingv1alpha1.LicensedLabelValue {
		return fmt.Sprintf("Pod %s/%s is admitted by the licensing webhook: a seat covers it now (the dry run took none)", pod.Namespace, pod.Name)
	}
	return fmt.Sprintf("Pod %s/%s is admitted; it needs no licence seat", pod.Namespace, pod.Name)
}

// refusalOf is the refusal text of an admission denial, the webhook's own
// words (or a ValidatingAdmissionPolicy's); ok is false for any other
// outcome.
func refusalOf(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	if r, ok := ParseRefusal(err.Error()); ok {
		return r.Message, true
	}
	if strings.Contains(err.Error(), "ValidatingAdmissionPolicy") && strings.Contains(err.Error(), "denied request") {
		return err.Error(), true
	}
	return "", false
}

// PodFor is the Pod a workload's controller would create from its pod
// template (named after the workload, for the webhook to complete), or a
// copy of a Pod as it would be created.
func PodFor(obj client.Object) *corev1.Pod {
	if p, ok := obj.(*corev1.Pod); ok {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, GenerateName: p.GenerateName, Namespace: p.Namespace,
			Labels: p.Labels, Annotations: p.Annotations,
		}, Spec: *p.Spec.DeepCopy()}
		return pod
	}
	tmpl, _ := licensing.PodTemplateOf(obj)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: obj.GetName() + "-", Namespace: obj.GetNamespace(),
			Labels: tmpl.Labels, Annotations: tmpl.Annotations,
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
}

// manifestFiles are the files of path: itself, or for a directory the
// .yaml, .yml and .json files in it (not below it), by name, as kubectl -f
// reads a directory.
func manifestFiles(path string) ([]string, error) {
	if path == "-" {
		return []string{path}, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				out = append(out, filepath.Join(path, e.Name()))
			}
		}
	}
	return out, nil
}

// readManifests reads the objects of a YAML or JSON file ("-": in), with
// the items of a List.
func readManifests(path string, in io.Reader) ([]*unstructured.Unstructured, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(in)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", path, err)
			}
			for i := range list.Items {
				out = append(out, &list.Items[i])
			}
			continue
		}
		out = append(out, u)
	}
}

// warningCollector keeps the API server's warnings until taken.
type warningCollector struct {
	mu   sync.Mutex
	list []string
}

// HandleWarningHeaderWithContext implements rest.WarningHandlerWithContext.
func (w *warningCollector) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// Take implements Warner.
func (w *warningCollector) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}
