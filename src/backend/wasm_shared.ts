/**
 * The wasm backend on SHARED memory, for multi-threaded kernels: the shared-memory builds of
 * the module (tsdeq-simd-threads.wasm, tsdeq-relaxed-threads.wasm: `--enable threads
 * --sharedMemory --importMemory`) import their memory, which is created here as a shared
 * `WebAssembly.Memory` with the limits the module declares. The calling thread's instance owns
 * the allocator; the thread pool's workers instantiate a copy whose data segments are passive
 * (./wasm_binary.ts), so starting a worker never rewrites static data in use.
 *
 * The thread pool's code (./wasm_threads.ts: the parallel kernels, the pool, the worker's
 * source, the binary rewriter) is imported when a shared backend is first created: `init()`
 * creates one only where threads are possible, so pages that cannot run threads (not
 * cross-origin isolated) never download it.
 */
import { WasmBackend } from './wasm.js';
import { instantiateTsdeq } from './wasm_loader.js';

/**
 * A WasmBackend on shared memory, with its `parallel` kernels attached; `threads()` tells the
 * kernels how many threads to use at the time of each call (the pool follows it).
 * @example const wasm = await createSharedWasmBackend(await wasmBytes('simd', true), () => 2);
 */
export async function createSharedWasmBackend(bytes: Uint8Array, threads: () => number, where = 'createSharedWasmBackend'): Promise<WasmBackend> {
  if (!(bytes instanceof Uint8Array)) {
    throw new Error(`${where}: expected the bytes (Uint8Array) of a shared-memory build of the tsdeq module, received ${bytes === null ? 'null' : typeof bytes}`);
  }
  const { memoryImportLimits, withPassiveData, ParallelKernels } = await import('./wasm_threads.js');
  const limits = memoryImportLimits(bytes);
  if (limits === null || !limits.shared || limits.maximum === null) {
    throw new Error(`${where}: expected a shared-memory build of the tsdeq module (build/wasm/tsdeq-*-threads.wasm), received a module that ${limits === null ? 'imports no memory' : 'imports an unshared memory'}`);
  }
  const memory = new WebAssembly.Memory({ initial: limits.initial, maximum: limits.maximum, shared: true });
  const { instance, variant } = await instantiateTsdeq(bytes, where, { env: { memory } });
  const backend = new WasmBackend(instance, variant);
  backend.parallel = new ParallelKernels({ memory, exports: instance.exports, workerBytes: withPassiveData(bytes) }, threads);
  return backend;
}
