/**
 * Broyden's fused per-step kernels of ./broyden.ts split into parts for the thread pool
 * (src/threads/): part `p` of `np` handles a contiguous block of samples, each computed by
 * exactly the code of the one-thread kernel (bit-identical whatever the number of parts); the
 * low-rank history of a block stays in its core's cache. Signature `(part, parts, scratch,
 * ...the kernel's arguments)`; scratch: broyden_scratch_f32/f64 bytes per thread.
 */
import { advance, runStep, stepScratchBytes } from './broyden';
import { cut } from './fused_part';

/**
 * Samples [p B / np, (p + 1) B / np) of broyden_advance_f32.
 * @example broyden_advance_part_f32(0, 2, scratch, gNew, dx, dg, norms, f, xNew, x, g, 64, 256)
 */
export function broyden_advance_part_f32(p: i32, np: i32, scratch: usize, gNew: usize, dx: usize, dg: usize, norms: usize,
  f: usize, xNew: usize, x: usize, g: usize, B: i32, D: i32): void {
  advance<f32>(gNew, dx, dg, norms, f, xNew, x, g, B, D, (scratch + 15) & ~(<usize>15), cut(p, np, B), cut(p + 1, np, B));
}
/** As `broyden_advance_part_f32`, for f64. */
export function broyden_advance_part_f64(p: i32, np: i32, scratch: usize, gNew: usize, dx: usize, dg: usize, norms: usize,
  f: usize, xNew: usize, x: usize, g: usize, B: i32, D: i32): void {
  advance<f64>(gNew, dx, dg, norms, f, xNew, x, g, B, D, (scratch + 15) & ~(<usize>15), cut(p, np, B), cut(p + 1, np, B));
}

/**
 * Samples [p B / np, (p + 1) B / np) of broyden_step_f32.
 * @example broyden_step_part_f32(1, 2, scratch, U, V, d, dx, dg, g, 12, 12, 1, 64, 30, 256)
 */
export function broyden_step_part_f32(p: i32, np: i32, scratch: usize, U: usize, V: usize, d: usize, dx: usize, dg: usize,
  g: usize, r: i32, slot: i32, direction: i32, B: i32, mem: i32, D: i32): void {
  runStep<f32>(U, V, d, dx, dg, g, r, slot, direction, mem, D, scratch, cut(p, np, B), cut(p + 1, np, B));
}
/** As `broyden_step_part_f32`, for f64. */
export function broyden_step_part_f64(p: i32, np: i32, scratch: usize, U: usize, V: usize, d: usize, dx: usize, dg: usize,
  g: usize, r: i32, slot: i32, direction: i32, B: i32, mem: i32, D: i32): void {
  runStep<f64>(U, V, d, dx, dg, g, r, slot, direction, mem, D, scratch, cut(p, np, B), cut(p + 1, np, B));
}

/**
 * Scratch bytes per thread for both f32 kernels (rank r, D elements per sample).
 * @example broyden_scratch_f32(30, 256)
 */
export function broyden_scratch_f32(r: i32, D: i32): i32 {
  return <i32>stepScratchBytes<f32>(r, D);
}
/** As `broyden_scratch_f32`, for f64. */
export function broyden_scratch_f64(r: i32, D: i32): i32 {
  return <i32>stepScratchBytes<f64>(r, D);
}
