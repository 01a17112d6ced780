/**
 * Binary elementwise kernels with broadcasting by strides, one per op and dtype:
 * `{op}_{f32|f64}(out, a, b, nd, dims)`.
 *
 * - a, b: byte addresses of the operands' first elements; out: byte address of a contiguous
 *   output. The geometry (shape and element strides of a = operand 0 and b = operand 1,
 *   innermost first, dimensions coalesced by the caller) is in the dims block at `dims`.
 * - Each innermost row runs as one loop: when both row strides are 0 or 1 it is a SIMD loop
 *   (a stride-0 operand is splatted into a dims-block slot and re-read in place), otherwise a
 *   scalar strided loop. Tails (row length mod lanes) reuse the vector code on splatted
 *   scalars, so every element gets the same arithmetic (`pow`'s scalar form runs the same
 *   vector core on a splat).
 * - out must not overlap a or b unless it is the identical array with identical strides.
 * - Semantics match src/backend/js.ts: comparisons give 1 or 0; maximum/minimum return a if
 *   a is NaN or a >= b (<= b), else b; pow follows JS Math.pow (pow(1, NaN) = NaN; table-free, ./pow).
 */
import { lane0, lanes, maskToOne, select } from './simd';
import { nextRow, rowLength, rowOffset, rowStride, slot, startRows } from './nd';
import { jsPow, pow_f64x2 } from './pow';

const ADD = 0;
const SUB = 1;
const MUL = 2;
const DIV = 3;
const POW = 4;
const MAXIMUM = 5;
const MINIMUM = 6;
const EQ = 7;
const NE = 8;
const LT = 9;
const LE = 10;
const GT = 11;
const GE = 12;

/** f32 pow lanes through the f64 pow (as the js backend: Math.pow, then rounded to f32). */
@inline function powF32x4(a: v128, b: v128): v128 {
  const lo = pow_f64x2(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b));
  const ah = i8x16.shuffle(a, a, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  const bh = i8x16.shuffle(b, b, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  const hi = pow_f64x2(f64x2.promote_low_f32x4(ah), f64x2.promote_low_f32x4(bh));
  return i8x16.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi),
    0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

@inline function applyV<T>(op: i32, a: v128, b: v128): v128 {
  if (op == POW) return sizeof<T>() == 8 ? pow_f64x2(a, b) : powF32x4(a, b);
  if (op == ADD) return v128.add<T>(a, b);
  if (op == SUB) return v128.sub<T>(a, b);
  if (op == MUL) return v128.mul<T>(a, b);
  if (op == DIV) return v128.div<T>(a, b);
  if (op == MAXIMUM) return select(v128.or(v128.ge<T>(a, b), v128.ne<T>(a, a)), a, b);
  if (op == MINIMUM) return select(v128.or(v128.le<T>(a, b), v128.ne<T>(a, a)), a, b);
  if (op == EQ) return maskToOne<T>(v128.eq<T>(a, b));
  if (op == NE) return maskToOne<T>(v128.ne<T>(a, b));
  if (op == LT) return maskToOne<T>(v128.lt<T>(a, b));
  if (op == LE) return maskToOne<T>(v128.le<T>(a, b));
  if (op == GT) return maskToOne<T>(v128.gt<T>(a, b));
  return maskToOne<T>(v128.ge<T>(a, b)); // GE
}

@inline function applyS<T>(op: i32, a: T, b: T): T {
  if (op == POW) return <T>jsPow(<f64>a, <f64>b);
  return lane0<T>(applyV<T>(op, v128.splat<T>(a), v128.splat<T>(b)));
}

@inline function binaryRow<T>(op: i32, pa: usize, sa: i32, pb: usize, sb: i32, po: usize, n: i32,
                              dims: usize): void {
  const sz = <i32>sizeof<T>();
  if ((sa == 0 || sa == 1) && (sb == 0 || sb == 1)) {
    let ia: usize = 16, ib: usize = 16;
    if (sa == 0) { v128.store(slot(dims, 0), v128.load_splat<T>(pa)); pa = slot(dims, 0); ia = 0; }
    if (sb == 0) { v128.store(slot(dims, 1), v128.load_splat<T>(pb)); pb = slot(dims, 1); ib = 0; }
    const L = lanes<T>();
    let i = 0;
    for (; i + L <= n; i += L) {
      v128.store(po, applyV<T>(op, v128.load(pa), v128.load(pb)));
      pa += ia;
      pb += ib;
      po += 16;
    }
    const ea = ia == 0 ? <usize>0 : <usize>sz, eb = ib == 0 ? <usize>0 : <usize>sz;
    for (; i < n; i++) {
      store<T>(po, lane0<T>(applyV<T>(op, v128.load_splat<T>(pa), v128.load_splat<T>(pb))));
      pa += ea;
      pb += eb;
      po += <usize>sz;
    }
  } else {
    const ea = <usize>(sa * sz), eb = <usize>(sb * sz);
    for (let i = 0; i < n; i++) {
      store<T>(po, applyS<T>(op, load<T>(pa), load<T>(pb)));
      pa += ea;
      pb += eb;
      po += <usize>sz;
    }
  }
}

@inline function binary<T>(op: i32, a: usize, b: usize, out: usize, nd: i32, dims: usize): void {
  const sz = <i32>sizeof<T>();
  const n = rowLength(dims);
  const sa = rowStride(dims, 0), sb = rowStride(dims, 1);
  const rows = startRows(dims, nd, 2);
  for (let r = 0; r < rows; r++) {
    binaryRow<T>(op, a + <usize>(rowOffset(dims, 0) * sz), sa, b + <usize>(rowOffset(dims, 1) * sz), sb,
      out, n, dims);
    out += <usize>(n * sz);
    nextRow(dims, nd, 2);
  }
}

export function add_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(ADD, a, b, out, nd, dims); }
export function add_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(ADD, a, b, out, nd, dims); }
export function sub_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(SUB, a, b, out, nd, dims); }
export function sub_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(SUB, a, b, out, nd, dims); }
export function mul_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(MUL, a, b, out, nd, dims); }
export function mul_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(MUL, a, b, out, nd, dims); }
export function div_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(DIV, a, b, out, nd, dims); }
export function div_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(DIV, a, b, out, nd, dims); }
export function pow_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(POW, a, b, out, nd, dims); }
export function pow_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(POW, a, b, out, nd, dims); }
export function maximum_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(MAXIMUM, a, b, out, nd, dims); }
export function maximum_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(MAXIMUM, a, b, out, nd, dims); }
export function minimum_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(MINIMUM, a, b, out, nd, dims); }
export function minimum_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(MINIMUM, a, b, out, nd, dims); }
export function eq_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(EQ, a, b, out, nd, dims); }
export function eq_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(EQ, a, b, out, nd, dims); }
export function ne_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(NE, a, b, out, nd, dims); }
export function ne_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(NE, a, b, out, nd, dims); }
export function lt_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(LT, a, b, out, nd, dims); }
export function lt_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(LT, a, b, out, nd, dims); }
export function le_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(LE, a, b, out, nd, dims); }
export function le_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(LE, a, b, out, nd, dims); }
export function gt_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(GT, a, b, out, nd, dims); }
export function gt_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(GT, a, b, out, nd, dims); }
export function ge_f32(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f32>(GE, a, b, out, nd, dims); }
export function ge_f64(out: usize, a: usize, b: usize, nd: i32, dims: usize): void { binary<f64>(GE, a, b, out, nd, dims); }
