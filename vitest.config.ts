import { defineConfig } from 'vitest/config';

// Two cores are the target: two forked workers run test files in parallel (override with
// MERIDIAN_TEST_WORKERS). Integration tests start real PostgreSQL clusters: hooks get minutes, not
// seconds, and shared clusters come from the broker started by the global setup (test/support/README.md).
const workers = Number(process.env.MERIDIAN_TEST_WORKERS ?? 2);

// Meridian processes the tests start (`src/cli.ts --config …`) run on the runtime running the
// tests, unless a test names another: vitest on Node.js tests the Node.js data path, vitest run by
// Bun (npm run test:bun) the Bun one. Without this, the CLI would pick its default runtime.
process.env.MERIDIAN_RUNTIME ||= typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' ? 'bun' : 'node';

export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/integration/**/*.test.ts',
      'test/hostile/**/*.test.ts',
      'test/fault/**/*.test.ts',
      'test/failover/**/*.test.ts',
      'test/regress/**/*.test.ts',
      'test/runtime/**/*.test.ts',
    ],
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: workers,
    minWorkers: 1,
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    teardownTimeout: 60_000,
    // a slow file should be visible, not silent
    slowTestThreshold: 5_000,
  },
});
