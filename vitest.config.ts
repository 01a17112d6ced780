import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One process per test file: some files turn on V8's relaxed-SIMD flag, which is process-wide.
    pool: 'forks',
  },
});
