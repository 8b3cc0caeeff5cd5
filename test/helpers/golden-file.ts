// Golden files next to the specification that owns them. `UPDATE_GOLDEN=1` rewrites them; otherwise a
// difference fails the test, and the diff of the golden file is the review.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'vitest';

export const updatingGoldens = process.env.UPDATE_GOLDEN === '1';

/** Compares `actual` with the file at `path` (absolute); `label` names it in the failure message. */
export function expectGoldenFile(path: string, actual: string, label: string = path): void {
  if (updatingGoldens) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`golden file ${label} is missing: run the test with UPDATE_GOLDEN=1 to write it, then review it`);
  expect(actual, `output differs from ${label} (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(path, 'utf8'));
}
