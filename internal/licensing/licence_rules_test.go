package licensing

import (
	"testing"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	ut "github.com/license-operator/license-operator/internal/util/testing"
)

func TestNeedsUsers(t *testing.T) {
	user := ut.MakeProduct("cad").Authorization(licensingv1alpha1.AuthorizationUser).Obj()
	key := ut.MakeProduct("db").Authorization(licensingv1alpha1.AuthorizationKey).Obj()
	cases := map[string]struct {
		l    *licensingv1alpha1.SoftwareLicense
		p    *licensingv1alpha1.LicenseProduct
		want bool
	}{
		"user-based without users": {l: ut.MakeLicense("l", "ns").Product("cad").Obj(), p: user, want: true},
		"user-based with a user":   {l: ut.MakeLicense("l", "ns").Product("cad").Users("ada@example.com").Obj(), p: user},
		"key-based without users":  {l: ut.MakeLicense("l", "ns").Product("db").Obj(), p: key},
		"no product (yet)":         {l: ut.MakeLicense("l", "ns").Product("cad").Obj()},
	}
	for name, c := range cases {
		if got := NeedsUsers(c.l, c.p); got != c.want {
			t.Errorf("%s: NeedsUsers = %v, want %v", name, got, c.want)
		}
	}
}

func TestZeroSeatsWarning(t *testing.T) {
	if w := ZeroSeatsWarning(ut.MakeLicense("l", "ns").Seats(0).Obj()); w == "" {
		t.Error("seats 0: no warning")
	}
	for name, l := range map[string]*licensingv1alpha1.SoftwareLicense{
		"unlimited": ut.MakeLicense("l", "ns").Obj(),
		"five":      ut.MakeLicense("l", "ns").Seats(5).Obj(),
	} {
		if w := ZeroSeatsWarning(l); w != "" {
			t.Errorf("%s: warning %q", name, w)
		}
	}
}
