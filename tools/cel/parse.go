package main

import (
	"encoding/json"

	"github.com/open-policy-agent/opa/v1/ast"
	astJSON "github.com/open-policy-agent/opa/v1/ast/json"
)

// parseModule answers what `opa parse --format json --json-include locations,-comments` prints for
// one module, without starting an opa process per module: a cold check of the gatekeeper-library
// parses about thirty, and opa's start-up was most of each. The module is parsed by the OPA that
// Gatekeeper links, as the cluster parses it. A module that does not parse answers an error and
// Parapet asks the pinned opa CLI, whose words its reports use.
func parseModule(name, text, version string) interface{} {
	regoVersion := ast.RegoV1
	if version == "v0" {
		regoVersion = ast.RegoV0
	}
	module, err := ast.ParseModuleWithOpts(name, text, ast.ParserOptions{ProcessAnnotation: true, RegoVersion: regoVersion})
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	module.Comments = nil
	// The options are global: set only while this module is written (requests are handled one at a
	// time), so that the builtins' own AST values (rego.parse_module) stay as Gatekeeper writes them.
	astJSON.SetOptions(astJSON.Options{MarshalOptions: astJSON.MarshalOptions{
		IncludeLocationText: true,
		IncludeLocation: astJSON.NodeToggle{
			Term: true, Package: true, Comment: true, Import: true, Rule: true, Head: true, Expr: true,
			SomeDecl: true, Every: true, With: true, Annotations: true, AnnotationsRef: true,
		},
	}})
	defer astJSON.SetOptions(astJSON.Defaults())
	encoded, err := json.Marshal(module)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	return map[string]json.RawMessage{"module": encoded}
}
