/**
 * What every build of the tsdeq WASM module exports besides its kernels: the build flags
 * (RELAXED, THREADS), the allocator wrappers and the abort handler. Re-exported by each entry
 * point (./index.ts, ./index_threads.ts, ./index_f32.ts).
 */

/** 1 in the relaxed-SIMD build, 0 in the baseline SIMD build. */
export const RELAXED: i32 = ASC_FEATURE_RELAXED_SIMD ? 1 : 0;

/**
 * 1 in the shared-memory builds (`simd-threads`, `relaxed-threads`: memory imported from
 * `env.memory`, shared, for the thread pool of src/threads/), 0 otherwise.
 */
export const THREADS: i32 = ASC_FEATURE_THREADS ? 1 : 0;

/**
 * Allocates `bytes` zero-filled bytes aligned to 16 (may grow memory; traps when memory
 * cannot grow). Release with `free`.
 */
export function alloc(bytes: usize): usize {
  const p = heap.alloc(bytes);
  memory.fill(p, 0, bytes);
  return p;
}

/** Like `alloc`, without zero-filling: for outputs a kernel overwrites entirely. */
export function alloc_uninit(bytes: usize): usize {
  return heap.alloc(bytes);
}

/** Releases a block returned by `alloc` or `alloc_uninit`. */
export function free(ptr: usize): void {
  heap.free(ptr);
}

/** Abort handler (wired with `--use abort=...`): the module traps instead of importing `env.abort`. */
export function trap(message: usize, file: usize, line: u32, column: u32): void {
  unreachable();
}
