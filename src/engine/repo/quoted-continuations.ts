// go-yaml (under sigs.k8s.io/yaml and kyaml, so kubectl, Argo CD, Flux and gator) reads a quoted
// scalar's continuation lines at any indentation; YAML 1.2, and the yaml library with it, wants them
// indented past the enclosing block and ends the scalar at the line break ("Missing closing quote").
// gatekeeper-library's httpsonly template writes one so. A continuation line's leading white space
// is folded away, so indenting it to the opening quote's column changes neither the value nor any
// line number, and the yaml library then reads the scalar as go-yaml does.
import type { Document } from 'yaml';
import { yamlLibrary } from './yaml-library.js';

/**
 * The openings of the quoted scalars of a document that did not parse which the yaml library ended
 * before go-yaml would: at a line break (a missing closing quote), or at an escaped quote that ends
 * the line.
 */
export function cutQuotedScalars(doc: Document.Parsed, text: string): number[] {
  const { isScalar, visit } = yamlLibrary();
  const openings: number[] = [];
  visit(doc, (_key, node) => {
    if (!isScalar(node) || (node.type !== 'QUOTE_DOUBLE' && node.type !== 'QUOTE_SINGLE') || !node.range) return;
    const lines = continuationLines(text, node.range[0]);
    if (lines && lines.end > node.range[1]) openings.push(node.range[0]);
  });
  return openings;
}

/**
 * `text` with the continuation lines of the quoted scalars opening at `openings` (offsets of their
 * quote characters) indented to the quote's column, or undefined when none can be: a scalar that
 * never closes, or that meets a document marker (`---`, `...`) as go-yaml refuses it, stays as it is.
 */
export function indentQuotedContinuations(text: string, openings: readonly number[]): string | undefined {
  const insertions = new Map<number, number>();
  for (const opening of new Set(openings)) {
    const lines = continuationLines(text, opening);
    if (!lines) continue;
    const column = opening - (text.lastIndexOf('\n', opening - 1) + 1);
    for (const start of lines.starts) {
      let spaces = 0;
      while (text[start + spaces] === ' ') spaces++;
      const rest = text[start + spaces];
      // A blank line is a line break in the value whatever its indentation.
      if (rest === undefined || rest === '\n' || rest === '\r') continue;
      if (spaces < column) insertions.set(start, column - spaces);
    }
  }
  if (insertions.size === 0) return undefined;
  let out = '';
  let from = 0;
  for (const at of [...insertions.keys()].sort((a, b) => a - b)) {
    out += text.slice(from, at) + ' '.repeat(insertions.get(at)!);
    from = at;
  }
  return out + text.slice(from);
}

/**
 * Where the lines after the first of the quoted scalar at `opening` start, and where the scalar ends
 * (past its closing quote), as go-yaml scans it.
 */
function continuationLines(text: string, opening: number): { starts: number[]; end: number } | undefined {
  const quote = text[opening];
  if (quote !== '"' && quote !== "'") return undefined;
  const starts: number[] = [];
  for (let i = opening + 1; i < text.length; i++) {
    const ch = text[i];
    if (quote === '"' && ch === '\\') {
      i++;
      if (text[i] === '\n') starts.push(i + 1);
      else if (text[i] === '\r' && text[i + 1] === '\n') starts.push(++i + 1);
      continue;
    }
    if (ch === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        i++;
        continue;
      }
      return { starts, end: i + 1 };
    }
    if (ch === '\n') {
      if (/^(?:---|\.\.\.)(?:[ \t\r\n]|$)/.test(text.slice(i + 1, i + 5))) return undefined;
      starts.push(i + 1);
    }
  }
  return undefined;
}
