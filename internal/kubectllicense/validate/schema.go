package validate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiextensions-apiserver/pkg/crdserverscheme"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured/unstructuredscheme"
	"k8s.io/apimachinery/pkg/runtime"
	runtimeschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/yaml"

	"github.com/license-operator/license-operator/config/crd"
)

// This file judges one object the way the API server judges a create of a
// custom resource with fieldValidation=Strict (kubectl's default), with the
// API server's own code at the version this module pins
// (k8s.io/apiextensions-apiserver, k8s.io/apiserver):
//
//  1. decoding: the strict JSON serializer the CRD handler uses (duplicate
//     fields), then what its schemaCoercingDecoder does: ObjectMeta is read
//     and coerced, unknown fields are pruned and reported as such, nulls
//     without defaults are dropped; then the structural schema's defaults;
//  2. rest.BeforeCreate's steps: system metadata, generateName, namespace
//     of the request, the strategy's PrepareForCreate (status is dropped),
//     and rest.ValidateCreate with the strategy the CRD handler builds
//     (customresource.NewStrategy): the OpenAPI schema, embedded ObjectMeta,
//     list-type invariants, the x-kubernetes-validations CEL rules with the
//     runtime cost budget, and the metadata (name, namespace) checks.
//
// Admission (mutating and validating webhooks, ValidatingAdmissionPolicies,
// quota) and storage (name conflicts) come after and are not judged here.

// kindSchema is one served version of a CustomResourceDefinition, prepared
// as the CRD handler prepares it (getOrCreateServingInfoFor).
type kindSchema struct {
	gvk        runtimeschema.GroupVersionKind
	namespaced bool
	structural *schema.Structural
	strategy   rest.RESTCreateStrategy
}

// Schemas are the licensing kinds a manifest is judged against, by group,
// version and kind.
type Schemas struct {
	group string
	kinds map[runtimeschema.GroupVersionKind]*kindSchema
}

// LoadSchemas prepares the CustomResourceDefinitions embedded from
// config/crd/bases: the ones this build of the operator installs.
func LoadSchemas() (*Schemas, error) {
	return LoadSchemasFrom(crd.Bases, "bases")
}

// LoadSchemasFrom prepares every CustomResourceDefinition in the YAML files
// of dir in fsys. All must be of one API group.
func LoadSchemasFrom(fsys fs.FS, dir string) (*Schemas, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	s := &Schemas{kinds: map[runtimeschema.GroupVersionKind]*kindSchema{}}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		def := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(data, def); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if err := s.add(def); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
	}
	if len(s.kinds) == 0 {
		return nil, fmt.Errorf("no CustomResourceDefinition in %s", dir)
	}
	return s, nil
}

// Group is the API group of the kinds.
func (s *Schemas) Group() string { return s.group }

// Kinds lists the kinds judged, sorted.
func (s *Schemas) Kinds() []string {
	out := make([]string, 0, len(s.kinds))
	for gvk := range s.kinds {
		out = append(out, gvk.Kind)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Namespaced says whether kind is namespaced; false for a kind not known.
func (s *Schemas) Namespaced(gk runtimeschema.GroupKind) bool {
	for gvk, k := range s.kinds {
		if gvk.GroupKind() == gk {
			return k.namespaced
		}
	}
	return false
}

func (s *Schemas) add(def *apiextensionsv1.CustomResourceDefinition) error {
	// The API server defaults a CRD when it is created; judge with the
	// defaulted one.
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(def)
	if s.group != "" && s.group != def.Spec.Group {
		return fmt.Errorf("CustomResourceDefinition %s is of group %s, not %s", def.Name, def.Spec.Group, s.group)
	}
	s.group = def.Spec.Group
	for _, v := range def.Spec.Versions {
		if !v.Served {
			continue
		}
		k, err := prepare(def, v.Name)
		if err != nil {
			return fmt.Errorf("version %s: %w", v.Name, err)
		}
		s.kinds[k.gvk] = k
	}
	return nil
}

// prepare builds the structural schema, the schema validators and the
// create strategy of one version, as the CRD handler does.
func prepare(def *apiextensionsv1.CustomResourceDefinition, version string) (*kindSchema, error) {
	val, err := apihelpers.GetSchemaForVersion(def, version)
	if err != nil {
		return nil, err
	}
	if val == nil || val.OpenAPIV3Schema == nil {
		return nil, errors.New("no OpenAPI v3 schema")
	}
	internal := &apiextensionsinternal.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(val, internal, nil); err != nil {
		return nil, fmt.Errorf("converting the schema to the internal version: %w", err)
	}
	structural, err := schema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, fmt.Errorf("the schema is not structural: %w", err)
	}
	structural = structural.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(structural); err != nil {
		return nil, fmt.Errorf("pruning defaults: %w", err)
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		return nil, err
	}

	subresources, err := apihelpers.GetSubresourcesForVersion(def, version)
	if err != nil {
		return nil, err
	}
	var status *apiextensionsinternal.CustomResourceSubresourceStatus
	var statusValidator apiservervalidation.SchemaValidator
	if subresources != nil && subresources.Status != nil {
		status = &apiextensionsinternal.CustomResourceSubresourceStatus{}
		if statusSchema, ok := internal.OpenAPIV3Schema.Properties["status"]; ok {
			if statusValidator, _, err = apiservervalidation.NewSchemaValidator(&statusSchema); err != nil {
				return nil, err
			}
		}
	}
	var scale *apiextensionsinternal.CustomResourceSubresourceScale
	if subresources != nil && subresources.Scale != nil {
		scale = &apiextensionsinternal.CustomResourceSubresourceScale{}
		if err := apiextensionsv1.Convert_v1_CustomResourceSubresourceScale_To_apiextensions_CustomResourceSubresourceScale(subresources.Scale, scale, nil); err != nil {
			return nil, err
		}
	}
	var selectable []apiextensionsv1.SelectableField
	for _, v := range def.Spec.Versions {
		if v.Name == version {
			selectable = v.SelectableFields
		}
	}

	gvk := runtimeschema.GroupVersionKind{Group: def.Spec.Group, Version: version, Kind: def.Spec.Names.Kind}
	namespaced := def.Spec.Scope == apiextensionsv1.NamespaceScoped
	return &kindSchema{
		gvk:        gvk,
		namespaced: namespaced,
		structural: structural,
		strategy: customresource.NewStrategy(crdserverscheme.NewUnstructuredObjectTyper(), namespaced, gvk,
			validator, statusValidator, structural, status, scale, selectable),
	}, nil
}

// strictDecoder is the CRD handler's StrictSerializer for JSON.
var strictDecoder = json.NewSerializerWithOptions(json.DefaultMetaFactory,
	unstructuredscheme.NewUnstructuredCreator(), unstructuredscheme.NewUnstructuredObjectTyper(),
	json.SerializerOptions{Strict: true})

// Verdict is what the API server would answer to a create of one object.
type Verdict struct {
	// Object is the decoded object (nil when it does not decode), before
	// defaulting and pruning: what the file says.
	Object *unstructured.Unstructured
	// Known is false when the object is not of a kind of the group (or not of
	// a served version): Errors then say so.
	Known bool
	// Errors refuse the create: field paths and messages as the API server
	// words them.
	Errors field.ErrorList
	// UnknownFields are the paths of the fields the schema does not know:
	// the API server refuses them under fieldValidation=Strict (kubectl's
	// default), and drops them otherwise.
	UnknownFields []string
	// Warnings are what the API server would send back with the create.
	Warnings []string
}

// Refused says whether the API server would refuse the create (with
// fieldValidation=Strict).
func (v *Verdict) Refused() bool { return len(v.Errors) > 0 || len(v.UnknownFields) > 0 }

// Judge decodes data (one JSON object) and judges a create of it in
// namespace, the namespace of the request: the object's own, or the one
// kubectl would use ("default" when neither says).
func (s *Schemas) Judge(ctx context.Context, data []byte, namespace string) Verdict {
	var v Verdict
	obj, _, err := strictDecoder.Decode(data, nil, &unstructured.Unstructured{})
	var strictErrs []error
	if err != nil {
		se, ok := runtime.AsStrictDecodingError(err)
		if !ok || obj == nil {
			v.Errors = append(v.Errors, field.Invalid(nil, nil, err.Error()))
			return v
		}
		strictErrs = se.Errors()
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		v.Errors = append(v.Errors, field.Invalid(nil, nil, fmt.Sprintf("not an object: %T", obj)))
		return v
	}
	v.Object = u.DeepCopy()
	for _, e := range strictErrs {
		v.Errors = append(v.Errors, field.Invalid(nil, nil, e.Error()))
	}

	gvk := u.GroupVersionKind()
	k, ok := s.kinds[gvk]
	if !ok {
		v.Errors = append(v.Errors, field.NotSupported(field.NewPath("kind"), gvk.Kind+" in "+gvk.GroupVersion().String(), s.served(gvk.Group)))
		return v
	}
	v.Known = true

	unknown, err := k.coerce(u)
	if err != nil {
		v.Errors = append(v.Errors, field.Invalid(nil, nil, err.Error()))
		return v
	}
	v.UnknownFields = unknown
	structuraldefaulting.Default(u.Object, k.structural)

	errs, warnings := k.beforeCreate(ctx, u, namespace)
	v.Errors = append(v.Errors, errs...)
	v.Warnings = warnings
	return v
}

// served lists the kinds and versions of group, for an unknown kind.
func (s *Schemas) served(group string) []string {
	var out []string
	for gvk := range s.kinds {
		if gvk.Group == group {
			out = append(out, gvk.Kind+" in "+gvk.GroupVersion().String())
		}
	}
	slices.Sort(out)
	return out
}

// coerce is the CRD handler's unstructuredSchemaCoercer.apply for a request
// with strict field validation: ObjectMeta read without dropping malformed
// fields, pruning with unknown field paths tracked, non-nullable nulls
// without defaults dropped, embedded ObjectMeta coerced. It returns the
// unknown fields.
func (k *kindSchema) coerce(u *unstructured.Unstructured) ([]string, error) {
	kind, foundKind, err := unstructured.NestedString(u.Object, "kind")
	if err != nil {
		return nil, err
	}
	apiVersion, foundAPIVersion, err := unstructured.NestedString(u.Object, "apiVersion")
	if err != nil {
		return nil, err
	}
	objectMeta, foundObjectMeta, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(u.Object,
		schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return nil, err
	}
	unknown = append(unknown, structuralpruning.PruneWithOptions(u.Object, k.structural, true,
		schema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(u.Object, k.structural)
	fieldErr, paths := schemaobjectmeta.CoerceWithOptions(nil, u.Object, k.structural, false,
		schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	if fieldErr != nil {
		return nil, fieldErr
	}
	unknown = append(unknown, paths...)
	if foundKind {
		u.SetKind(kind)
	}
	if foundAPIVersion {
		u.SetAPIVersion(apiVersion)
	}
	if foundObjectMeta {
		if err := schemaobjectmeta.SetObjectMeta(u.Object, objectMeta); err != nil {
			return nil, err
		}
	}
	return unknown, nil
}

// beforeCreate is rest.BeforeCreate (and the registry store's name
// generation before it) for a request in namespace, returning the field
// errors rather than wrapping them in a StatusError.
func (k *kindSchema) beforeCreate(ctx context.Context, u *unstructured.Unstructured, namespace string) (field.ErrorList, []string) {
	rest.FillObjectMetaSystemFields(u)
	if u.GetGenerateName() != "" && u.GetName() == "" {
		u.SetName(k.strategy.GenerateName(u.GetGenerateName()))
	}
	if err := rest.EnsureObjectNamespaceMatchesRequestNamespace(rest.ExpectedNamespaceForScope(namespace, k.namespaced), u); err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("metadata", "namespace"), u.GetNamespace(), err.Error())}, nil
	}
	k.strategy.PrepareForCreate(ctx, u)
	errs := rest.ValidateCreate(ctx, u, k.strategy)
	if len(errs) > 0 {
		return errs, nil
	}
	return nil, k.strategy.WarningsOnCreate(ctx, u)
}
