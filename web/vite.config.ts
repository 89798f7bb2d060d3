// Builds the console into ../build/web, which `roost serve` serves at / (the
// directory `web` beside the roost binary). Hashed file names under assets/
// let the server cache them for a year; index.html is revalidated.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: '../build/web',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    // Leaflet's marker images are not used (markers are drawn as SVG circles);
    // small assets stay separate files so the strict CSP needs no data: scripts.
    assetsInlineLimit: 0,
  },
});
