/**
 * Entry point of the tsdeq WASM module: the allocator wrappers and every kernel.
 * Built from this one source (see asconfig.json) as `simd` and `relaxed` (relaxed SIMD
 * enabled; kernels branch on the compile-time constant ASC_FEATURE_RELAXED_SIMD), which import
 * nothing and export their memory (it grows on demand), and as `simd-threads` and
 * `relaxed-threads`, which import a shared memory (`env.memory`) for the thread pool.
 */
export * from './constants';
export * from './unary';
export * from './binary';
export * from './elementwise';
export * from './layout';
export * from './reduce';
export * from './linalg';
export * from './lowrank';
export * from './fused';
export { fp_step_f32, fp_step_f64, anderson_record_f32, anderson_record_f64 } from './anderson';
export { anderson_mix_f32, anderson_mix_f64 } from './anderson_mix';
export { fp_step_part_f32, fp_step_part_f64, anderson_record_part_f32, anderson_record_part_f64, anderson_mix_part_f32,
  anderson_mix_part_f64, anderson_mix_scratch_f32, anderson_mix_scratch_f64 } from './anderson_part';
export { broyden_advance_f32, broyden_advance_f64, broyden_step_f32, broyden_step_f64 } from './broyden';
export { broyden_advance_part_f32, broyden_advance_part_f64, broyden_step_part_f32, broyden_step_part_f64, broyden_scratch_f32,
  broyden_scratch_f64 } from './broyden_part';
export { gemm_f32, gemm_f64, gemm_prepack_f32, gemm_prepack_f64, gemm_packed_bytes_f32, gemm_packed_bytes_f64, gemm_packed_f32,
  gemm_packed_f64 } from './gemm';
export { gemm_parts_f32, gemm_parts_f64, gemm_part_scratch_f32, gemm_part_scratch_f64, gemm_part_f32, gemm_part_f64,
  gemm_part_packed_f32, gemm_part_packed_f64 } from './gemm_part';
export { add_tanh_part_f32, add_tanh_part_f64, tanh_grad_part_f32, tanh_grad_part_f64 } from './fused_part';

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
