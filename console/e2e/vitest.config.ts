import { defineConfig } from 'vitest/config';

// Real server, real Chromium: one file at a time (2 cores), generous per-test time for a loaded machine.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
    reporters: ['default'],
    // a page on a loaded machine may take a few seconds to show what the server already says
    expect: { poll: { timeout: 15_000, interval: 50 } },
  },
});
