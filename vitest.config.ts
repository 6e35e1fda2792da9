import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/kit/vitest/global-setup.ts'],
    // Synthesis with bundling and child-process invocations are slow on 2 cores; no test asserts timing.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: '.test-out/vitest-report.json' },
  },
});
