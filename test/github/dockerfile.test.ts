// The Dockerfile, read: files it copies that no longer exist, a stage it copies from that is gone,
// and the promises the README makes about the image. `npm run test:image` builds and runs it
// (test/image/, with buildah), which this cannot replace.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/engine.js';

interface Instruction {
  stage: string;
  keyword: string;
  args: string;
}

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
const instructions = parse(dockerfile);
const stages = instructions.filter((i) => i.keyword === 'FROM').map((i) => /\bAS\s+(\S+)/i.exec(i.args)?.[1] ?? '(final)');
const dockerignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

describe('the Dockerfile', () => {
  it('copies from the build context only files that exist, and none that .dockerignore leaves out', () => {
    const sources = instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from=')).flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1));
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'scripts/build-go-tool.mjs', 'tools/go.mod', 'tools/go.sum', 'src', 'app.yml']));
    for (const source of sources) {
      expect(existsSync(join(repoRoot, source)), `${source} is copied but does not exist`).toBe(true);
      expect(dockerignore.filter((pattern) => source === pattern || source.startsWith(`${pattern}/`)), `${source} is excluded by .dockerignore`).toEqual([]);
    }
  });

  it('copies between stages only from stages it defines', () => {
    for (const copy of instructions.filter((i) => i.keyword === 'COPY' && i.args.includes('--from='))) {
      expect(stages).toContain(/--from=(\S+)/.exec(copy.args)![1]);
    }
  });

  it('builds opa with the repository’s own script, from a Go version tools/go.mod accepts', () => {
    expect(instructions.some((i) => i.keyword === 'RUN' && i.args.includes('node scripts/build-go-tool.mjs opa'))).toBe(true);
    const goVersion = /^ARG GO_VERSION=(\S+)/m.exec(dockerfile)![1]!;
    const required = /^go (\d+\.\d+)/m.exec(readFileSync(join(repoRoot, 'tools', 'go.mod'), 'utf8'))![1]!;
    expect(Number(goVersion.split('.')[1])).toBeGreaterThanOrEqual(Number(required.split('.')[1]));
    expect(existsSync(join(repoRoot, 'scripts', 'build-go-tool.mjs'))).toBe(true);
  });

  it('generates the Prisma client from prisma/ before compiling the TypeScript that imports it', () => {
    const build = instructions.filter((i) => i.stage === 'build');
    const index = (test: (i: Instruction) => boolean) => build.findIndex(test);
    const copyPrisma = index((i) => i.keyword === 'COPY' && /^prisma\s/.test(i.args));
    const generate = index((i) => i.keyword === 'RUN' && i.args.includes('prisma generate'));
    const compile = index((i) => i.keyword === 'RUN' && i.args.includes('npm run build'));
    expect(copyPrisma).toBeGreaterThanOrEqual(0);
    expect(build.some((i) => i.keyword === 'COPY' && i.args.startsWith('prisma.config.ts'))).toBe(true);
    expect(copyPrisma).toBeLessThan(generate);
    expect(generate).toBeLessThan(compile);
  });

  it('runs node itself in a slim Node 20 image, as a non-root user, with the migrations, the CLI and the policy library, data in a volume and a health check', () => {
    const final = instructions.filter((i) => i.stage === '(final)');
    expect(final[0]!.args).toMatch(/^node:\$\{NODE_VERSION\}-\S*slim/);
    expect(/^ARG NODE_VERSION=20$/m.test(dockerfile)).toBe(true);
    expect(final.find((i) => i.keyword === 'USER')?.args).toBe('node');
    // Not npm: npm does not pass SIGTERM on, and the App's shutdown (which releases the database's lock) never runs.
    expect(final.find((i) => i.keyword === 'CMD')?.args).toBe('["node", "/app/dist/main.js"]');
    expect(final.find((i) => i.keyword === 'ENV')?.args).toContain('HOST=0.0.0.0');
    const copied = final.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    for (const source of ['prisma prisma', 'policies policies', 'bin bin', 'app.yml ./']) expect(copied).toContain(source);
    expect(final.some((i) => i.keyword === 'RUN' && i.args.includes('/usr/local/bin/parapet'))).toBe(true);
    expect(final.find((i) => i.keyword === 'VOLUME')?.args).toBe('["/data"]');
    expect(final.find((i) => i.keyword === 'ENV')?.args).toContain('PARAPET_DATA_DIR=/data');
    expect(final.find((i) => i.keyword === 'HEALTHCHECK')?.args).toContain('/healthz');
    // The dev dependencies (typescript among them) stay in the build stage.
    expect(instructions.some((i) => i.stage === 'build' && i.keyword === 'RUN' && i.args.includes('npm prune --omit=dev'))).toBe(true);
  });
});

/** Instructions with their stage, continuation lines joined, comments dropped. */
function parse(text: string): Instruction[] {
  const joined = text.replace(/\\\n\s*/g, ' ');
  const result: Instruction[] = [];
  let stage = '';
  const froms = joined.split('\n').filter((l) => /^FROM\s/i.test(l)).length;
  let seen = 0;
  for (const line of joined.split('\n')) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!m || line.trim().startsWith('#')) continue;
    if (m[1] === 'FROM') {
      seen++;
      stage = seen === froms ? '(final)' : (/\bAS\s+(\S+)/i.exec(m[2]!)?.[1] ?? `stage-${seen}`);
    }
    result.push({ stage, keyword: m[1]!, args: m[2]!.trim() });
  }
  return result;
}
