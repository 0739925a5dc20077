package licensing

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	v1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

func TestAssignmentUsage(t *testing.T) {
	period := at(t, "2025-02-01T00:00:00Z")
	withBaseline := func(a *ut.AssignmentWrapper, start string, baseline int64) *v1.LicenseAssignment {
		a.Status.Consumption = &v1.AssignmentConsumption{PeriodStart: &metav1.Time{Time: at(t, start)}, Baseline: baseline}
		return a.Obj()
	}
	cases := map[string]struct {
		a    *v1.LicenseAssignment
		want int64
	}{
		"nothing reported":              {ut.MakeAssignment("a", "ns").Obj(), 0},
		"no baseline: the whole total":  {ut.MakeAssignment("a", "ns").Consumption(40).Obj(), 40},
		"baseline of this period":       {withBaseline(ut.MakeAssignment("a", "ns").Consumption(40), "2025-02-01T00:00:00Z", 25), 15},
		"baseline of an earlier period": {withBaseline(ut.MakeAssignment("a", "ns").Consumption(40), "2025-01-01T00:00:00Z", 25), 40},
		"baseline above the total":      {withBaseline(ut.MakeAssignment("a", "ns").Consumption(10), "2025-02-01T00:00:00Z", 25), 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := AssignmentUsage(tc.a, period); got != tc.want {
				t.Errorf("AssignmentUsage() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestComputeConsumption(t *testing.T) {
	cases := map[string]struct {
		policy *v1.ConsumptionPolicy
		used   int64
		want   ConsumptionResult
	}{
		"no policy":               {nil, 5, ConsumptionResult{Used: 5}},
		"no maximum":              {&v1.ConsumptionPolicy{}, 5, ConsumptionResult{Used: 5}},
		"below the maximum":       {&v1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](10)}, 9, ConsumptionResult{Used: 9}},
		"at the maximum":          {&v1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](10)}, 10, ConsumptionResult{Used: 10, Exhausted: true}},
		"beyond without overages": {&v1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](10)}, 12, ConsumptionResult{Used: 12, Overage: 2, Exhausted: true}},
		"overages allowed, unlimited": {
			&v1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](10), AllowOverages: ptr.To(true)}, 500,
			ConsumptionResult{Used: 500, Overage: 490},
		},
		"overages allowed, within maxOverages": {
			&v1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](10), AllowOverages: ptr.To(true), MaxOverages: ptr.To[int64](5)}, 14,
			ConsumptionResult{Used: 14, Overage: 4},
		},
		"overages allowed, at maxOverages": {
			&v1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](10), AllowOverages: ptr.To(true), MaxOverages: ptr.To[int64](5)}, 15,
			ConsumptionResult{Used: 15, Overage: 5, Exhausted: true},
		},
		"allowOverages false": {
			&v1.ConsumptionPolicy{MaxConsumptions: ptr.To[int64](10), AllowOverages: ptr.To(false)}, 10,
			ConsumptionResult{Used: 10, Exhausted: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ComputeConsumption(tc.policy, tc.used)); diff != "" {
				t.Errorf("ComputeConsumption() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
