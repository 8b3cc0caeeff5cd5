// Gatekeeper's gator as the reference Parapet is measured and judged against: `gator test` on
// files, its JSON results reduced to comparable keys. The benchmark and the differential test
// compare Parapet's results with these, one by one.
import { spawnSync } from 'node:child_process';

/** What identifies one result in both tools: constraint, object and message. */
export interface ResultIdentity {
  constraint: string;
  kind: string;
  namespace?: string | null | undefined;
  name: string;
  message: string;
  /** The result's enforcement action, when the comparison includes it. */
  action?: string;
}

export const resultKey = (r: ResultIdentity): string => `${r.constraint} | ${r.kind} ${r.namespace ?? ''}/${r.name} | ${r.message}${r.action ? ` | ${r.action}` : ''}`;

export interface GatorTestOptions {
  /** gator's --enable-k8s-native-validation: false (Rego only) unless set. */
  k8sNativeValidation?: boolean;
  /** Include each result's enforcement action in its key. */
  withAction?: boolean;
}

interface GatorResult {
  msg: string;
  enforcementAction?: string;
  constraint: { metadata: { name: string } };
  violatingObject: { kind: string; metadata: { name: string; namespace?: string } };
}

/** Runs `gator test` on the files (or folders) and returns its results as keys, and how long it took. */
export function gatorTest(binary: string, files: readonly string[], options: GatorTestOptions = {}): { seconds: number; results: string[] } {
  const started = performance.now();
  const cel = `--enable-k8s-native-validation=${options.k8sNativeValidation ?? false}`;
  const run = spawnSync(binary, ['test', cel, ...files.flatMap((f) => ['-f', f]), '-o', 'json'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (performance.now() - started) / 1000;
  // gator exits 1 when it finds violations; its JSON is on stdout either way.
  if (run.status !== 0 && run.status !== 1) throw new Error(`gator test exited ${run.status}: ${run.stderr || run.error?.message}`);
  const results = (JSON.parse(run.stdout) as GatorResult[]).map((r) =>
    resultKey({
      constraint: r.constraint.metadata.name,
      kind: r.violatingObject.kind,
      namespace: r.violatingObject.metadata.namespace,
      name: r.violatingObject.metadata.name,
      message: r.msg,
      ...(options.withAction ? { action: r.enforcementAction ?? '' } : {}),
    }),
  );
  return { seconds, results };
}
