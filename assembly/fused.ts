/**
 * Fused elementwise kernels of the DEQ cell y = tanh(x W^T + u) and its VJP, so the GEMM
 * output is touched once more instead of three times (add, tanh; and mul, sub, mul back).
 *
 * - Pointers are byte addresses; counts and strides are in elements; any alignment.
 * - add_tanh: x and out are contiguous (rows, cols); row r of u starts at element
 *   r * uRowStride (uRowStride = cols: a full u; 0: one bias row shared by every row).
 *   out may alias x exactly (read before write); it must not overlap u otherwise.
 * - tanh_grad: out = g (1 - y^2) over n elements; out may alias g or y exactly.
 * - Tails (cols mod lanes) go through the same vector code with the element splatted, so
 *   body and tail round identically. tanh is the SIMD tanh of ./vmath_f32 and ./vmath_f64.
 */
import { lane0, lanes } from './simd';
import { tanh_f32x4 } from './vmath_f32';
import { tanh_f64x2 } from './vmath_f64';

/** tanh on one vector of T lanes (f32x4 or f64x2 SIMD tanh). */
@inline function tanhV<T>(v: v128): v128 {
  if (sizeof<T>() == 4) return tanh_f32x4(v);
  return tanh_f64x2(v);
}

@inline function addTanhRow<T>(out: usize, x: usize, u: usize, cols: i32): void {
  const sz = <usize>sizeof<T>();
  const L = lanes<T>();
  let j = 0;
  // Four independent vectors per step: the tanh is a long dependent chain (latency-bound).
  for (; j + 4 * L <= cols; j += 4 * L) {
    const a = v128.add<T>(v128.load(x), v128.load(u));
    const b = v128.add<T>(v128.load(x, 16), v128.load(u, 16));
    const c = v128.add<T>(v128.load(x, 32), v128.load(u, 32));
    const d = v128.add<T>(v128.load(x, 48), v128.load(u, 48));
    v128.store(out, tanhV<T>(a));
    v128.store(out, tanhV<T>(b), 16);
    v128.store(out, tanhV<T>(c), 32);
    v128.store(out, tanhV<T>(d), 48);
    x += 64;
    u += 64;
    out += 64;
  }
  for (; j + 2 * L <= cols; j += 2 * L) {
    const a = v128.add<T>(v128.load(x), v128.load(u));
    const b = v128.add<T>(v128.load(x, 16), v128.load(u, 16));
    v128.store(out, tanhV<T>(a));
    v128.store(out, tanhV<T>(b), 16);
    x += 32;
    u += 32;
    out += 32;
  }
  for (; j < cols; j++) {
    const s = v128.add<T>(v128.load_splat<T>(x), v128.load_splat<T>(u));
    store<T>(out, lane0<T>(tanhV<T>(s)));
    x += sz;
    u += sz;
    out += sz;
  }
}

@inline function addTanh<T>(out: usize, x: usize, u: usize, rows: i32, cols: i32, uRowStride: i32): void {
  const rowBytes = <usize>cols * <usize>sizeof<T>();
  const uStep = <usize>uRowStride * <usize>sizeof<T>();
  for (let r = 0; r < rows; r++) {
    addTanhRow<T>(out, x, u, cols);
    out += rowBytes;
    x += rowBytes;
    u += uStep;
  }
}

/** out[r, j] = tanh(x[r, j] + u[r uRowStride + j]) (f32, vectorised tanh). */
export function add_tanh_f32(out: usize, x: usize, u: usize, rows: i32, cols: i32, uRowStride: i32): void {
  addTanh<f32>(out, x, u, rows, cols, uRowStride);
}
/** out[r, j] = tanh(x[r, j] + u[r uRowStride + j]) (f64, vectorised tanh). */
export function add_tanh_f64(out: usize, x: usize, u: usize, rows: i32, cols: i32, uRowStride: i32): void {
  addTanh<f64>(out, x, u, rows, cols, uRowStride);
}

@inline function tanhGrad<T>(out: usize, g: usize, y: usize, n: i32): void {
  const sz = <usize>sizeof<T>();
  const L = lanes<T>();
  const one = v128.splat<T>(<T>1);
  let i = 0;
  for (; i + L <= n; i += L) {
    const yv = v128.load(y);
    v128.store(out, v128.mul<T>(v128.load(g), v128.sub<T>(one, v128.mul<T>(yv, yv))));
    g += 16;
    y += 16;
    out += 16;
  }
  for (; i < n; i++) {
    const yv = load<T>(y);
    store<T>(out, load<T>(g) * (<T>1 - yv * yv));
    g += sz;
    y += sz;
    out += sz;
  }
}

/** out[i] = g[i] (1 - y[i]^2) for i < n. */
export function tanh_grad_f32(out: usize, g: usize, y: usize, n: i32): void { tanhGrad<f32>(out, g, y, n); }
/** out[i] = g[i] (1 - y[i]^2) for i < n. */
export function tanh_grad_f64(out: usize, g: usize, y: usize, n: i32): void { tanhGrad<f64>(out, g, y, n); }
