package licensing

import (
	"strings"
	"testing"

	"k8s.io/utils/ptr"

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

func TestTrialAutoRenews(t *testing.T) {
	trial := &licensingv1alpha1.PolicySettings{Trial: ptr.To(true)}
	paid := &licensingv1alpha1.PolicySettings{Trial: ptr.To(false)}
	renewing := ut.MakeLicense("l", "ns").AutoRenew().Obj()
	if !TrialAutoRenews(renewing, trial) {
		t.Error("a renewing trial is not refused")
	}
	if TrialAutoRenews(renewing, paid) || TrialAutoRenews(ut.MakeLicense("l", "ns").Obj(), trial) || TrialAutoRenews(renewing, nil) {
		t.Error("refused what is not a renewing trial")
	}
}

func TestCoverWarningsTrial(t *testing.T) {
	l := ut.MakeLicense("eval", "ns").Obj()
	l.Status.Trial = true
	w := CoverWarnings(Cover{Product: "cad", License: l})
	if len(w) != 1 || !strings.Contains(w[0], "licence ns/eval of product \"cad\" is a trial licence") {
		t.Errorf("warnings %q", w)
	}
	l.Status.Trial = false
	if w := CoverWarnings(Cover{Product: "cad", License: l}); len(w) != 0 {
		t.Errorf("a paid licence warns %q", w)
	}
}
