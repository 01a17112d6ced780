// The package's JavaScript builds (esbuild), by name: `node scripts/build_js.mjs lib demo bench`.
// - lib:   the package: one ES module per source module of src/ (minus src/bench and src/demo),
//          minified, each with a source map, in the same tree under build/ (build/index.js,
//          build/tensor.js, build/ops/arith.js, ...). Shipping modules rather than one bundle
//          lets an application's bundler keep only what the application reaches: a
//          namespace re-export (`export * as nn`) stays a re-export it can see through, and
//          modules nothing imports are left out. The WASM builds stay separate files
//          (build/wasm/tsdeq-*.wasm) that build/wasm_urls.js finds with
//          `new URL('./wasm/...', import.meta.url)` (see src/wasm_urls.ts).
// - demo:  build/demo.js, `npm run demo` (Node).
// - bench: build/bench.js, `npm run bench` (Node).
// Every output lies in build/, next to build/wasm/ (see scripts/wasm_url_plugin.mjs).
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { wasmUrlPlugin } from './wasm_url_plugin.mjs';

/** Source folders of src/ that are not part of the package (bundled apart: demo, bench). */
const NOT_SHIPPED = new Set(['bench', 'demo']);

/** Every .ts module of src/ that the package ships (not .d.ts, not bench/ or demo/). */
export function libSources(dir = 'src', top = true) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!(top && NOT_SHIPPED.has(name))) out.push(...libSources(path, false));
    } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Removes what an earlier lib build wrote to build/ (the module tree; old bundle chunks). */
function cleanLib() {
  if (!existsSync('build')) return;
  for (const name of readdirSync('src')) {
    if (NOT_SHIPPED.has(name)) continue;
    const js = name.replace(/\.ts$/, '.js');
    for (const f of [join('build', js), join('build', `${js}.map`)]) {
      if (existsSync(f) && (statSync(f).isDirectory() ? !name.endsWith('.ts') : true)) rmSync(f, { recursive: true, force: true });
    }
  }
  for (const f of readdirSync('build')) if (/^index-.*\.js(\.map)?$/.test(f)) rmSync(join('build', f)); // chunks of the old single-bundle layout
}

const common = { bundle: true, format: 'esm', target: 'es2022', logLevel: 'warning', plugins: [wasmUrlPlugin('./wasm/')] };

export const targets = {
  // Not bundled: each module compiled on its own (imports stay imports); the webgpu backend
  // stays a dynamic import that `init()` makes only when it is needed.
  lib: {
    ...common, bundle: false, entryPoints: libSources(), outbase: 'src', outdir: 'build',
    platform: 'neutral', minify: true, sourcemap: true, sourcesContent: false,
  },
  demo: { ...common, entryPoints: ['src/demo/main.ts'], outfile: 'build/demo.js', platform: 'node' },
  bench: { ...common, entryPoints: ['src/bench/main.ts'], outfile: 'build/bench.js', platform: 'node', external: ['@tensorflow/*', 'webgpu'] },
};

const names = process.argv.slice(2);
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const name of names.length ? names : ['lib']) {
    if (!(name in targets)) throw new Error(`build_js: unknown target '${name}', expected one of ${Object.keys(targets).join(', ')}`);
    if (name === 'lib') cleanLib();
    await build(targets[name]);
  }
}
