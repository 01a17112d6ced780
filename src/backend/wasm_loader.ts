/**
 * Loading the tsdeq WASM module: feature probes, the packaged builds, and instantiation with a
 * check that the module's layout constants match this JS build.
 */
import { SHARED_CONSTANTS } from './wasm_constants.js';
import { WasmBackend, type WasmVariant } from './wasm.js';
import { fetchWasmBytes, fetchWasmModule, wasmUrl } from './wasm_files.js';

/** What `init` and `createWasmBackend` accept as the module: raw bytes or a compiled module. */
export type WasmSource = ArrayBuffer | Uint8Array | WebAssembly.Module;

// A module with one function `() -> v128` returning v128.const 0 op v128.const 0, where op is
// i8x16.swizzle (baseline SIMD, opcode 0xfd 0x0e) or i8x16.relaxed_swizzle (0xfd 0x80 0x02).
const Z16 = new Array<number>(16).fill(0);
const HEADER = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0];
const CONSTS = [253, 12, ...Z16, 253, 12, ...Z16];
/** Probe module for baseline WebAssembly SIMD (exported for tests). */
export const SIMD_PROBE = new Uint8Array([...HEADER, 10, 42, 1, 40, 0, ...CONSTS, 253, 14, 11]);
/** Probe module for relaxed SIMD (exported for tests). */
export const RELAXED_PROBE = new Uint8Array([...HEADER, 10, 43, 1, 41, 0, ...CONSTS, 253, 128, 2, 11]);

function validates(bytes: Uint8Array): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(bytes as BufferSource);
  } catch {
    return false;
  }
}

/**
 * Features of the running engine, probed with tiny hand-written modules.
 * @example detectFeatures(); // { simd: true, relaxed: false } on plain Node 20
 */
export function detectFeatures(): { simd: boolean; relaxed: boolean } {
  const simd = validates(SIMD_PROBE);
  return { simd, relaxed: simd && validates(RELAXED_PROBE) };
}

/** Whether `x` is a value `init` / `createWasmBackend` can load. */
export function isWasmSource(x: unknown): x is WasmSource {
  return x instanceof ArrayBuffer || x instanceof Uint8Array
    || (typeof WebAssembly === 'object' && x instanceof WebAssembly.Module);
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return (x as object).constructor?.name ?? 'object';
}

const EDGE_HINT = '; if this runtime forbids compiling WebAssembly from bytes (as Cloudflare workerd does), import tsdeq/wasm/simd.wasm (or relaxed.wasm) as a module and pass it: init(module)';
const LOAD_HINT = "; where the package's .wasm files cannot be fetched or WebAssembly cannot be compiled from bytes (as on Cloudflare workerd), import tsdeq/wasm/simd.wasm (or relaxed.wasm) as a module and pass it: init(module)";

/** Runs `get` on the URL of a packaged build; a failure names the file and what to do instead. */
async function packaged<T>(variant: WasmVariant, threads: boolean, where: string, get: (url: URL) => Promise<T>, float32Only = false): Promise<T> {
  let url: URL | null = null;
  try {
    url = wasmUrl(variant, threads, float32Only);
    return await get(url);
  } catch (e) {
    const file = url?.href ?? `build/wasm/tsdeq-${variant}${threads ? '-threads' : float32Only ? '-f32' : ''}.wasm`;
    throw new Error(`${where}: could not load the tsdeq WASM module ${file}: ${(e as Error).message}${LOAD_HINT}`);
  }
}

/**
 * The bytes of the build shipped with the package (build/wasm/tsdeq-*.wasm, read from disk in
 * Node and Deno, fetched elsewhere) for `variant`; with `threads`, its shared-memory build
 * (tsdeq-*-threads.wasm, see ./wasm_shared.ts); with `float32Only` (and no `threads`), its
 * float32-only build (tsdeq-*-f32.wasm).
 * @example const bytes = await wasmBytes('simd');
 */
export function wasmBytes(variant: WasmVariant, threads = false, where = 'wasmBytes', float32Only = false): Promise<Uint8Array> {
  return packaged(variant, threads, where, fetchWasmBytes, float32Only);
}

/** The old name of `wasmBytes`, from when the bytes were embedded in the bundle as base64. */
export const embeddedBytes = wasmBytes;

/**
 * The plain (one-thread) build shipped with the package for `variant`, compiled; in browsers
 * with `WebAssembly.compileStreaming` (compiled while it downloads). With `float32Only`, its
 * float32-only build (tsdeq-*-f32.wasm: no float64 kernels, about 11 KB gzipped less).
 * @example const module = await wasmModule('relaxed');
 */
export function wasmModule(variant: WasmVariant, where = 'wasmModule', float32Only = false): Promise<WebAssembly.Module> {
  return packaged(variant, false, where, fetchWasmModule, float32Only);
}

/**
 * Instantiates the module from `source` and wraps it in a WasmBackend. The variant is read
 * from the module itself (its `RELAXED` export). Throws if the module's layout constants
 * differ from this build's, or if the engine rejects it.
 * @example const wasm = await createWasmBackend(await wasmModule('simd'));
 */
export async function createWasmBackend(source: WasmSource, where = 'createWasmBackend'): Promise<WasmBackend> {
  const { instance, variant } = await instantiateTsdeq(source, where, {});
  return new WasmBackend(instance, variant);
}

/**
 * Instantiates the tsdeq module from `source` with `imports` (the shared-memory builds import
 * `env.memory`) and checks its layout constants; the variant is read from its `RELAXED` export.
 * @example const { instance, variant } = await instantiateTsdeq(bytes, 'init', { env: { memory } });
 */
export async function instantiateTsdeq(source: WasmSource, where: string, imports: WebAssembly.Imports): Promise<{ instance: WebAssembly.Instance; variant: WasmVariant }> {
  if (!isWasmSource(source)) {
    throw new Error(`${where}: expected an ArrayBuffer, a Uint8Array or a WebAssembly.Module, received ${describe(source)}`);
  }
  let instance: WebAssembly.Instance;
  try {
    instance = source instanceof WebAssembly.Module
      ? await WebAssembly.instantiate(source, imports)
      : (await WebAssembly.instantiate(source as BufferSource, imports)).instance;
  } catch (e) {
    // Edge runtimes (Cloudflare workerd) forbid compiling WebAssembly from bytes at run time.
    const hint = source instanceof WebAssembly.Module ? '' : EDGE_HINT;
    throw new Error(`${where}: could not instantiate the tsdeq WASM module: ${(e as Error).message}${hint}`);
  }
  const ex = instance.exports;
  for (const [name, value] of Object.entries(SHARED_CONSTANTS)) {
    const g = ex[name];
    const got = g instanceof WebAssembly.Global ? g.value : undefined;
    if (got !== value) {
      throw new Error(`${where}: the WASM module does not match this version of tsdeq: expected ${name} = ${value}, received ${String(got)}; rebuild it with \`npm run build:wasm\``);
    }
  }
  const relaxed = ex.RELAXED instanceof WebAssembly.Global && ex.RELAXED.value === 1;
  return { instance, variant: relaxed ? 'relaxed' : 'simd' };
}

export { describe as describeValue };
