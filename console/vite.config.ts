import { defineConfig } from 'vitest/config';

// The console is built into the server's static files (served at /); `npm run dev` proxies the API to a local server.
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../src/Sluice.Server/wwwroot',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { '/api': { target: process.env.SLUICE_URL ?? 'http://127.0.0.1:9400', changeOrigin: false } },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
