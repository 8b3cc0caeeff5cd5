import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The packed-and-installed CLI runs on its own: `npm run test:pack` (vitest.pack.config.ts);
    // the container image too: `npm run test:image` (vitest.image.config.ts).
    exclude: [...configDefaults.exclude, 'test/pack/**', 'test/image/**'],
    globalSetup: ['test/global-setup.ts'],
    // Generous: a limit is a safety net for a hung test, not a speed target (those are benchmarks),
    // and a loaded machine must not turn a slow pass into a failure.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Tests spend much of their time waiting for the processes they start (opa, gator, the Go
    // helpers, PostgreSQL, Chromium, the App): one worker per core keeps every core busy, where
    // vitest's default (cores - 1) leaves a 2-core machine half idle.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    minWorkers: 1,
    // A worker keeps the modules it loaded from one test file to the next: re-importing Probot,
    // Prisma and the engine for each of 110 files cost a sixth of the suite's time. Test files
    // share no state through modules (no vi.mock; each opens its own servers and databases).
    isolate: false,
  },
});
