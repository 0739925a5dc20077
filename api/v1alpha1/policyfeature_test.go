package v1alpha1

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestPolicyFeatureShortForm(t *testing.T) {
	five := int64(5)
	cases := map[string]struct {
		in   string
		want []PolicyFeature
		err  bool
	}{
		"codes":                  {in: `["export","render"]`, want: []PolicyFeature{{Code: "export"}, {Code: "render"}}},
		"objects":                {in: `[{"code":"export","maxConsumption":5}]`, want: []PolicyFeature{{Code: "export", MaxConsumption: &five}}},
		"mixed":                  {in: `["export",{"code":"render"}]`, want: []PolicyFeature{{Code: "export"}, {Code: "render"}}},
		"a number":               {in: `[5]`, err: true},
		"an object with no code": {in: `[{"maxConsumption":"x"}]`, err: true},
	}
	for name, c := range cases {
		var got []PolicyFeature
		err := json.Unmarshal([]byte(c.in), &got)
		if (err != nil) != c.err {
			t.Errorf("%s: error %v, want error %v", name, err, c.err)
			continue
		}
		if !c.err && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, want %+v", name, got, c.want)
		}
	}
	// It marshals as the object, the form the API stores.
	out, err := json.Marshal([]PolicyFeature{{Code: "export"}})
	if err != nil || string(out) != `[{"code":"export"}]` {
		t.Errorf("marshal: %s %v", out, err)
	}
}
