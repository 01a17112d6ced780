/**
 * Entry point of the float32-only one-thread tsdeq WASM modules `simd-f32` and `relaxed-f32`
 * (see asconfig.json): the float32 kernels of ./index.ts and nothing for float64 (no `_f64`
 * kernels, no casts), about 11 KB gzipped less. Loaded by `init({ dtypes: ['float32'] })`
 * (src/init.ts), for pages that only compute in float32 and count their bytes; a float64
 * storage on such an instance is refused with an error (src/backend/wasm.ts). Like ./index.ts,
 * it keeps the GEMM part kernels so that binaryen inlines the GEMM driver the same way.
 */
export * from './runtime';
export * from './constants';

export { fp_step_f32, anderson_record_f32 } from './anderson';
export { anderson_mix_f32 } from './anderson_mix';
export { add_f32, sub_f32, mul_f32, div_f32, pow_f32, maximum_f32, minimum_f32, eq_f32, ne_f32, lt_f32, le_f32,
  gt_f32, ge_f32 } from './binary';
export { broyden_advance_f32, broyden_step_f32 } from './broyden';
export { fill_f32, axpby_f32, where_f32 } from './elementwise';
export { add_tanh_f32, tanh_grad_f32 } from './fused';
export { gemm_f32, gemm_prepack_f32, gemm_packed_bytes_f32, gemm_packed_f32 } from './gemm';
export { gemm_parts_f32, gemm_part_scratch_f32, gemm_part_f32, gemm_part_packed_f32 } from './gemm_part';
export { copy_f32, im2col_f32, col2im_f32 } from './layout';
export { dot_f32, norm_f32, gram_f32, solve_f32 } from './linalg';
export { lowrank_f32, lowrank_pair_f32 } from './lowrank';
export { sum_f32, max_f32, min_f32, argmax_f32, argmin_f32 } from './reduce';
export { neg_f32, sqrt_f32, exp_f32, log_f32, abs_f32, tanh_f32, sigmoid_f32, relu_f32, gelu_f32, softplus_f32,
  sign_f32, square_f32, reciprocal_f32, step_f32, geluGrad_f32, sin_f32, cos_f32 } from './unary';
