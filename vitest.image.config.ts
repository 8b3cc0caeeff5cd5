import { defineConfig } from 'vitest/config';

// The container image on its own: `npm run test:image` (test/image/), after `npm test` in .ci/run.
export default defineConfig({
  test: {
    include: ['test/image/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 90 * 60_000,
    pool: 'forks',
  },
});
