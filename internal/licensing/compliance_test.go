package licensing

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
)

func TestComputeCompliance(t *testing.T) {
	cases := map[string]struct {
		used      int32
		total     *int32
		threshold *int32
		want      v1.Compliance
	}{
		"unlimited is never over-allocated":  {1000, nil, ptr.To[int32](50), v1.ComplianceCompliant},
		"within seats":                       {5, ptr.To[int32](10), nil, v1.ComplianceCompliant},
		"all seats used":                     {10, ptr.To[int32](10), nil, v1.ComplianceCompliant},
		"one over":                           {11, ptr.To[int32](10), nil, v1.ComplianceOverAllocated},
		"over beats under":                   {11, ptr.To[int32](10), ptr.To[int32](100), v1.ComplianceOverAllocated},
		"below the threshold":                {4, ptr.To[int32](10), ptr.To[int32](50), v1.ComplianceUnderUtilized},
		"exactly at the threshold":           {5, ptr.To[int32](10), ptr.To[int32](50), v1.ComplianceCompliant},
		"threshold with a remainder":         {1, ptr.To[int32](3), ptr.To[int32](34), v1.ComplianceUnderUtilized},
		"threshold with a remainder, above":  {2, ptr.To[int32](3), ptr.To[int32](34), v1.ComplianceCompliant},
		"zero seats are not under-utilised":  {0, ptr.To[int32](0), ptr.To[int32](50), v1.ComplianceCompliant},
		"zero seats with one used":           {1, ptr.To[int32](0), nil, v1.ComplianceOverAllocated},
		"no threshold: never under-utilised": {0, ptr.To[int32](10), nil, v1.ComplianceCompliant},
		"large numbers do not overflow":      {1, ptr.To[int32](10000000), ptr.To[int32](100), v1.ComplianceUnderUtilized},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := ComputeCompliance(tc.used, tc.total, tc.threshold); got != tc.want {
				t.Errorf("ComputeCompliance() = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestSeatsExhaustedAndAvailable(t *testing.T) {
	type result struct {
		Exhausted bool
		Available *int32
	}
	cases := map[string]struct {
		used  int32
		total *int32
		want  result
	}{
		"unlimited": {5, nil, result{false, nil}},
		"free":      {5, ptr.To[int32](10), result{false, ptr.To[int32](5)}},
		"full":      {10, ptr.To[int32](10), result{true, ptr.To[int32](0)}},
		"over":      {12, ptr.To[int32](10), result{true, ptr.To[int32](0)}},
		"zero":      {0, ptr.To[int32](0), result{true, ptr.To[int32](0)}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := result{SeatsExhausted(tc.used, tc.total), AvailableSeats(tc.used, tc.total)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
