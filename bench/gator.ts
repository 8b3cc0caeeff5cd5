// Gatekeeper's gator as the reference Parapet is measured and judged against: `gator test` on
// files, its JSON results reduced to comparable keys. The benchmark and the differential test
// compare Parapet's results with these, one by one.
import { spawn, spawnSync } from 'node:child_process';

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

const gatorArgs = (files: readonly string[], options: GatorTestOptions) => ['test', `--enable-k8s-native-validation=${options.k8sNativeValidation ?? false}`, ...files.flatMap((f) => ['-f', f]), '-o', 'json'];

/** Runs `gator test` on the files (or folders) and returns its results as keys, and how long it took. */
export function gatorTest(binary: string, files: readonly string[], options: GatorTestOptions = {}): { seconds: number; results: string[] } {
  const started = performance.now();
  const run = spawnSync(binary, gatorArgs(files, options), { encoding: 'utf8', maxBuffer: 1 << 30 });
  return { seconds: (performance.now() - started) / 1000, results: gatorResults(run.status, run.stdout, run.stderr || run.error?.message, options) };
}

/** gatorTest without blocking the thread, so Parapet can check while gator runs. */
export function gatorTestAsync(binary: string, files: readonly string[], options: GatorTestOptions = {}): Promise<{ seconds: number; results: string[] }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, gatorArgs(files, options), { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      try {
        resolve({ seconds: (performance.now() - started) / 1000, results: gatorResults(status, Buffer.concat(out).toString('utf8'), Buffer.concat(err).toString('utf8'), options) });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

function gatorResults(status: number | null, stdout: string, stderr: string | undefined, options: GatorTestOptions): string[] {
  // gator exits 1 when it finds violations; its JSON is on stdout either way.
  if (status !== 0 && status !== 1) throw new Error(`gator test exited ${status}: ${stderr}`);
  return (JSON.parse(stdout) as GatorResult[]).map((r) =>
    resultKey({
      constraint: r.constraint.metadata.name,
      kind: r.violatingObject.kind,
      namespace: r.violatingObject.metadata.namespace,
      name: r.violatingObject.metadata.name,
      message: r.msg,
      ...(options.withAction ? { action: r.enforcementAction ?? '' } : {}),
    }),
  );
}
