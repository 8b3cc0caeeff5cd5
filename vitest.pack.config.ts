import { defineConfig } from 'vitest/config';

// `npm run test:pack`: the packed and installed CLI (test/pack/), apart from `npm test` because it
// builds, installs and compiles from cold (minutes, not seconds). `npm pack` builds dist/ itself.
export default defineConfig({
  test: {
    include: ['test/pack/**/*.test.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 30 * 60_000,
    pool: 'forks',
  },
});
