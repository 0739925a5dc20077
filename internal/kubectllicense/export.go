package kubectllicense

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
)

// NewExportCmd is `kubectl license export`: the licences as seed 000
// SoftwareLicense records, for an ITAM tool.
func NewExportCmd(f *Factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "The licences as SoftwareLicense records (snake_case JSON or CSV) for an ITAM tool",
		Long: `Export every SoftwareLicense of the namespace (-A: of every namespace) as the
SoftwareLicense record an IT asset management tool imports (seed 000): a JSON
array of snake_case records, or CSV with one column per field. Seats used
and available, status and compliance are those the operator computed.
docs/kubectl-license.md maps each field to the CRD.`,
		Example: `  # every licence of the cluster, for the ITAM import
  kubectl license export -A > licences.json
  kubectl license export -A -o csv > licences.csv`,
		Args: cobra.NoArgs,
	}
	output := AddOutputFlag(cmd, FormatJSON, FormatYAML, FormatCSV)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		format, err := output.Format()
		if err != nil {
			return err
		}
		c, ns, err := f.ListScope()
		if err != nil {
			return err
		}
		records, err := exportRecords(cmd.Context(), c, ns)
		if err != nil {
			return err
		}
		out, err := exportOutput(records)
		if err != nil {
			return err
		}
		return Print(streams.Out, format, out)
	}
	return cmd
}

// exportRecords reads the licences of namespace ("" for all), their
// products where the user may list them, and for a licence being deleted
// who deleted it (from its events, where the user may list them).
func exportRecords(ctx context.Context, c client.Reader, namespace string) ([]Record, error) {
	licences, err := listLicences(ctx, c, namespace)
	if err != nil {
		return nil, err
	}
	products := map[string]*licensingv1alpha1.LicenseProduct{}
	list := &licensingv1alpha1.LicenseProductList{}
	switch err := c.List(ctx, list); {
	case err == nil:
		for i := range list.Items {
			products[list.Items[i].Name] = &list.Items[i]
		}
	case !apierrors.IsForbidden(err):
		return nil, fmt.Errorf("listing LicenseProducts: %w", err)
	}
	events := map[string][]eventsv1.Event{}
	records := make([]Record, 0, len(licences))
	for i := range licences {
		l := &licences[i]
		deletedBy := ""
		if l.DeletionTimestamp != nil {
			if _, read := events[l.Namespace]; !read {
				el, err := ListIn(ctx, c, func() *eventsv1.EventList { return &eventsv1.EventList{} }, l.Namespace)
				if err != nil && !apierrors.IsForbidden(err) {
					return nil, fmt.Errorf("listing events in namespace %s: %w", l.Namespace, err)
				}
				events[l.Namespace] = el.Items
			}
			deletedBy = DeletedBy(events[l.Namespace], string(l.UID))
		}
		var product *licensingv1alpha1.LicenseProduct
		if l.Spec.ProductRef != nil {
			product = products[l.Spec.ProductRef.Name]
		}
		records = append(records, ExportRecord(l, product, deletedBy))
	}
	sort.Slice(records, func(i, j int) bool {
		if records[i].TenantID != records[j].TenantID {
			return records[i].TenantID < records[j].TenantID
		}
		return records[i].CreatedAt < records[j].CreatedAt || (records[i].CreatedAt == records[j].CreatedAt && records[i].ID < records[j].ID)
	})
	return records, nil
}

func exportOutput(records []Record) (Output, error) {
	t := Table{Headers: RecordColumns()}
	for _, r := range records {
		row, err := r.CSVRow()
		if err != nil {
			return Output{}, err
		}
		t.Rows = append(t.Rows, row)
	}
	return Output{Data: records, CSV: &t}, nil
}

// listLicences lists the licences of namespace, or of every namespace ("").
func listLicences(ctx context.Context, c client.Reader, namespace string) ([]licensingv1alpha1.SoftwareLicense, error) {
	list := &licensingv1alpha1.SoftwareLicenseList{}
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := c.List(ctx, list, opts...); err != nil {
		if apierrors.IsForbidden(err) && namespace == "" {
			return nil, fmt.Errorf("%w (you may not list licences in every namespace: name one with -n)", err)
		}
		return nil, err
	}
	return list.Items, nil
}
