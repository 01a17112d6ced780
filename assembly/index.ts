/**
 * Entry point of the one-thread tsdeq WASM modules `simd` and `relaxed` (relaxed SIMD enabled;
 * kernels branch on the compile-time constant ASC_FEATURE_RELAXED_SIMD): the allocator
 * wrappers and every kernel. They import nothing and export their memory (it grows on demand).
 * The shared-memory builds `simd-threads` and `relaxed-threads` (./index_threads.ts) add the
 * per-part kernels of the fused and solver steps that the thread pool (src/threads/) runs; the
 * one-thread builds leave them out (about 5 KB gzipped that no one-thread instance calls).
 */
export * from './runtime';
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
export { broyden_advance_f32, broyden_advance_f64, broyden_step_f32, broyden_step_f64 } from './broyden';
export { gemm_f32, gemm_f64, gemm_prepack_f32, gemm_prepack_f64, gemm_packed_bytes_f32, gemm_packed_bytes_f64, gemm_packed_f32,
  gemm_packed_f64 } from './gemm';
// The GEMM part kernels stay in the one-thread builds too: without these second callers of the
// GEMM driver, binaryen inlines it differently and 256 x 256 products ran 1.3-1.4x slower
// (scripts/wasm_ab.mjs); they cost almost nothing in size (the driver is shared).
export { gemm_parts_f32, gemm_parts_f64, gemm_part_scratch_f32, gemm_part_scratch_f64, gemm_part_f32, gemm_part_f64,
  gemm_part_packed_f32, gemm_part_packed_f64 } from './gemm_part';
