// Pruning with unknown-field tracking (pruning.PruneWithOptions) and structural defaulting
// (structuraldefaulting.Default).
// Gatekeeper prunes a constraint's parameters after ValidateCR, and a field the schema does not declare is
// ErrInvalidConstraint; FW `template_client.go ApplyDefaultParams` then defaults the validated object. The
// template side prunes too: a default with fields its schema does not declare is rejected.
import { isRecord } from '../../model.js';
import { deepCopy } from './go-values.js';
import type { SchemaNode } from './index.js';

export interface UnknownField {
  segs: string[];
  text: string;
}

const EMBEDDED_META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

/** Records the fields pruning would drop (and drops them); returns how many it found. */
export function pruneWalk(x: unknown, s: SchemaNode | undefined, segs: string[], text: string, out: UnknownField[]): number {
  const before = out.length;
  const record = (key: string): void => {
    out.push({ segs: [...segs, key], text: text === '' ? key : `${text}.${key}` });
  };
  const childText = (key: string): string => (text === '' ? key : `${text}.${key}`);
  if (s !== undefined && s.preserveUnknownFields) {
    skipPrune(x, s, segs, text, out);
    return out.length - before;
  }
  if (Array.isArray(x)) {
    x.forEach((item, i) => pruneWalk(item, s?.items, [...segs, String(i)], `${text}[${i}]`, out));
  } else if (isRecord(x)) {
    for (const key of Object.keys(x)) {
      if (x[key] === undefined) continue;
      if (s === undefined) {
        record(key);
        delete x[key];
        continue;
      }
      if (s.embeddedResource && EMBEDDED_META_FIELDS.has(key)) continue;
      const prop = s.properties?.get(key);
      if (prop !== undefined) pruneWalk(x[key], prop, [...segs, key], childText(key), out);
      else if (s.additionalProperties !== undefined) {
        pruneWalk(x[key], s.additionalProperties.schema, [...segs, key], childText(key), out);
      } else {
        record(key);
        delete x[key];
      }
    }
  }
  return out.length - before;
}

function skipPrune(x: unknown, s: SchemaNode | undefined, segs: string[], text: string, out: UnknownField[]): void {
  if (s === undefined) return;
  const childText = (key: string): string => (text === '' ? key : `${text}.${key}`);
  if (Array.isArray(x)) {
    // Items below a preserving array keep preserving, whatever their own schema says.
    x.forEach((item, i) => skipPrune(item, s.items, [...segs, String(i)], `${text}[${i}]`, out));
  } else if (isRecord(x)) {
    for (const key of Object.keys(x)) {
      if (x[key] === undefined) continue;
      if (s.embeddedResource && EMBEDDED_META_FIELDS.has(key)) continue;
      const prop = s.properties?.get(key);
      if (prop !== undefined) pruneWalk(x[key], prop, [...segs, key], childText(key), out);
      else if (s.additionalProperties !== undefined) {
        pruneWalk(x[key], s.additionalProperties.schema, [...segs, key], childText(key), out);
      }
    }
  }
}

export function applyDefaults(x: unknown, s: SchemaNode | undefined): void {
  if (s === undefined) return;
  const nonNullableNull = (value: unknown, schema: SchemaNode | undefined): boolean =>
    value === null && schema !== undefined && !schema.nullable;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      if (nonNullableNull(x[i], s.items) && s.items?.default !== undefined) x[i] = deepCopy(s.items.default.value);
      applyDefaults(x[i], s.items);
    }
  } else if (isRecord(x)) {
    for (const [key, prop] of s.properties ?? []) {
      if (prop.default === undefined) continue;
      if (x[key] === undefined || nonNullableNull(x[key], prop)) x[key] = deepCopy(prop.default.value);
    }
    for (const key of Object.keys(x)) {
      const prop = s.properties?.get(key);
      if (prop !== undefined) {
        applyDefaults(x[key], prop);
      } else if (s.additionalProperties !== undefined) {
        const ap = s.additionalProperties.schema;
        if (nonNullableNull(x[key], ap) && ap?.default !== undefined) x[key] = deepCopy(ap.default.value);
        applyDefaults(x[key], ap);
      }
    }
  }
}
