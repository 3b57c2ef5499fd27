// The portal's production build: served by billing-api under /portal/ from dist/ (strict CSP:
// no inline scripts or styles, nothing from another origin), so everything is a hashed file.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/portal/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inlined assets: a data: URL would need a CSP exception.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    host: '127.0.0.1',
    // `npm run dev -w @metering/portal`: the API of a running stack on the same origin.
    proxy: { '/v1': process.env.BILLING_API_URL ?? 'http://127.0.0.1:8080' },
  },
});
