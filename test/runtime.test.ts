import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { defaultCelHelperPath } from '../src/cel/cel-helper-process.js';
import { startEngineRuntime } from '../src/runtime.js';

const engineConfig = { cacheDir: null, opaPath: undefined, workers: 1, evalTimeoutMs: 5000, parseTimeoutMs: 20_000, compileTimeoutMs: 60_000, workerMemoryMb: 512 };

describe("the engine's runtime", () => {
  it('starts the CEL helper at once, so that its start-up overlaps reading the repository instead of delaying the first CEL template', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-cel-start-'));
    const started = join(dir, 'started');
    // The real helper, behind a script that notes when it was started.
    const celPath = join(dir, 'parapet-cel');
    writeFileSync(celPath, `#!/bin/sh\ntouch "${started}"\nexec "${defaultCelHelperPath}" "$@"\n`);
    chmodSync(celPath, 0o755);
    const runtime = startEngineRuntime({ ...engineConfig, celPath });
    try {
      // Nothing has been checked, nor asked of the helper.
      await vi.waitFor(() => expect(existsSync(started)).toBe(true), { timeout: 10_000, interval: 50 });
    } finally {
      await runtime.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
