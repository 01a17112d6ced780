// Runs the smoke test against the bundled package and prints its report as one JSON line.
// Used by Node (`node main.mjs [--precompiled]`) and Deno (`deno run --allow-read main.mjs
// [--precompiled]`). With --precompiled, init() gets a WebAssembly.Module compiled here from
// the baseline-SIMD .wasm file, the way edge runtimes (workerd) hand over their modules.
import { smoke } from './smoke.mjs';

const isDeno = typeof Deno !== 'undefined';
// Node resolves the package by its name through package.json "exports" (a self-reference), as
// an installed dependency would be; Deno loads the same files by relative URL.
const T = isDeno ? await import('../../build/index.js') : await import('tsdeq');
const args = isDeno ? Deno.args : process.argv.slice(2);
let source;
if (args.includes('--precompiled')) {
  const url = isDeno
    ? new URL('../../build/wasm/tsdeq-simd.wasm', import.meta.url)
    : new URL(import.meta.resolve('tsdeq/wasm/simd.wasm'));
  const bytes = isDeno ? await Deno.readFile(url) : await (await import('node:fs/promises')).readFile(url);
  source = await WebAssembly.compile(bytes);
}
console.log(JSON.stringify(await smoke(T, source)));
