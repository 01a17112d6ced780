/**
 * Entry point of the tsdeq WASM module: the allocator wrappers and every kernel.
 * Built twice from this one source (see asconfig.json): `simd` and `relaxed` (relaxed SIMD
 * enabled; kernels branch on the compile-time constant ASC_FEATURE_RELAXED_SIMD).
 * The module imports nothing and exports its memory, which grows on demand.
 */
export * from './constants';
export * from './unary';
export * from './binary';
export * from './elementwise';
export * from './layout';
export * from './reduce';
export * from './linalg';
export * from './fused';
export * from './anderson';
export { gemm_f32, gemm_f64 } from './gemm';

/** 1 in the relaxed-SIMD build, 0 in the baseline SIMD build. */
export const RELAXED: i32 = ASC_FEATURE_RELAXED_SIMD ? 1 : 0;

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
