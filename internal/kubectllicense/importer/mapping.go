package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	licensingv1alpha1 "github.com/license-operator/license-operator/api/v1alpha1"
	"github.com/license-operator/license-operator/internal/licensing"
)

// The seed 001 enums.
var (
	statuses = []string{"active", "suspended", "expired", "revoked", "pending"}
	issuers  = []string{"cryptlex", "keygen", "licensespring", "zentitle", "sentinel", "reprise", "flexnet", "openlm",
		"amazon-license-manager", "suger", "other"}
)

// keySecretDataKey is the data key the imported key Secrets hold the key
// under: the default of spec.key.secretRef.key, so the licence need not say it.
const keySecretDataKey = "license-key"

// maxNameLength bounds the names import derives, so that a key Secret's
// name (the licence's and "-key") is a valid name too.
const maxNameLength = 200

// Options change how entitlements are mapped.
type Options struct {
	// Namespace of the licences (and key Secrets); empty leaves it out.
	Namespace string
	// WithKeys writes a Secret for each plain licence key.
	WithKeys bool
	// PlainKeys takes every license_key as a plain key, even one that looks
	// like a bare SHA-256 digest (64 hex digits).
	PlainKeys bool
	// Products are the LicenseProducts an entitlement's product is matched
	// against (displayName, name or sku), for spec.productRef and the policy.
	Products []*licensingv1alpha1.LicenseProduct
	// Now is the time the entitlements' status is compared with their dates.
	Now time.Time
}

// Mapped is one entitlement as manifests.
type Mapped struct {
	Source  string
	License *licensingv1alpha1.SoftwareLicense
	// Secret holds the plain licence key, with Options.WithKeys.
	Secret *corev1.Secret
}

// Map writes one entitlement as a SoftwareLicense (and, with WithKeys and a
// plain key, a Secret). notices say what was not imported as it was, and
// why; errs, when any, mean nothing is written for the entitlement.
func Map(r Record, opts Options) (m *Mapped, notices, errs []Notice) {
	e := r.Entitlement
	note := func(path, format string, args ...any) {
		notices = append(notices, Notice{Source: r.Source, Path: path, Message: fmt.Sprintf(format, args...)})
	}
	fail := func(path, format string, args ...any) {
		errs = append(errs, Notice{Source: r.Source, Path: path, Message: fmt.Sprintf(format, args...)})
	}

	for path, v := range map[string]string{entitlementIDField: e.EntitlementID, "product": e.Product,
		"license_type": e.LicenseType, "status": e.Status, "issuer": e.Issuer} {
		if strings.TrimSpace(v) == "" {
			fail(path, "required (seed 001)")
		}
	}
	checkEnum := func(path, v string, values []string) {
		if v != "" && !slices.Contains(values, v) {
			fail(path, "%q is not one of %s", v, strings.Join(values, ", "))
		}
	}
	checkEnum("license_type", e.LicenseType, licenseTypes())
	checkEnum("status", e.Status, statuses)
	checkEnum("issuer", e.Issuer, issuers)
	for path, n := range map[string]*int64{"seats": e.Seats, "seats_consumed": e.SeatsConsumed,
		"activation.max_activations":           activationInt(e.Activation, func(a *Activation) *int64 { return a.MaxActivations }),
		"activation.offline_grace_period_days": activationInt(e.Activation, func(a *Activation) *int64 { return a.OfflineGracePeriodDays })} {
		if n != nil && *n < 0 {
			fail(path, "%d is negative (seed 001: minimum 0)", *n)
		}
	}
	from := parseDate(e.ValidFrom, "valid_from", fail)
	until := parseDate(e.ValidUntil, "valid_until", fail)
	if from != nil && until != nil && !until.After(from.Time.Time) {
		fail("valid_until", "%s is not after valid_from %s", e.ValidUntil, e.ValidFrom)
	}
	name := licenceName(e.EntitlementID)
	if e.EntitlementID != "" && name == "" {
		fail(entitlementIDField, "%q gives no name: a licence's name is made of its lowercase letters, digits, '-' and '.'", e.EntitlementID)
	}
	if len(errs) > 0 {
		return nil, notices, errs
	}

	l := &licensingv1alpha1.SoftwareLicense{
		TypeMeta:   metav1.TypeMeta{APIVersion: licensingv1alpha1.GroupVersion.String(), Kind: "SoftwareLicense"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: opts.Namespace},
	}
	spec := &l.Spec
	spec.ProductName = e.Product
	spec.Seats = int32Of(e.Seats)
	spec.StartDate, spec.ExpiryDate = from, until
	ent := &licensingv1alpha1.Entitlement{
		Issuer:         licensingv1alpha1.EntitlementIssuer(e.Issuer),
		EntitlementID:  e.EntitlementID,
		ProductVersion: e.ProductVersion,
	}
	spec.Entitlement = ent
	if c := e.Customer; c != nil && (c.ID != "" || c.Name != "" || c.Email != "") {
		ent.Customer = &licensingv1alpha1.Customer{ID: c.ID, Name: c.Name, Email: c.Email}
	}
	if a := e.Activation; a != nil {
		if a.MachineFingerprint != "" {
			if why := fingerprintProblem(a.MachineFingerprint); why != "" {
				note("activation.machine_fingerprint", "%q not imported: %s", a.MachineFingerprint, why)
			} else {
				ent.MachineFingerprints = []licensingv1alpha1.MachineFingerprint{licensingv1alpha1.MachineFingerprint(a.MachineFingerprint)}
			}
		}
		if a.OfflineGracePeriodDays != nil {
			d := licensingv1alpha1.CalendarDuration(fmt.Sprintf("%dd", *a.OfflineGracePeriodDays))
			ent.OfflineGracePeriod = &d
		}
	}

	mapStatus(e, opts.Now, spec, note)
	if e.SeatsConsumed != nil {
		note("seats_consumed", "%d not imported: the operator counts the seats used from the LicenseAssignments (status.seats.used)", *e.SeatsConsumed)
	}

	settings := licenseTypeSettings[e.LicenseType]
	if p := matchProduct(e.Product, opts.Products, note); p != nil {
		spec.ProductRef = &licensingv1alpha1.ProductReference{Name: p.Name}
		spec.PolicyCode, settings = choosePolicy(l, p, settings)
	}
	if !settings.isZero() {
		spec.Overrides = settings.policySettings()
	}
	if n := activationInt(e.Activation, func(a *Activation) *int64 { return a.MaxActivations }); n != nil {
		if spec.Overrides == nil {
			spec.Overrides = &licensingv1alpha1.PolicySettings{}
		}
		spec.Overrides.MaxActivations = int32Of(n)
	}

	m = &Mapped{Source: r.Source, License: l}
	if e.LicenseKey != "" {
		m.Secret = mapKey(e.LicenseKey, l, opts, note)
	}
	return m, notices, nil
}

// licenseTypes are the seed 001 license_type values, in the seed's order.
func licenseTypes() []string {
	return []string{"perpetual", "subscription", "trial", "node-locked", "floating", "named-user", "consumption", "site", "oem"}
}

func activationInt(a *Activation, f func(*Activation) *int64) *int64 {
	if a == nil {
		return nil
	}
	return f(a)
}

func parseDate(s, path string, fail func(string, string, ...any)) *licensingv1alpha1.Date {
	if s == "" {
		return nil
	}
	t, err := licensingv1alpha1.ParseDate(s)
	if err != nil {
		fail(path, "%v", err)
		return nil
	}
	return licensingv1alpha1.NewDate(t)
}

func int32Of(n *int64) *int32 {
	if n == nil {
		return nil
	}
	v := int32(min(*n, int64(1)<<31-1))
	return &v
}

// nameInvalid are the characters a licence name cannot have.
var nameInvalid = regexp.MustCompile(`[^a-z0-9.-]+`)

// licenceName is the name of the licence of an entitlement: its ID in
// lowercase, every run of other characters a '-', starting and ending with a
// letter or digit (ent_01HKZ → ent-01hkz).
func licenceName(id string) string {
	n := nameInvalid.ReplaceAllString(strings.ToLower(id), "-")
	n = strings.Trim(n, "-.")
	if len(n) > maxNameLength {
		n = strings.TrimRight(n[:maxNameLength], "-.")
	}
	return n
}

var sha256Fingerprint = regexp.MustCompile(`^sha256:[0-9a-fA-F]{64}$`)

// fingerprintProblem says why a machine fingerprint would be refused by the
// CRD's rules (api/v1alpha1.MachineFingerprint), or "".
func fingerprintProblem(fp string) string {
	switch {
	case len(fp) > 256:
		return "longer than 256 characters"
	case strings.ContainsAny(fp, " \t\r\n"):
		return "a machine fingerprint has no whitespace"
	case strings.HasPrefix(fp, "sha256:") && !sha256Fingerprint.MatchString(fp):
		return "cut short: a sha256: fingerprint has all 64 hex digits of the SHA-256; " +
			"write the full digest, or the node's raw systemUUID, into spec.entitlement.machineFingerprints"
	}
	return ""
}

// mapStatus sets spec.state from the seed's status. Expired and pending are
// what the operator computes from the dates: they are checked against them.
func mapStatus(e Entitlement, now time.Time, spec *licensingv1alpha1.SoftwareLicenseSpec, note func(string, string, ...any)) {
	switch e.Status {
	case "suspended":
		spec.State = licensingv1alpha1.AdminStateSuspended
	case "revoked":
		spec.State = licensingv1alpha1.AdminStateRevoked
	case "expired":
		if spec.ExpiryDate == nil || spec.ExpiryDate.After(now) {
			note("status", "expired, but valid_until does not say it ended: the operator computes the state from the dates, so the licence "+
				"will be Active; set spec.expiryDate, or spec.state Revoked, if it must grant nothing")
		}
	case "pending":
		if spec.StartDate == nil || !spec.StartDate.After(now) {
			note("status", "pending, but valid_from is not in the future: the operator computes the state from the dates, so the licence "+
				"will be Active; set spec.startDate, or spec.state Suspended, if it must wait")
		}
	}
}

// settings are the policy fields a seed 001 license_type sets.
type settings struct {
	typ   *licensingv1alpha1.LicenseType
	model *licensingv1alpha1.SeatModel
	trial *bool
}

func (s settings) isZero() bool { return s.typ == nil && s.model == nil && s.trial == nil }

func (s settings) policySettings() *licensingv1alpha1.PolicySettings {
	return &licensingv1alpha1.PolicySettings{Type: s.typ, SeatModel: s.model, Trial: s.trial}
}

// licenseTypeSettings maps each seed 001 license_type to policy fields: the
// forms of licence (perpetual, subscription, trial, consumption, oem) to type
// (and trial), the ways of counting seats (node-locked, floating,
// named-user, site) to seatModel.
var licenseTypeSettings = map[string]settings{
	"perpetual":    {typ: ptr.To(licensingv1alpha1.LicenseTypePerpetual)},
	"subscription": {typ: ptr.To(licensingv1alpha1.LicenseTypeSubscription)},
	"trial":        {typ: ptr.To(licensingv1alpha1.LicenseTypeTimeLimited), trial: ptr.To(true)},
	"consumption":  {typ: ptr.To(licensingv1alpha1.LicenseTypeConsumption)},
	"oem":          {typ: ptr.To(licensingv1alpha1.LicenseTypeOEM)},
	"node-locked":  {model: ptr.To(licensingv1alpha1.SeatModelNodeLocked)},
	"floating":     {model: ptr.To(licensingv1alpha1.SeatModelConcurrent)},
	"named-user":   {model: ptr.To(licensingv1alpha1.SeatModelNamedUser)},
	"site":         {model: ptr.To(licensingv1alpha1.SeatModelSite)},
}

// matchProduct finds the product an entitlement's product names: by
// displayName, name or SKU, without regard to case.
func matchProduct(product string, products []*licensingv1alpha1.LicenseProduct, note func(string, string, ...any)) *licensingv1alpha1.LicenseProduct {
	if len(products) == 0 {
		return nil
	}
	var found []*licensingv1alpha1.LicenseProduct
	for _, p := range products {
		if strings.EqualFold(p.Spec.DisplayName, product) || strings.EqualFold(p.Name, product) || (p.Spec.SKU != "" && strings.EqualFold(p.Spec.SKU, product)) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		note("product", "%q matches no LicenseProduct of --products (by displayName, name or sku): spec.productRef left out", product)
		return nil
	case 1:
		return found[0]
	}
	names := make([]string, 0, len(found))
	for _, p := range found {
		names = append(names, p.Name)
	}
	note("product", "%q matches the LicenseProducts %s: %s taken", product, strings.Join(names, ", "), found[0].Name)
	return found[0]
}

// choosePolicy picks the product policy whose effective fields (resolved as
// the operator resolves them, licensing.ResolvePolicy) are what the
// license_type says: the default policy when it fits (no policyCode), else
// the first policy that does. The settings no policy fits are returned, to
// be written as overrides (with the default policy, or, for a bundle, which
// must name one, the first).
func choosePolicy(l *licensingv1alpha1.SoftwareLicense, p *licensingv1alpha1.LicenseProduct, want settings) (string, settings) {
	codes := make([]string, 0, len(p.Spec.Policies)+1)
	if p.Spec.Bundle == nil {
		codes = append(codes, "")
	}
	for _, pol := range p.Spec.Policies {
		codes = append(codes, pol.Code)
	}
	for _, code := range codes {
		candidate := l.DeepCopy()
		candidate.Spec.PolicyCode = code
		res := licensing.ResolvePolicy(candidate, p)
		if res.Resolved && fits(res.Policy.PolicySettings, want) {
			return code, settings{}
		}
	}
	if p.Spec.Bundle != nil && len(p.Spec.Policies) > 0 {
		return p.Spec.Policies[0].Code, want
	}
	return "", want
}

func fits(eff licensingv1alpha1.PolicySettings, want settings) bool {
	return (want.typ == nil || (eff.Type != nil && *eff.Type == *want.typ)) &&
		(want.model == nil || (eff.SeatModel != nil && *eff.SeatModel == *want.model)) &&
		(want.trial == nil || (eff.Trial != nil && *eff.Trial == *want.trial))
}

var (
	bareSHA256  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	otherHashes = regexp.MustCompile(`^(?i:md5|sha1|sha-1|sha224|sha384|sha512|sha-512|bcrypt|argon2[a-z]*):|^\$(2[abxy]?|argon2[a-z]*|5|6)\$`)
)

// mapKey records a licence key: a SHA-256 (sha256:<hex>, or 64 bare hex
// digits unless PlainKeys) becomes spec.entitlement.keyFingerprint; a plain
// key is fingerprinted the same way and, with WithKeys, written into a
// Secret that spec.key names. The key itself is never written otherwise.
func mapKey(key string, l *licensingv1alpha1.SoftwareLicense, opts Options, note func(string, string, ...any)) *corev1.Secret {
	ent := l.Spec.Entitlement
	switch {
	case sha256Fingerprint.MatchString(key):
		ent.KeyFingerprint = strings.ToLower(key)
		return nil
	case !opts.PlainKeys && bareSHA256.MatchString(key):
		ent.KeyFingerprint = "sha256:" + strings.ToLower(key)
		note("license_key", "64 hex digits, taken as the SHA-256 of the key (spec.entitlement.keyFingerprint); import with --plain-keys if these are the keys themselves")
		return nil
	case otherHashes.MatchString(key):
		note("license_key", "hashed with another algorithm than SHA-256: it cannot be matched against the key's fingerprint, not imported")
		return nil
	}
	sum := sha256.Sum256([]byte(key))
	ent.KeyFingerprint = "sha256:" + hex.EncodeToString(sum[:])
	if !opts.WithKeys {
		note("license_key", "a plain key: not written (only its fingerprint, spec.entitlement.keyFingerprint); put the key into a Secret "+
			"and name it in spec.key.secretRef, or import with --with-keys")
		return nil
	}
	name := l.Name + "-key"
	l.Spec.Key = &licensingv1alpha1.LicenseKeySource{SecretRef: licensingv1alpha1.SecretKeyReference{Name: name}}
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: l.Namespace,
			Labels: map[string]string{licensingv1alpha1.KeySecretLabel: "true"}},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{keySecretDataKey: key},
	}
}
