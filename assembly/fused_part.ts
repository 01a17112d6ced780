/**
 * The fused DEQ-cell kernels of ./fused.ts split into parts for the thread pool (src/threads/):
 * part `p` of `np` handles a contiguous block of rows (add_tanh) or of elements (tanh_grad).
 * Every element is computed independently and tails go through the same vector code as the
 * body (see ./fused.ts), so results are bit-identical whatever the number of parts. Signature
 * `(part, parts, scratch, ...the kernel's arguments)`; no scratch is used.
 */
import { add_tanh_f32, add_tanh_f64, tanh_grad_f32, tanh_grad_f64 } from './fused';

/** Element blocks of tanh_grad start at multiples of this many elements (whole cache lines). */
const BLOCK: i32 = 16;

/** Where part `p` of `np` starts in `n` items (parts differ in size by at most one item). */
@inline export function cut(p: i32, np: i32, n: i32): i32 {
  return <i32>(<i64>p * n / np);
}

/**
 * Rows [p rows / np, (p + 1) rows / np) of add_tanh_f32.
 * @example add_tanh_part_f32(0, 2, 0, out, x, u, 64, 1024, 0)
 */
export function add_tanh_part_f32(p: i32, np: i32, scratch: usize, out: usize, x: usize, u: usize, rows: i32, cols: i32, uRowStride: i32): void {
  const r0 = cut(p, np, rows), r1 = cut(p + 1, np, rows);
  if (r1 <= r0) return;
  const o = <usize>r0 * <usize>cols * 4;
  add_tanh_f32(out + o, x + o, u + <usize>r0 * <usize>uRowStride * 4, r1 - r0, cols, uRowStride);
}

/** As `add_tanh_part_f32`, for f64. */
export function add_tanh_part_f64(p: i32, np: i32, scratch: usize, out: usize, x: usize, u: usize, rows: i32, cols: i32, uRowStride: i32): void {
  const r0 = cut(p, np, rows), r1 = cut(p + 1, np, rows);
  if (r1 <= r0) return;
  const o = <usize>r0 * <usize>cols * 8;
  add_tanh_f64(out + o, x + o, u + <usize>r0 * <usize>uRowStride * 8, r1 - r0, cols, uRowStride);
}

/**
 * Elements [i0, i1) of tanh_grad_f32, blocks cut at multiples of BLOCK elements.
 * @example tanh_grad_part_f32(1, 2, 0, out, g, y, 65536)
 */
export function tanh_grad_part_f32(p: i32, np: i32, scratch: usize, out: usize, g: usize, y: usize, n: i32): void {
  const blocks = (n + BLOCK - 1) / BLOCK;
  const i0 = cut(p, np, blocks) * BLOCK, i1 = min(n, cut(p + 1, np, blocks) * BLOCK);
  if (i1 <= i0) return;
  const o = <usize>i0 * 4;
  tanh_grad_f32(out + o, g + o, y + o, i1 - i0);
}

/** As `tanh_grad_part_f32`, for f64. */
export function tanh_grad_part_f64(p: i32, np: i32, scratch: usize, out: usize, g: usize, y: usize, n: i32): void {
  const blocks = (n + BLOCK - 1) / BLOCK;
  const i0 = cut(p, np, blocks) * BLOCK, i1 = min(n, cut(p + 1, np, blocks) * BLOCK);
  if (i1 <= i0) return;
  const o = <usize>i0 * 8;
  tanh_grad_f64(out + o, g + o, y + o, i1 - i0);
}
