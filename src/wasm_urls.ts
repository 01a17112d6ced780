/**
 * Where the package's WASM builds live: `new URL('...', import.meta.url)`, one literal per
 * build, so that bundlers (esbuild, Vite, webpack) see each reference and copy the file, and
 * only the build that runs is downloaded (see ./backend/wasm_files.ts for the fetching).
 *
 * This module sits at the root of src/ on purpose: the package ships one ES module per source
 * module (build/index.js, build/backend/..., see scripts/build_js.mjs), and this one lands at
 * build/wasm_urls.js, next to build/wasm/, so its URLs read `./wasm/...`. An application
 * bundled with esbuild (which leaves `new URL` alone) then finds the builds in a `wasm/`
 * folder next to its own bundle, as before. The URLs below are written relative to src/; the
 * builds (scripts/wasm_url_plugin.mjs) rewrite `../build/wasm/` to `./wasm/`.
 */
import type { WasmVariant } from './backend/wasm.js';

/**
 * The URL of one build: baseline or relaxed SIMD, plain or shared-memory (threads), or the
 * plain float32-only build (`float32Only`, no shared-memory variant; see `init({ dtypes })`).
 * @example wasmUrl('relaxed', false).href // '.../build/wasm/tsdeq-relaxed.wasm'
 */
export function wasmUrl(variant: WasmVariant, threads: boolean, float32Only = false): URL {
  if (float32Only && !threads) {
    return variant === 'relaxed'
      ? new URL('../build/wasm/tsdeq-relaxed-f32.wasm', import.meta.url)
      : new URL('../build/wasm/tsdeq-simd-f32.wasm', import.meta.url);
  }
  if (variant === 'relaxed') {
    return threads
      ? new URL('../build/wasm/tsdeq-relaxed-threads.wasm', import.meta.url)
      : new URL('../build/wasm/tsdeq-relaxed.wasm', import.meta.url);
  }
  return threads
    ? new URL('../build/wasm/tsdeq-simd-threads.wasm', import.meta.url)
    : new URL('../build/wasm/tsdeq-simd.wasm', import.meta.url);
}
