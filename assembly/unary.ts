/**
 * Unary elementwise kernels, one per op and dtype: `{op}_{f32|f64}(out, x, n)`.
 *
 * - x, out: byte addresses of n contiguous elements; any alignment (storages are 16-byte
 *   aligned, views into them need not be).
 * - out may alias x exactly (each element is read before it is written); partial overlap
 *   is not allowed.
 * - SIMD ops run 16 bytes per step; the tail (n mod lanes) goes through the same vector code
 *   with the element splatted, so body and tail give identical results.
 * - Ops without a vector form (sin/cos) run a scalar loop (musl-derived Math/Mathf). Every
 *   f64 exp/log goes through the table-free f64x2 code of ./vmath_f64 (erf's in ./erf too), so
 *   the module carries none of the standard library's f64 exp/log lookup tables.
 * - Semantics match src/backend/js.ts, including NaN: relu/step/sign map NaN to 0.
 */
import { lane0, lanes, maskToOne, select } from './simd';
import { exp_f32x4, gelu_f32x4, geluGrad_f32x4, log_f32x4, sigmoid_f32x4, softplus_f32x4, tanh_f32x4 } from './vmath_f32';
import { gelu_f64x2, geluGrad_f64x2 } from './erf';
import { exp_f64x2, log_f64x2, sigmoid_f64x2, softplus_f64x2, tanh_f64x2 } from './vmath_f64';

const NEG = 0;
const SQRT = 1;
const EXP = 2;
const LOG = 3;
const ABS = 4;
const TANH = 5;
const SIGMOID = 6;
const RELU = 7;
const GELU = 8;
const SOFTPLUS = 9;
const SIGN = 10;
const SQUARE = 11;
const RECIPROCAL = 12;
const STEP = 13;
const GELU_GRAD = 14;
const SIN = 15;
const COS = 16;

/** Whether `op` has a vector form for element type T. */
@inline function vectorised<T>(op: i32): bool {
  if (op == NEG || op == SQRT || op == ABS || op == RELU || op == SIGN || op == SQUARE
    || op == RECIPROCAL || op == STEP) return true;
  return op == EXP || op == LOG || op == TANH || op == SIGMOID || op == SOFTPLUS || op == GELU || op == GELU_GRAD;
}

@inline function applyV<T>(op: i32, x: v128): v128 {
  const zero = v128.splat<T>(<T>0);
  if (op == NEG) return v128.neg<T>(x);
  if (op == SQRT) return v128.sqrt<T>(x);
  if (op == ABS) return v128.abs<T>(x);
  if (op == RELU) return v128.and(x, v128.gt<T>(x, zero));
  if (op == SIGN) {
    return v128.or(maskToOne<T>(v128.gt<T>(x, zero)),
      v128.and(v128.lt<T>(x, zero), v128.splat<T>(<T>-1)));
  }
  if (op == SQUARE) return v128.mul<T>(x, x);
  if (op == RECIPROCAL) return v128.div<T>(v128.splat<T>(<T>1), x);
  if (op == STEP) return maskToOne<T>(v128.gt<T>(x, zero));
  if (sizeof<T>() == 8) {
    if (op == EXP) return exp_f64x2(x);
    if (op == LOG) return log_f64x2(x);
    if (op == TANH) return tanh_f64x2(x);
    if (op == SIGMOID) return sigmoid_f64x2(x);
    if (op == GELU) return gelu_f64x2(x);
    if (op == GELU_GRAD) return geluGrad_f64x2(x);
    return softplus_f64x2(x); // SOFTPLUS
  }
  if (op == EXP) return exp_f32x4(x);
  if (op == LOG) return log_f32x4(x);
  if (op == TANH) return tanh_f32x4(x);
  if (op == SIGMOID) return sigmoid_f32x4(x);
  if (op == GELU) return gelu_f32x4(x);
  if (op == GELU_GRAD) return geluGrad_f32x4(x);
  return softplus_f32x4(x); // SOFTPLUS
}

@inline function applyS<T>(op: i32, v: T): T {
  const x = <f64>v;
  if (sizeof<T>() == 4) {
    if (op == SIN) return <T>Mathf.sin(<f32>v);
    return <T>Mathf.cos(<f32>v); // COS
  }
  if (op == SIN) return <T>Math.sin(x);
  return <T>Math.cos(x); // COS
}

@inline function unary<T>(op: i32, x: usize, out: usize, n: i32): void {
  const sz = <usize>sizeof<T>();
  let i = 0;
  if (vectorised<T>(op)) {
    const L = lanes<T>();
    for (; i + 2 * L <= n; i += 2 * L) {
      const a = v128.load(x);
      const b = v128.load(x, 16);
      v128.store(out, applyV<T>(op, a));
      v128.store(out, applyV<T>(op, b), 16);
      x += 32;
      out += 32;
    }
    for (; i < n; i++) {
      store<T>(out, lane0<T>(applyV<T>(op, v128.load_splat<T>(x))));
      x += sz;
      out += sz;
    }
  } else {
    for (; i < n; i++) {
      store<T>(out, applyS<T>(op, load<T>(x)));
      x += sz;
      out += sz;
    }
  }
}

export function neg_f32(out: usize, x: usize, n: i32): void { unary<f32>(NEG, x, out, n); }
export function neg_f64(out: usize, x: usize, n: i32): void { unary<f64>(NEG, x, out, n); }
export function sqrt_f32(out: usize, x: usize, n: i32): void { unary<f32>(SQRT, x, out, n); }
export function sqrt_f64(out: usize, x: usize, n: i32): void { unary<f64>(SQRT, x, out, n); }
export function exp_f32(out: usize, x: usize, n: i32): void { unary<f32>(EXP, x, out, n); }
export function exp_f64(out: usize, x: usize, n: i32): void { unary<f64>(EXP, x, out, n); }
export function log_f32(out: usize, x: usize, n: i32): void { unary<f32>(LOG, x, out, n); }
export function log_f64(out: usize, x: usize, n: i32): void { unary<f64>(LOG, x, out, n); }
export function abs_f32(out: usize, x: usize, n: i32): void { unary<f32>(ABS, x, out, n); }
export function abs_f64(out: usize, x: usize, n: i32): void { unary<f64>(ABS, x, out, n); }
export function tanh_f32(out: usize, x: usize, n: i32): void { unary<f32>(TANH, x, out, n); }
export function tanh_f64(out: usize, x: usize, n: i32): void { unary<f64>(TANH, x, out, n); }
export function sigmoid_f32(out: usize, x: usize, n: i32): void { unary<f32>(SIGMOID, x, out, n); }
export function sigmoid_f64(out: usize, x: usize, n: i32): void { unary<f64>(SIGMOID, x, out, n); }
export function relu_f32(out: usize, x: usize, n: i32): void { unary<f32>(RELU, x, out, n); }
export function relu_f64(out: usize, x: usize, n: i32): void { unary<f64>(RELU, x, out, n); }
export function gelu_f32(out: usize, x: usize, n: i32): void { unary<f32>(GELU, x, out, n); }
export function gelu_f64(out: usize, x: usize, n: i32): void { unary<f64>(GELU, x, out, n); }
export function softplus_f32(out: usize, x: usize, n: i32): void { unary<f32>(SOFTPLUS, x, out, n); }
export function softplus_f64(out: usize, x: usize, n: i32): void { unary<f64>(SOFTPLUS, x, out, n); }
export function sign_f32(out: usize, x: usize, n: i32): void { unary<f32>(SIGN, x, out, n); }
export function sign_f64(out: usize, x: usize, n: i32): void { unary<f64>(SIGN, x, out, n); }
export function square_f32(out: usize, x: usize, n: i32): void { unary<f32>(SQUARE, x, out, n); }
export function square_f64(out: usize, x: usize, n: i32): void { unary<f64>(SQUARE, x, out, n); }
export function reciprocal_f32(out: usize, x: usize, n: i32): void { unary<f32>(RECIPROCAL, x, out, n); }
export function reciprocal_f64(out: usize, x: usize, n: i32): void { unary<f64>(RECIPROCAL, x, out, n); }
export function step_f32(out: usize, x: usize, n: i32): void { unary<f32>(STEP, x, out, n); }
export function step_f64(out: usize, x: usize, n: i32): void { unary<f64>(STEP, x, out, n); }
export function geluGrad_f32(out: usize, x: usize, n: i32): void { unary<f32>(GELU_GRAD, x, out, n); }
export function geluGrad_f64(out: usize, x: usize, n: i32): void { unary<f64>(GELU_GRAD, x, out, n); }
export function sin_f32(out: usize, x: usize, n: i32): void { unary<f32>(SIN, x, out, n); }
export function sin_f64(out: usize, x: usize, n: i32): void { unary<f64>(SIN, x, out, n); }
export function cos_f32(out: usize, x: usize, n: i32): void { unary<f32>(COS, x, out, n); }
export function cos_f64(out: usize, x: usize, n: i32): void { unary<f64>(COS, x, out, n); }
