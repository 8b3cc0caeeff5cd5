package main

// The builtins Parapet's Wasm host does not write itself run here, in the OPA this binary links
// through Gatekeeper (v1.17.1 for Gatekeeper v3.23.1): the very implementation the cluster's
// Gatekeeper calls, so certificates, tokens, GraphQL, JSON Schema, templates and the rest answer
// exactly as there.
//
//	{"op":"builtin","name":"crypto.x509.parse_certificates","args":["\"MIIB...\""],"timeoutMs":1000}
//	  -> {"value":"[{...}]"} | {"undefined":true,"reason":"..."} | {"error":"..."}
//
// Arguments and the value are Rego value text as OPA's Wasm prints them (`opa_value_dump`: JSON plus
// sets and non-string keys). A builtin's error is "undefined" with Go OPA's message as the reason:
// Gatekeeper evaluates without strict builtin errors, so the call is just undefined there. Only a
// halt (the call ran out of time) is an error of the evaluation.

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/builtins"
)

type builtinAnswer struct {
	Value     *string `json:"value,omitempty"`
	Undefined bool    `json:"undefined,omitempty"`
	Reason    string  `json:"reason,omitempty"`
	Error     string  `json:"error,omitempty"`
}

var capabilities = ast.CapabilitiesForThisVersion()

func callBuiltin(name string, args []string, timeoutMs int) builtinAnswer {
	fn := topdown.GetBuiltin(name)
	decl := ast.BuiltinMap[name]
	if fn == nil || decl == nil {
		return builtinAnswer{Error: fmt.Sprintf("OPA %s has no builtin %q", opaVersion(), name)}
	}
	if arity := decl.Decl.Arity(); len(args) != arity {
		return builtinAnswer{Error: fmt.Sprintf("%s takes %d arguments, got %d", name, arity, len(args))}
	}
	operands := make([]*ast.Term, len(args))
	for i, text := range args {
		term, err := ast.ParseTerm(text)
		if err != nil {
			return builtinAnswer{Error: fmt.Sprintf("argument %d of %s is not a Rego value: %v", i+1, name, err)}
		}
		operands[i] = term
	}
	// What Go OPA's evaluator hands a builtin in one query (topdown/query.go): a fresh per-query
	// cache, crypto/rand as the seed, the query's start as the time. The per-query memo of rand.intn
	// and uuid.rfc4122 is the host's cache of identical calls within one evaluation.
	ctx := context.Background()
	cancel := topdown.NewCancel()
	if timeoutMs > 0 {
		timer := time.AfterFunc(time.Duration(timeoutMs)*time.Millisecond, cancel.Cancel)
		defer timer.Stop()
	}
	bctx := topdown.BuiltinContext{
		Context:      ctx,
		Metrics:      metrics.New(),
		Seed:         cryptorand.Reader,
		Time:         ast.NumberTerm(json.Number(strconv.FormatInt(time.Now().UnixNano(), 10))),
		Cancel:       cancel,
		Runtime:      ast.ObjectTerm(),
		Cache:        builtins.Cache{},
		Location:     &ast.Location{},
		Capabilities: capabilities,
	}
	var output *ast.Term
	err := fn(bctx, operands, func(t *ast.Term) error {
		if output == nil {
			output = t
		}
		return nil
	})
	if err != nil {
		if halt, ok := err.(topdown.Halt); ok {
			return builtinAnswer{Error: halt.Error()}
		}
		return builtinAnswer{Undefined: true, Reason: err.Error()}
	}
	if output == nil {
		return builtinAnswer{Undefined: true}
	}
	var buf bytes.Buffer
	if err := writeValue(&buf, output.Value); err != nil {
		return builtinAnswer{Error: fmt.Sprintf("%s: %v", name, err)}
	}
	text := buf.String()
	return builtinAnswer{Value: &text}
}

// writeValue prints a value as OPA's Wasm `opa_value_dump` does, which the host parses: strings
// JSON-quoted (Go's %q quoting in ast.String's String is not JSON), numbers as their text.
func writeValue(buf *bytes.Buffer, v ast.Value) error {
	switch v := v.(type) {
	case ast.Null:
		buf.WriteString("null")
	case ast.Boolean:
		buf.WriteString(strconv.FormatBool(bool(v)))
	case ast.Number:
		buf.WriteString(string(v))
	case ast.String:
		encoded, err := json.Marshal(string(v))
		if err != nil {
			return err
		}
		buf.Write(encoded)
	case *ast.Array:
		buf.WriteByte('[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeValue(buf, v.Elem(i).Value); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case ast.Set:
		if v.Len() == 0 {
			buf.WriteString("set()")
			return nil
		}
		buf.WriteByte('{')
		sorted := v.Sorted()
		for i := 0; i < sorted.Len(); i++ {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeValue(buf, sorted.Elem(i).Value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case ast.Object:
		buf.WriteByte('{')
		for i, k := range v.Keys() {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeValue(buf, k.Value); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeValue(buf, v.Get(k).Value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return fmt.Errorf("the result is not a value: %v", v)
	}
	return nil
}

func opaVersion() string {
	return moduleVersion("github.com/open-policy-agent/opa")
}
