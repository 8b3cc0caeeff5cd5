// The Wasm target reports runtime conflicts as `template.rego:11:1: var assignment conflict`; Go OPA,
// which Gatekeeper runs, says `template:11: eval_conflict_error: complete rules must not produce
// multiple outputs`. Gatekeeper shows that text as the violation's message, so Parapet rewrites it.
const WASM_TO_GO: Record<string, string> = {
  'var assignment conflict': 'eval_conflict_error: complete rules must not produce multiple outputs',
  'object insert conflict': 'eval_conflict_error: object keys must be unique',
};

export function gatekeeperErrorText(message: string): string {
  // A module compiled together with other templates' names its files under a folder per template (`3/template.rego`).
  const located = /^(?:\d+\/)?(template|lib-\d+)\.rego:(\d+):\d+: (.*)$/s.exec(message);
  if (!located) return WASM_TO_GO[message] ?? message;
  const [, module, row, text] = located;
  return `${module}:${row}: ${WASM_TO_GO[text!] ?? text}`;
}
