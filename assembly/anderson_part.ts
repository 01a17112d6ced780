/**
 * The fused solver steps of ./anderson.ts and ./anderson_mix.ts split into parts for the thread
 * pool (src/threads/): part `p` of `np` handles a contiguous block of samples. Samples are
 * independent and each is computed by exactly the code of the one-thread kernel (the mix solves
 * four samples per call in separate vector lanes, so how samples are grouped does not matter):
 * results are bit-identical whatever the number of parts. The mix uses the part's `scratch`
 * (the allocator belongs to the main thread). Signature `(part, parts, scratch, ...the kernel's
 * arguments)`.
 */
import { andersonRecord, fpStep } from './anderson';
import { andersonMix, mixScratchBytes } from './anderson_mix';
import { cut } from './fused_part';

/**
 * Samples [p B / np, (p + 1) B / np) of fp_step_f32.
 * @example fp_step_part_f32(0, 2, 0, out, norms, f, x, 1.0, 64, 1024)
 */
export function fp_step_part_f32(p: i32, np: i32, scratch: usize, out: usize, norms: usize, f: usize, x: usize, tau: f64,
  B: i32, D: i32): void {
  fpStep<f32>(out, norms, f, x, tau, B, D, cut(p, np, B), cut(p + 1, np, B));
}
/** As `fp_step_part_f32`, for f64. */
export function fp_step_part_f64(p: i32, np: i32, scratch: usize, out: usize, norms: usize, f: usize, x: usize, tau: f64,
  B: i32, D: i32): void {
  fpStep<f64>(out, norms, f, x, tau, B, D, cut(p, np, B), cut(p + 1, np, B));
}

/**
 * Samples [p B / np, (p + 1) B / np) of anderson_record_f32.
 * @example anderson_record_part_f32(1, 2, 0, X, F, G, gram, norms, x, f, 3, 64, 6, 1024)
 */
export function anderson_record_part_f32(p: i32, np: i32, scratch: usize, X: usize, F: usize, G: usize, gram: usize,
  norms: usize, x: usize, f: usize, slot: i32, B: i32, m: i32, D: i32): void {
  andersonRecord<f32>(X, F, G, gram, norms, x, f, slot, B, m, D, cut(p, np, B), cut(p + 1, np, B));
}
/** As `anderson_record_part_f32`, for f64. */
export function anderson_record_part_f64(p: i32, np: i32, scratch: usize, X: usize, F: usize, G: usize, gram: usize,
  norms: usize, x: usize, f: usize, slot: i32, B: i32, m: i32, D: i32): void {
  andersonRecord<f64>(X, F, G, gram, norms, x, f, slot, B, m, D, cut(p, np, B), cut(p + 1, np, B));
}

/**
 * Samples [p B / np, (p + 1) B / np) of anderson_mix_f32, writing flags (1 solved, 0 singular)
 * for those samples; `scratch` holds at least
 * anderson_mix_scratch_f32(n, D) bytes.
 * @example anderson_mix_part_f32(0, 2, scratch, out, flags, gram, F, X, 6, 1e-4, 1.0, 64, 6, 1024)
 */
export function anderson_mix_part_f32(p: i32, np: i32, scratch: usize, out: usize, flags: usize, gram: usize, F: usize,
  X: usize, n: i32, lam: f64, tau: f64, B: i32, m: i32, D: i32): void {
  andersonMix<f32>(out, flags, gram, F, X, n, lam, tau, B, m, D, scratch, cut(p, np, B), cut(p + 1, np, B));
}
/** As `anderson_mix_part_f32`, for f64. */
export function anderson_mix_part_f64(p: i32, np: i32, scratch: usize, out: usize, flags: usize, gram: usize, F: usize,
  X: usize, n: i32, lam: f64, tau: f64, B: i32, m: i32, D: i32): void {
  andersonMix<f64>(out, flags, gram, F, X, n, lam, tau, B, m, D, scratch, cut(p, np, B), cut(p + 1, np, B));
}

/**
 * Scratch bytes each part of anderson_mix_part_f32 needs.
 * @example anderson_mix_scratch_f32(6, 1024)
 */
export function anderson_mix_scratch_f32(n: i32, D: i32): i32 {
  return <i32>mixScratchBytes<f32>(n, D);
}
/** As `anderson_mix_scratch_f32`, for f64. */
export function anderson_mix_scratch_f64(n: i32, D: i32): i32 {
  return <i32>mixScratchBytes<f64>(n, D);
}
