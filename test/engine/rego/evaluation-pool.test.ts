import { afterEach, describe, expect, it } from 'vitest';
import { EvaluationPool } from '../../../src/engine/rego/evaluation-pool.js';
import { defaultYamlLimits } from '../../../src/engine/repo/yaml-file.js';

const manifest = (i: number) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-${i}\ndata:\n  text: "${'x'.repeat(2000)}"\n`;

describe('the worker pool', () => {
  let pool: EvaluationPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('starts one worker for a small repository, and the others only when work waits for them', async () => {
    pool = EvaluationPool.start({ workers: 2, timeoutMs: 10_000 });
    const few = await pool.parseYamlFiles([{ path: 'a.yaml', text: manifest(1) }], defaultYamlLimits);
    expect(few[0]!.errors).toEqual([]);
    expect(pool.threads).toBe(1);
    // About 2 MiB: four units of work, more than one worker holds at once.
    const many = Array.from({ length: 1000 }, (_, i) => ({ path: `m-${i}.yaml`, text: manifest(i) }));
    const parsed = await pool.parseYamlFiles(many, defaultYamlLimits);
    expect(parsed.map((file) => file.documents.length)).toEqual(many.map(() => 1));
    expect(pool.threads).toBe(2);
  });
});
