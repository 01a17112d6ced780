// Runs the smoke test against the bundled package and prints its report as one JSON line.
// Used by Node (`node main.mjs [--precompiled]`) and Deno (`deno run --allow-read main.mjs
// [--precompiled]`). With --precompiled, init() gets a WebAssembly.Module compiled here from
// build/wasm/tsdeq-simd.wasm, the way edge runtimes (workerd) hand over their modules.
import * as T from '../../build/index.js';
import { smoke } from './smoke.mjs';

const args = typeof Deno !== 'undefined' ? Deno.args : process.argv.slice(2);
let source;
if (args.includes('--precompiled')) {
  const url = new URL('../../build/wasm/tsdeq-simd.wasm', import.meta.url);
  const bytes = typeof Deno !== 'undefined'
    ? await Deno.readFile(url)
    : await (await import('node:fs/promises')).readFile(url);
  source = await WebAssembly.compile(bytes);
}
console.log(JSON.stringify(await smoke(T, source)));
