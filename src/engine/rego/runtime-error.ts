// The Wasm target reports runtime conflicts as `template.rego:11:1: var assignment conflict`; Go OPA,
// which Gatekeeper runs, says `template:11: eval_conflict_error: complete rules must not produce
// multiple outputs`. Gatekeeper shows that text as the violation's message, so Parapet rewrites it.
//
// Gatekeeper's OPA (v1/topdown/errors.go, v1.17.1) has three conflict texts, each located at a line
// the Wasm also reports: the rule that produced the second value (functionConflictErr and
// completeDocConflictErr take rule.Location) or the object key (objectDocKeyConflictErr). The Wasm
// has one code for the first two; which one Go says depends on whether that rule is a function.
// Gatekeeper parses the template as file `template` and its libs as `libs["lib_<i>"]`
// (frameworks' drivers/rego/compilers.go), which is what Location.String prints: `file:row`.
import type { RegoSource } from '../ports.js';

const COMPLETE_CONFLICT = 'eval_conflict_error: complete rules must not produce multiple outputs';
const FUNCTION_CONFLICT = 'eval_conflict_error: functions must not produce multiple outputs for same inputs';
const OBJECT_CONFLICT = 'eval_conflict_error: object keys must be unique';

/**
 * Whether a rule starting on this line is a function: its head is a name or ref followed by `(`.
 * Complete rules' heads (`x = 1`, `x := 1`, `x if`, `x {`, `a.b["c"] = 1`) never are.
 */
const FUNCTION_HEAD = /^\s*(?:default\s+)?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\])*\s*\(/;

/**
 * Go OPA's text for an error the Wasm policy raised. `source` is the template's Rego, which tells a
 * function's conflict from a complete rule's; without it, a conflict reads as a complete rule's.
 */
export function gatekeeperErrorText(message: string, source?: RegoSource): string {
  // A module compiled together with other templates' names its files under a folder per template (`3/template.rego`).
  const located = /^(?:\d+\/)?(template|lib-(\d+))\.rego:(\d+):\d+: (.*)$/s.exec(message);
  if (!located) return unlocated(message);
  const [, , lib, rowText, text] = located;
  const module = lib === undefined ? 0 : Number(lib);
  const row = Number(rowText);
  const file = module === 0 ? 'template' : `libs["lib_${module - 1}"]`;
  let goText: string;
  if (text === 'var assignment conflict') {
    const moduleText = module === 0 ? source?.rego : source?.libs[module - 1];
    const line = moduleText?.split('\n')[row - 1];
    goText = line !== undefined && FUNCTION_HEAD.test(line) ? FUNCTION_CONFLICT : COMPLETE_CONFLICT;
  } else if (text === 'object insert conflict') {
    goText = OBJECT_CONFLICT;
  } else {
    goText = text!;
  }
  return `${file}:${row}: ${goText}`;
}

function unlocated(message: string): string {
  if (message === 'var assignment conflict') return COMPLETE_CONFLICT;
  if (message === 'object insert conflict') return OBJECT_CONFLICT;
  return message;
}
