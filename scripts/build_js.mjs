// The package's JavaScript builds (esbuild), by name: `node scripts/build_js.mjs lib demo bench`.
// - lib:   build/index.js, the package: one ES module, minified, with a source map; the WASM
//          builds stay separate files (build/wasm/tsdeq-*.wasm) that it finds with
//          `new URL('./wasm/...', import.meta.url)` (see src/backend/wasm_files.ts).
// - demo:  build/demo.js, `npm run demo` (Node).
// - bench: build/bench.js, `npm run bench` (Node).
// Every output lies in build/, next to build/wasm/ (see scripts/wasm_url_plugin.mjs).
import { build } from 'esbuild';
import { wasmUrlPlugin } from './wasm_url_plugin.mjs';

const common = { bundle: true, format: 'esm', target: 'es2022', logLevel: 'warning', plugins: [wasmUrlPlugin('./wasm/')] };

export const targets = {
  lib: { ...common, entryPoints: ['src/index.ts'], outfile: 'build/index.js', platform: 'neutral', minify: true, sourcemap: true, sourcesContent: false },
  demo: { ...common, entryPoints: ['src/demo/main.ts'], outfile: 'build/demo.js', platform: 'node' },
  bench: { ...common, entryPoints: ['src/bench/main.ts'], outfile: 'build/bench.js', platform: 'node', external: ['@tensorflow/*', 'webgpu'] },
};

const names = process.argv.slice(2);
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const name of names.length ? names : ['lib']) {
    if (!(name in targets)) throw new Error(`build_js: unknown target '${name}', expected one of ${Object.keys(targets).join(', ')}`);
    await build(targets[name]);
  }
}
