// Gatekeeper's own rules for template modules (frameworks' compilers.go and regorewriter), applied to
// the AST that `opa parse --format json` prints, so Parapet rejects exactly the templates that
// Gatekeeper rejects and says where.
import type { RegoProblem } from '../engine/index.js';

interface Location {
  row?: number;
}

interface Term {
  type: string;
  value: unknown;
  location?: Location;
}

export interface ParsedModule {
  package: { path: Term[]; location?: Location };
  imports?: Array<{ path: Term; location?: Location }>;
  rules?: Array<{ head?: { name?: string; ref?: Term[] }; location?: Location }>;
}

/** `data.k8s.test` as written, without the leading `data`. */
export function packageName(module: ParsedModule): string {
  return module.package.path
    .slice(1)
    .map((term) => String(term.value))
    .join('.');
}

/** Whether any module reads `data.inventory`: only such templates need the cluster's objects as data. */
export function usesInventory(modules: ParsedModule[]): boolean {
  let found = false;
  for (const module of modules) {
    walk(module.rules ?? [], (term) => {
      if (term.type !== 'ref' || !Array.isArray(term.value)) return;
      const [head, second] = term.value as Term[];
      if (head?.type === 'var' && head.value === 'data' && second?.type === 'string' && second.value === 'inventory') found = true;
    });
  }
  return found;
}

/** Checks the template's modules; index 0 is the main module, the rest are libs. */
export function checkGatekeeperRules(modules: ParsedModule[]): RegoProblem[] {
  const problems: RegoProblem[] = [];
  modules.forEach((module, index) => {
    const line = (location?: Location) => location?.row;
    const name = packageName(module);
    if (index === 0) {
      const hasViolation = (module.rules ?? []).some((rule) => ruleName(rule) === 'violation');
      if (!hasViolation) {
        problems.push({ module: 0, line: line(module.package.location), message: 'invalid rego: missing required rule "violation"' });
      }
    } else if (!name.startsWith('lib.')) {
      problems.push({
        module: index,
        line: line(module.package.location),
        message: `invalid lib package "${name}": libs must declare a package under "lib." (for example "package lib.${name || 'helpers'}")`,
      });
    }
    for (const imp of module.imports ?? []) {
      const path = refText(imp.path);
      const allowed = path.startsWith('data.lib.') || path === 'future' || path.startsWith('future.');
      if (!allowed) problems.push({ module: index, line: line(imp.location ?? imp.path.location), message: `invalid import: bad import: "${path}"` });
    }
    for (const rule of module.rules ?? []) {
      walk(rule, (term) => {
        if (term.type !== 'ref' || !Array.isArray(term.value)) return;
        const head = term.value[0] as Term | undefined;
        if (head?.type !== 'var' || head.value !== 'data') return;
        const second = term.value[1] as Term | undefined;
        const root = second?.type === 'string' ? second.value : undefined;
        if (root !== 'lib' && root !== 'inventory') {
          problems.push({
            module: index,
            line: line(term.location),
            message: `disallowed ref ${refText(term)}: templates may only refer to data.lib and data.inventory`,
          });
        }
      });
    }
  });
  return problems;
}

function ruleName(rule: { head?: { name?: string; ref?: Term[] } }): string | undefined {
  if (rule.head?.name) return rule.head.name;
  const first = rule.head?.ref?.[0];
  return first?.type === 'var' ? String(first.value) : undefined;
}

function refText(term: Term): string {
  if (term.type !== 'ref' || !Array.isArray(term.value)) return String(term.value);
  return (term.value as Term[])
    .map((part, i) => {
      if (i === 0) return String(part.value);
      if (part.type === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(part.value))) return `.${String(part.value)}`;
      return `[${part.type === 'string' ? JSON.stringify(part.value) : String(part.value)}]`;
    })
    .join('');
}

function walk(node: unknown, visit: (term: Term) => void): void {
  if (Array.isArray(node)) {
    for (const child of node) walk(child, visit);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (typeof record.type === 'string' && 'value' in record) visit(record as unknown as Term);
  for (const [key, child] of Object.entries(record)) {
    if (key !== 'location') walk(child, visit);
  }
}

/** A module's package as path segments: `package lib.helpers` is ['lib', 'helpers']. */
export function packagePath(module: ParsedModule): string[] {
  return module.package.path.slice(1).map((term) => String(term.value));
}

/**
 * The parts of `data` the modules read: each import of `data` and each `data` ref in a rule, as its
 * leading constant keys (`data.lib.x[i].y` reads ['lib', 'x']; `data[k]` reads [], all of data).
 */
export function dataPaths(modules: ParsedModule[]): string[][] {
  const paths: string[][] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.type === 'var' && record.value === 'data') {
      // `data` on its own (bound to a variable, passed to a function): all of it.
      paths.push([]);
      return;
    }
    if (record.type === 'ref' && Array.isArray(record.value)) {
      const [head, ...rest] = record.value as Term[];
      if (head?.type === 'var' && head.value === 'data') {
        const path: string[] = [];
        for (const part of rest) {
          if (part.type !== 'string') break;
          path.push(String(part.value));
        }
        paths.push(path);
        visit(rest);
        return;
      }
    }
    for (const [key, child] of Object.entries(record)) if (key !== 'location') visit(child);
  };
  for (const module of modules) {
    for (const imp of module.imports ?? []) visit(imp.path);
    visit(module.rules ?? []);
  }
  return paths;
}
