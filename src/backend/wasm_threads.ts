/**
 * What the wasm backend needs to run on threads, in one module that ./wasm_shared.ts imports
 * dynamically (a separate chunk in split bundles, downloaded only where threads run): the
 * parallel kernels (and with them the thread pool, its worker spawning and the worker's
 * source) and the binary reader/rewriter for shared-memory builds.
 */
export { ParallelKernels } from './wasm_parallel.js';
export { memoryImportLimits, withPassiveData } from './wasm_binary.js';
