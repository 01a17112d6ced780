/**
 * Entry point of the shared-memory tsdeq WASM modules `simd-threads` and `relaxed-threads`
 * (see asconfig.json): everything of the one-thread builds (./index.ts) plus the per-part
 * kernels that the thread pool of src/threads/ runs (src/backend/wasm_parallel.ts binds them).
 * These builds import a shared memory (`env.memory`).
 */
export * from './index';
export { fp_step_part_f32, fp_step_part_f64, anderson_record_part_f32, anderson_record_part_f64, anderson_mix_part_f32,
  anderson_mix_part_f64, anderson_mix_scratch_f32, anderson_mix_scratch_f64 } from './anderson_part';
export { broyden_advance_part_f32, broyden_advance_part_f64, broyden_step_part_f32, broyden_step_part_f64, broyden_scratch_f32,
  broyden_scratch_f64 } from './broyden_part';
export { add_tanh_part_f32, add_tanh_part_f64, tanh_grad_part_f32, tanh_grad_part_f64 } from './fused_part';
