// Command schemacheck answers, for a ConstraintTemplate's parameter schema and a Constraint's parameters,
// what Gatekeeper's constraint framework does with them, for the differential test of Parapet's port
// (test/engine/policy/schema-differential.test.ts). It is a test tool: nothing at run time uses it.
//
// Stdin: JSON lines {"schema": <openAPIV3Schema, absent for none>, "legacySchema": <bool, absent for
// unset>, "parameters": <spec.parameters, absent for none>}. Stdout: one JSON line per input line:
//
//   - decodeError: the template could not be decoded into a v1 ConstraintTemplate (gator's
//     ToStructured: encoding/json into the typed template), so nothing else was run.
//   - template: FW client.go createCRD (crds.CreateSchema, crds.CreateCRD, crds.ValidateCRD) after the
//     template's ToVersionless (defaulting and the v1 conversion, legacySchema included): templateError
//     is the framework's error, templateErrors its field errors one by one.
//   - constraint (only when the template is accepted): crds.ValidateCR on a constraint with those
//     parameters (constraintError and its class), its two steps one by one (schemaErrors from the
//     SchemaValidator, unknownFields from pruning), and the parameters after ApplyDefaultParams.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/open-policy-agent/frameworks/constraint/pkg/apis/constraints"
	templatesv1 "github.com/open-policy-agent/frameworks/constraint/pkg/apis/templates/v1"
	"github.com/open-policy-agent/frameworks/constraint/pkg/client/crds"
	clienterrors "github.com/open-policy-agent/frameworks/constraint/pkg/client/errors"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

// The match schema is Gatekeeper's target's; it is not under test, so the framework's smallest one.
type matchSchema struct{}

func (matchSchema) MatchSchema() apiextensions.JSONSchemaProps {
	return apiextensions.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}
}

type request struct {
	Schema       json.RawMessage `json:"schema,omitempty"`
	LegacySchema json.RawMessage `json:"legacySchema,omitempty"`
	Parameters   json.RawMessage `json:"parameters,omitempty"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

type answer struct {
	DecodeError     string       `json:"decodeError,omitempty"`
	TemplateError   string       `json:"templateError,omitempty"`
	TemplateErrors  []fieldError `json:"templateErrors"`
	Checked         bool         `json:"checked"`
	ConstraintError string       `json:"constraintError,omitempty"`
	// "schema" (ErrSchema) or "invalid" (ErrInvalidConstraint).
	ConstraintClass string          `json:"constraintClass,omitempty"`
	SchemaErrors    []fieldError    `json:"schemaErrors"`
	UnknownFields   []string        `json:"unknownFields"`
	Defaulted       json.RawMessage `json:"defaulted,omitempty"`
	Error           string          `json:"error,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<30)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for in.Scan() {
		var req request
		var a answer
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			a.Error = err.Error()
		} else {
			a = check(req)
		}
		if err := enc.Encode(a); err != nil {
			fail(err)
		}
	}
	if err := in.Err(); err != nil {
		fail(err)
	}
	if err := out.Flush(); err != nil {
		fail(err)
	}
}

func check(req request) answer {
	a := answer{TemplateErrors: []fieldError{}, SchemaErrors: []fieldError{}, UnknownFields: []string{}}
	validationJSON := map[string]json.RawMessage{}
	if req.Schema != nil {
		validationJSON["openAPIV3Schema"] = req.Schema
	}
	if req.LegacySchema != nil {
		validationJSON["legacySchema"] = req.LegacySchema
	}
	templateJSON, err := json.Marshal(map[string]any{
		"apiVersion": "templates.gatekeeper.sh/v1",
		"kind":       "ConstraintTemplate",
		"metadata":   map[string]any{"name": "k8sschemacheck"},
		"spec": map[string]any{
			"crd": map[string]any{"spec": map[string]any{
				"names":      map[string]any{"kind": "K8sSchemaCheck"},
				"validation": validationJSON,
			}},
			"targets": []any{map[string]any{"target": "admission.k8s.gatekeeper.sh", "rego": "package k8sschemacheck\nviolation[{\"msg\": \"x\"}] { false }"}},
		},
	})
	if err != nil {
		a.Error = err.Error()
		return a
	}
	// gator's reader.ToStructured: the template's JSON decoded into the typed v1 template.
	versioned := &templatesv1.ConstraintTemplate{}
	if err := json.Unmarshal(templateJSON, versioned); err != nil {
		a.DecodeError = err.Error()
		return a
	}
	templ, err := versioned.ToVersionless()
	if err != nil {
		a.DecodeError = err.Error()
		return a
	}

	// FW client.go createCRD.
	crd, err := crds.CreateCRD(templ, crds.CreateSchema(templ, matchSchema{}))
	if err != nil {
		a.Error = err.Error()
		return a
	}
	if err := crds.ValidateCRD(context.Background(), crd); err != nil {
		a.TemplateError = fmt.Errorf("%w: %v", clienterrors.ErrInvalidConstraintTemplate, err).Error()
		for _, e := range apiextensionsvalidation.ValidateCustomResourceDefinition(context.Background(), crd) {
			a.TemplateErrors = append(a.TemplateErrors, fieldError{Field: e.Field, Message: e.Error()})
		}
		return a
	}

	a.Checked = true
	object := map[string]any{
		"apiVersion": "constraints.gatekeeper.sh/v1beta1",
		"kind":       "K8sSchemaCheck",
		"metadata":   map[string]any{"name": "schemacheck"},
	}
	spec := map[string]any{}
	if req.Parameters != nil {
		spec["parameters"] = json.RawMessage(req.Parameters)
	}
	object["spec"] = spec
	objectJSON, err := json.Marshal(object)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	// Unstructured decoding: whole numbers as int64, others as float64, as gator and the API server read them.
	cr := &unstructured.Unstructured{}
	if err := cr.UnmarshalJSON(objectJSON); err != nil {
		a.Error = err.Error()
		return a
	}

	if err := crds.ValidateCR(cr.DeepCopy(), crd); err != nil {
		a.ConstraintError = err.Error()
		switch {
		case errors.Is(err, constraints.ErrSchema):
			a.ConstraintClass = "schema"
		case errors.Is(err, constraints.ErrInvalidConstraint):
			a.ConstraintClass = "invalid"
		default:
			a.ConstraintClass = "other"
		}
	}
	// ValidateCR's two steps, one error at a time.
	validator, _, err := validation.NewSchemaValidator(crd.Spec.Validation.OpenAPIV3Schema)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	// The *Unstructured itself, as ValidateCR passes it: the validator reads it through a JSON round trip
	// (swag.ToDynamicJSON), so it sees every number as a float64.
	for _, e := range validation.ValidateCustomResource(nil, cr.DeepCopy(), validator) {
		a.SchemaErrors = append(a.SchemaErrors, fieldError{Field: e.Field, Message: e.Error()})
	}
	structural, err := schema.NewStructural(crd.Spec.Validation.OpenAPIV3Schema)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	a.UnknownFields = append(a.UnknownFields, structuralpruning.PruneWithOptions(cr.DeepCopy().Object, structural, true, schema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	sort.Strings(a.UnknownFields)

	// FW template_client.go ApplyDefaultParams (unexported; these are its two steps), on the validated object.
	defaulted := cr.DeepCopy()
	defaulting.Default(defaulted.Object, structural)
	if params, found := defaulted.Object["spec"].(map[string]any)["parameters"]; found {
		text, err := json.Marshal(params)
		if err != nil {
			a.Error = err.Error()
			return a
		}
		a.Defaulted = text
	}
	return a
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "schemacheck:", err)
	os.Exit(1)
}
