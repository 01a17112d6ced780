// The package's JavaScript builds (esbuild), by name: `node scripts/build_js.mjs lib demo bench`.
// - lib:   build/index.js, the package: an ES module, minified, with a source map, plus lazily
//          imported chunks (build/index-*.js); the WASM builds stay separate files
//          (build/wasm/tsdeq-*.wasm) that it finds with `new URL('./wasm/...', import.meta.url)`
//          (see src/backend/wasm_files.ts).
// - demo:  build/demo.js, `npm run demo` (Node).
// - bench: build/bench.js, `npm run bench` (Node).
// Every output lies in build/, next to build/wasm/ (see scripts/wasm_url_plugin.mjs).
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { wasmUrlPlugin } from './wasm_url_plugin.mjs';

const common = { bundle: true, format: 'esm', target: 'es2022', logLevel: 'warning', plugins: [wasmUrlPlugin('./wasm/')] };

export const targets = {
  // Split: code that `init()` imports only when it is needed (the webgpu backend, when the
  // runtime has a WebGPU adapter or init({ gpu }) is passed) goes to build/index-*.js chunks,
  // next to index.js, so that './wasm/' means the same folder from any of them.
  lib: {
    ...common, entryPoints: { index: 'src/index.ts' }, outdir: 'build', splitting: true, chunkNames: 'index-[name]-[hash]',
    platform: 'neutral', minify: true, sourcemap: true, sourcesContent: false,
  },
  demo: { ...common, entryPoints: ['src/demo/main.ts'], outfile: 'build/demo.js', platform: 'node' },
  bench: { ...common, entryPoints: ['src/bench/main.ts'], outfile: 'build/bench.js', platform: 'node', external: ['@tensorflow/*', 'webgpu'] },
};

const names = process.argv.slice(2);
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const name of names.length ? names : ['lib']) {
    if (!(name in targets)) throw new Error(`build_js: unknown target '${name}', expected one of ${Object.keys(targets).join(', ')}`);
    if (name === 'lib' && existsSync('build')) {
      for (const f of readdirSync('build')) if (/^index-.*\.js(\.map)?$/.test(f)) rmSync(`build/${f}`); // stale chunks
    }
    await build(targets[name]);
  }
}
