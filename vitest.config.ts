import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'node', include: ['test/**/*.test.ts'], exclude: ['test/cluster/**'] } },
      // Each file starts a Redis and three node processes: one file at a time, or a 2-core machine runs a dozen
      // nodes at once and their heartbeats stall past the short TTLs the failure tests use.
      { extends: true, test: { name: 'cluster', include: ['test/cluster/**/*.test.ts'], fileParallelism: false } },
    ],
  },
});
