/**
 * Vite config for the web client. `npx vite build web` writes web/dist: index.html plus
 * content-hashed files under assets/, which the node serves as immutable (src/http/static.ts).
 * `npx vite web` runs a dev server (hot reload) that proxies the API and the WebSocket to a node on
 * 127.0.0.1:5000 (`npm start`).
 */
import { defineConfig } from 'vite';

const backend = 'http://127.0.0.1:5000';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: true,
    rolldownOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  server: {
    proxy: {
      '/login': backend,
      '/logout': backend,
      '/list-users': backend,
      '/auth': backend,
      '/ws': {
        target: backend,
        ws: true,
        // The node lets a cookie open a socket only from its own origin; the dev page is on :5173.
        configure: (proxy) => {
          proxy.on('proxyReqWs', (proxyReq) => proxyReq.setHeader('origin', backend));
        },
      },
    },
  },
});
