// An esbuild plugin for builds of src/: src/wasm_urls.ts finds the WASM builds with
// `new URL('../build/wasm/tsdeq-*.wasm', import.meta.url)`, relative to itself; in a bundle,
// import.meta.url is the bundle's URL, and in the package's module tree it is that of
// build/wasm_urls.js, so the plugin rewrites that prefix to `base`: './wasm/' for outputs
// written to build/ (the package, the demo, the bench), or an absolute file: URL of
// build/wasm/ for bundles written elsewhere (tests that bundle a script into a temp folder).
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

/** The absolute file: URL of this checkout's build/wasm/ folder. */
export const BUILD_WASM_URL = pathToFileURL(resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'build', 'wasm') + '/').href;

/** The plugin; `base` replaces '../build/wasm/' in src/wasm_urls.ts. */
export function wasmUrlPlugin(base = './wasm/') {
  return {
    name: 'tsdeq-wasm-urls',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]wasm_urls\.ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        const out = text.replaceAll("'../build/wasm/", `'${base}`);
        if (out === text) throw new Error(`${args.path}: no '../build/wasm/' URL left to rewrite`);
        return { contents: out, loader: 'ts' };
      });
    },
  };
}
