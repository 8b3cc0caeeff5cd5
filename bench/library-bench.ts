// The targets of issue 12 side by side with gator: `parapet check` cold (empty compile cache) and
// warm against `gator test` on the whole gatekeeper-library (its 49 templates: the 16 with CEL and
// the 33 Rego-only ones, the five referential among them; every sample constraint) with the same
// ExpansionTemplates, at 2,000 generated workloads (plus every sample object) and on a 50-object
// repository. Warm is a second run on the same tree: its policies compiled and its builds cached, and
// every evaluation answered by the result cache; "warm, evaluating" is a third run with the result
// cache off, which evaluates every template again (what a run on a tree whose every object changed
// costs). Each figure is the median of `runs` runs, each run a fresh process timed from its start to
// its exit, as a CI job or a user sees it, with its CPU time (children included); every run's
// results are compared with gator's, one by one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatorTest, resultKey, type ResultIdentity } from './gator.js';
import { libraryRepo } from './library-repo.js';

const fixtures = fileURLToPath(new URL('../test/fixtures/', import.meta.url));
export const LIBRARY = [join(fixtures, 'gatekeeper-library'), join(fixtures, 'gatekeeper-library-rego')];
const expansion = fileURLToPath(new URL('../policies/expansion.yaml', import.meta.url));
const script = fileURLToPath(new URL('./check-once.mjs', import.meta.url));

export interface LibraryFigures {
  label: string;
  objects: number;
  constraints: number;
  cold: Timing;
  warm: Timing;
  /** Warm with the result cache off: every template evaluated again. */
  evaluating: Timing;
  gator: number | undefined;
  results: string;
}

interface Timing {
  seconds: number;
  cpuSeconds: number;
}

interface Run {
  seconds: number;
  cpuSeconds: number;
  cache?: { hits: number; misses: number };
  constraints: number;
  errors: number;
  firstErrors: string[];
  violations: ResultIdentity[];
  objects?: number;
}

function checkOnce(repo: string, cache: string, resultCache: 'disk' | 'off' = 'disk'): Run {
  const started = performance.now();
  const run = JSON.parse(execFileSync(process.execPath, [script, repo, cache, resultCache], { encoding: 'utf8', maxBuffer: 1 << 30 })) as Run;
  return { ...run, seconds: (performance.now() - started) / 1000 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const medianTiming = (runs: Run[]): Timing => ({ seconds: median(runs.map((r) => r.seconds)), cpuSeconds: median(runs.map((r) => r.cpuSeconds)) });

export function benchLibrary(gator: string | undefined, runs: number): LibraryFigures[] {
  const cases = [
    // 2,855 generated objects hold 2,000 workloads; the samples add every template's own cases.
    { label: '2,000 workloads + samples', size: 2855, samples: true },
    { label: '50 objects', size: 10, samples: false },
  ];
  const figures: LibraryFigures[] = [];
  for (const { label, size, samples } of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-bench-library-'));
    try {
      const repo = join(dir, 'repo');
      libraryRepo(repo, size, LIBRARY, { samples });
      const cold: Run[] = [];
      const warm: Run[] = [];
      const evaluating: Run[] = [];
      const gatorSeconds: number[] = [];
      let theirs: string[] | undefined;
      let verdict = gator ? 'identical' : 'gator not built';
      let last: Run | undefined;
      for (let i = 0; i < runs; i++) {
        const cache = mkdtempSync(join(tmpdir(), 'parapet-bench-cache-'));
        try {
          const first = checkOnce(repo, cache);
          const second = checkOnce(repo, cache);
          const third = checkOnce(repo, cache, 'off');
          for (const run of [first, second, third]) {
            if (run.errors > 0) throw new Error(`the library repository did not check cleanly: ${run.firstErrors.join('; ')}`);
          }
          if (second.cache?.misses !== 0) throw new Error(`the warm run evaluated ${second.cache?.misses} times: the result cache did not answer`);
          cold.push(first);
          warm.push(second);
          evaluating.push(third);
          last = second;
          if (gator) {
            const g = gatorTest(gator, [join(repo, 'cluster'), expansion], { k8sNativeValidation: true });
            gatorSeconds.push(g.seconds);
            theirs = g.results;
            for (const run of [first, second, third]) {
              const differ = differences(theirs, run.violations.map(resultKey));
              if (differ > 0) verdict = `${differ} differ`;
            }
          }
        } finally {
          rmSync(cache, { recursive: true, force: true });
        }
      }
      figures.push({
        label,
        objects: last!.objects ?? 0,
        constraints: last!.constraints,
        cold: medianTiming(cold),
        warm: medianTiming(warm),
        evaluating: medianTiming(evaluating),
        gator: gatorSeconds.length > 0 ? median(gatorSeconds) : undefined,
        results: theirs ? `${verdict} (of ${theirs.length} gator results)` : verdict,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return figures;
}

/** Results in one list and not the other, counting repeats. */
function differences(a: string[], b: string[]): number {
  const counts = new Map<string, number>();
  for (const key of a) counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const key of b) counts.set(key, (counts.get(key) ?? 0) - 1);
  return [...counts.values()].reduce((sum, n) => sum + Math.abs(n), 0);
}

export function printLibrary(figures: LibraryFigures[], runs: number): void {
  // The machine may be shared: its load says how far these wall times are from an idle machine's.
  const load = loadavg().map((n) => n.toFixed(1)).join(' ');
  console.log(`\ngatekeeper-library, all 49 templates (16 with CEL, 33 Rego-only of which 5 referential; every sample constraint), same ExpansionTemplates; median of ${runs} run${runs > 1 ? 's' : ''}, each a fresh process; load average at the end ${load}:`);
  for (const f of figures) {
    const ratio = (parapet: number) => (f.gator === undefined ? '' : ` = ${(f.gator / parapet).toFixed(1)}× gator`);
    const timing = (t: Timing) => `${t.seconds.toFixed(2)} s${ratio(t.seconds)} (CPU ${t.cpuSeconds.toFixed(1)} s)`;
    console.log(
      `  ${f.label} (${f.objects} objects, ${f.constraints} constraints): gator ${f.gator === undefined ? 'n/a' : `${f.gator.toFixed(2)} s`}, parapet cold ${timing(f.cold)}, ` +
        `warm ${timing(f.warm)}, warm evaluating (result cache off) ${timing(f.evaluating)}; results ${f.results}`,
    );
  }
}
