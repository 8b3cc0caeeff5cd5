import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The packed-and-installed CLI runs on its own: `npm run test:pack` (vitest.pack.config.ts);
    // the container image too: `npm run test:image` (vitest.image.config.ts).
    exclude: [...configDefaults.exclude, 'test/pack/**', 'test/image/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
