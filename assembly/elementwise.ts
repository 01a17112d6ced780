/**
 * fill, where, axpby and cast kernels.
 *
 * - Pointers are byte addresses; counts and strides are in elements; any alignment.
 * - Tails (n mod lanes) are handled element by element with the same arithmetic as the body.
 */
import { lane0, lanes, select } from './simd';
import { nextRow, rowLength, rowOffset, rowStride, slot, startRows } from './nd';

@inline function fill<T>(out: usize, n: i32, value: T): void {
  const v = v128.splat<T>(value);
  const L = lanes<T>();
  let i = 0;
  for (; i + L <= n; i += L) {
    v128.store(out, v);
    out += 16;
  }
  for (; i < n; i++) {
    store<T>(out, value);
    out += sizeof<T>();
  }
}

/** out[i] = value for i < n. */
export function fill_f32(out: usize, value: f32, n: i32): void { fill<f32>(out, n, value); }
/** out[i] = value for i < n. */
export function fill_f64(out: usize, value: f64, n: i32): void { fill<f64>(out, n, value); }

/**
 * out[i] = alpha x[i] + beta y[i] for i < n (computed in T: alpha and beta are rounded to T).
 * out may alias x or y exactly (elementwise, read before write).
 */
@inline function axpby<T>(out: usize, x: usize, y: usize, n: i32, alpha: T, beta: T): void {
  const va = v128.splat<T>(alpha), vb = v128.splat<T>(beta);
  const L = lanes<T>();
  let i = 0;
  for (; i + L <= n; i += L) {
    v128.store(out, v128.add<T>(v128.mul<T>(va, v128.load(x)), v128.mul<T>(vb, v128.load(y))));
    x += 16;
    y += 16;
    out += 16;
  }
  for (; i < n; i++) {
    store<T>(out, alpha * load<T>(x) + beta * load<T>(y));
    x += sizeof<T>();
    y += sizeof<T>();
    out += sizeof<T>();
  }
}

export function axpby_f32(out: usize, alpha: f64, x: usize, beta: f64, y: usize, n: i32): void {
  axpby<f32>(out, x, y, n, <f32>alpha, <f32>beta);
}
export function axpby_f64(out: usize, alpha: f64, x: usize, beta: f64, y: usize, n: i32): void {
  axpby<f64>(out, x, y, n, alpha, beta);
}

/** out (f64, n elements) = x (f32, n elements); out must not overlap x. */
export function cast_f32_f64(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x);
    v128.store(out, f64x2.promote_low_f32x4(v));
    v128.store(out, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)), 16);
    x += 16;
    out += 32;
  }
  for (; i < n; i++) {
    store<f64>(out, <f64>load<f32>(x));
    x += 4;
    out += 8;
  }
}

/** out (f32, n elements) = x (f64, n elements) rounded to nearest-even; out must not overlap x. */
export function cast_f64_f32(out: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const lo = f32x4.demote_f64x2_zero(v128.load(x));
    const hi = f32x4.demote_f64x2_zero(v128.load(x, 16));
    v128.store(out, v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
    x += 32;
    out += 16;
  }
  for (; i < n; i++) {
    store<f32>(out, <f32>load<f64>(x));
    x += 8;
    out += 4;
  }
}

/** One row of where: 0/1 strides take the SIMD path through splat slots, others are scalar. */
@inline function whereRow<T>(pc: usize, sc: i32, pa: usize, sa: i32, pb: usize, sb: i32, po: usize,
                             n: i32, dims: usize): void {
  const sz = <i32>sizeof<T>();
  const zero = v128.splat<T>(<T>0);
  if ((sc == 0 || sc == 1) && (sa == 0 || sa == 1) && (sb == 0 || sb == 1)) {
    let ic: usize = 16, ia: usize = 16, ib: usize = 16;
    if (sc == 0) { v128.store(slot(dims, 0), v128.load_splat<T>(pc)); pc = slot(dims, 0); ic = 0; }
    if (sa == 0) { v128.store(slot(dims, 1), v128.load_splat<T>(pa)); pa = slot(dims, 1); ia = 0; }
    if (sb == 0) { v128.store(slot(dims, 2), v128.load_splat<T>(pb)); pb = slot(dims, 2); ib = 0; }
    const L = lanes<T>();
    let i = 0;
    for (; i + L <= n; i += L) {
      v128.store(po, select(v128.ne<T>(v128.load(pc), zero), v128.load(pa), v128.load(pb)));
      pc += ic;
      pa += ia;
      pb += ib;
      po += 16;
    }
    const ec = ic == 0 ? <usize>0 : <usize>sz, ea = ia == 0 ? <usize>0 : <usize>sz, eb = ib == 0 ? <usize>0 : <usize>sz;
    for (; i < n; i++) {
      store<T>(po, load<T>(pc) != 0 ? load<T>(pa) : load<T>(pb));
      pc += ec;
      pa += ea;
      pb += eb;
      po += <usize>sz;
    }
  } else {
    const ec = <usize>(sc * sz), ea = <usize>(sa * sz), eb = <usize>(sb * sz);
    for (let i = 0; i < n; i++) {
      store<T>(po, load<T>(pc) != 0 ? load<T>(pa) : load<T>(pb));
      pc += ec;
      pa += ea;
      pb += eb;
      po += <usize>sz;
    }
  }
}

/**
 * out = cond != 0 ? a : b over the N-d geometry in the dims block (operands 0 = cond, 1 = a,
 * 2 = b; out contiguous). NaN conditions count as true, as in the js backend.
 */
@inline function where<T>(cond: usize, a: usize, b: usize, out: usize, nd: i32, dims: usize): void {
  const sz = <i32>sizeof<T>();
  const n = rowLength(dims);
  const sc = rowStride(dims, 0), sa = rowStride(dims, 1), sb = rowStride(dims, 2);
  const rows = startRows(dims, nd, 3);
  for (let r = 0; r < rows; r++) {
    whereRow<T>(cond + <usize>(rowOffset(dims, 0) * sz), sc, a + <usize>(rowOffset(dims, 1) * sz), sa,
      b + <usize>(rowOffset(dims, 2) * sz), sb, out, n, dims);
    out += <usize>(n * sz);
    nextRow(dims, nd, 3);
  }
}

export function where_f32(out: usize, cond: usize, a: usize, b: usize, nd: i32, dims: usize): void {
  where<f32>(cond, a, b, out, nd, dims);
}
export function where_f64(out: usize, cond: usize, a: usize, b: usize, nd: i32, dims: usize): void {
  where<f64>(cond, a, b, out, nd, dims);
}
