// Builds the console into ../internal/console/dist with fixed file names,
// so that the Go build embeds it without Node. Run: npm run build.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'internal', 'console', 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await esbuild.build({
  entryPoints: { app: join(here, 'src', 'main.ts') },
  bundle: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: false,
  legalComments: 'external',
  outdir: out,
  entryNames: '[name]',
  logLevel: 'warning',
});
await esbuild.build({
  entryPoints: { app: join(here, 'src', 'style.css') },
  bundle: true,
  minify: true,
  legalComments: 'external',
  outdir: out,
  entryNames: '[name]',
  logLevel: 'warning',
});
// MapLibre's worker is a self-contained module; it is loaded by URL.
copyFileSync(join(here, 'node_modules', 'maplibre-gl', 'dist', 'maplibre-gl-worker.mjs'), join(out, 'maplibre-gl-worker.js'));
copyFileSync(join(here, 'src', 'index.html'), join(out, 'index.html'));
const licences = ['maplibre-gl', 'uplot'].map((p) => {
  const dir = join(here, 'node_modules', p);
  const f = readdirSync(dir).find((n) => /^licen[cs]e/i.test(n));
  return `== ${p} ==\n` + (f ? readFileSync(join(dir, f), 'utf8') : '');
});
writeFileSync(join(out, 'THIRD_PARTY_LICENSES.txt'), licences.join('\n'));
console.log('built', readdirSync(out).sort().join(' '));
