/**
 * The per-sample pieces of the low-rank products (./lowrank, ./broyden): the dots of r
 * contiguous rows with one vector (four rows per pass, so each chunk of x is loaded once for
 * four dots; chunks of DOT_CHUNK bytes summed in f64 like ./dot) and the combination
 * out = s x + sum_j c_j rows[j] (four rows per pass, coefficients in registers). Not exported
 * from the module (@inline helpers).
 */
import { hsum, lanes, madd } from './simd';
import { DOT_CHUNK } from './dot';

/** coef[j] = rows[j] . x for j < r (rows r contiguous rows of n elements), as f64. */
@inline export function rowDots<T>(coef: usize, rows: usize, x: usize, r: i32, n: i32): void {
  const sz = <i32>sizeof<T>();
  const L = lanes<T>();
  const row = <usize>n * <usize>sz;
  const chunk = DOT_CHUNK / sz;
  let j = 0;
  for (; j + 4 <= r; j += 4) {
    const q0 = rows + <usize>j * row, q1 = q0 + row, q2 = q1 + row, q3 = q2 + row;
    let t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0;
    let i = 0;
    while (i < n) {
      const end = min(n, i + chunk);
      let a0 = v128.splat<T>(<T>0), a1 = a0, a2 = a0, a3 = a0;
      for (; i + L <= end; i += L) {
        const o = <usize>(i * sz);
        const v = v128.load(x + o);
        a0 = madd<T>(v, v128.load(q0 + o), a0);
        a1 = madd<T>(v, v128.load(q1 + o), a1);
        a2 = madd<T>(v, v128.load(q2 + o), a2);
        a3 = madd<T>(v, v128.load(q3 + o), a3);
      }
      t0 += hsum<T>(a0); t1 += hsum<T>(a1); t2 += hsum<T>(a2); t3 += hsum<T>(a3);
      for (; i < end; i++) {
        const o = <usize>(i * sz);
        const v = <f64>load<T>(x + o);
        t0 += v * <f64>load<T>(q0 + o);
        t1 += v * <f64>load<T>(q1 + o);
        t2 += v * <f64>load<T>(q2 + o);
        t3 += v * <f64>load<T>(q3 + o);
      }
    }
    const c = coef + (<usize>j << 3);
    store<f64>(c, t0); store<f64>(c, t1, 8); store<f64>(c, t2, 16); store<f64>(c, t3, 24);
  }
  for (; j < r; j++) {
    const q = rows + <usize>j * row;
    let t = 0.0;
    let i = 0;
    while (i < n) {
      const end = min(n, i + chunk);
      let a0 = v128.splat<T>(<T>0), a1 = a0;
      for (; i + 2 * L <= end; i += 2 * L) {
        const o = <usize>(i * sz);
        a0 = madd<T>(v128.load(x + o), v128.load(q + o), a0);
        a1 = madd<T>(v128.load(x + o, 16), v128.load(q + o, 16), a1);
      }
      for (; i + L <= end; i += L) {
        const o = <usize>(i * sz);
        a0 = madd<T>(v128.load(x + o), v128.load(q + o), a0);
      }
      t += hsum<T>(v128.add<T>(a0, a1));
      for (; i < end; i++) {
        const o = <usize>(i * sz);
        t += <f64>load<T>(x + o) * <f64>load<T>(q + o);
      }
    }
    store<f64>(coef + (<usize>j << 3), t);
  }
}

/** Splat of coefficient j (stored as f64) in lane type T. */
@inline function coefSplat<T>(coef: usize, j: i32): v128 {
  return v128.splat<T>(<T>load<f64>(coef + (<usize>j << 3)));
}

/**
 * out = s x + sum_{j<r} coef[j] rows[j] over n elements (out may alias x). The SIMD part adds
 * the rows in order j = 0, 1, ... to s x (two vectors per iteration in the blocks of four rows,
 * for two independent multiply-add chains); the tail elements are summed in f64.
 */
@inline export function combineRows<T>(out: usize, rows: usize, coef: usize, x: usize, r: i32, n: i32, s: f64): void {
  const sz = <i32>sizeof<T>();
  const L = lanes<T>();
  const row = <usize>n * <usize>sz;
  const nv = n - n % L;
  const vs = v128.splat<T>(<T>s);
  let j = 0;
  if (r >= 4) {
    const q0 = rows, q1 = q0 + row, q2 = q1 + row, q3 = q2 + row;
    const c0 = coefSplat<T>(coef, 0), c1 = coefSplat<T>(coef, 1), c2 = coefSplat<T>(coef, 2), c3 = coefSplat<T>(coef, 3);
    let i = 0;
    for (; i + 2 * L <= nv; i += 2 * L) {
      const o = <usize>(i * sz);
      let acc = v128.mul<T>(vs, v128.load(x + o)), acd = v128.mul<T>(vs, v128.load(x + o, 16));
      acc = madd<T>(v128.load(q0 + o), c0, acc);
      acd = madd<T>(v128.load(q0 + o, 16), c0, acd);
      acc = madd<T>(v128.load(q1 + o), c1, acc);
      acd = madd<T>(v128.load(q1 + o, 16), c1, acd);
      acc = madd<T>(v128.load(q2 + o), c2, acc);
      acd = madd<T>(v128.load(q2 + o, 16), c2, acd);
      acc = madd<T>(v128.load(q3 + o), c3, acc);
      acd = madd<T>(v128.load(q3 + o, 16), c3, acd);
      v128.store(out + o, acc);
      v128.store(out + o, acd, 16);
    }
    for (; i < nv; i += L) {
      const o = <usize>(i * sz);
      let acc = v128.mul<T>(vs, v128.load(x + o));
      acc = madd<T>(v128.load(q0 + o), c0, acc);
      acc = madd<T>(v128.load(q1 + o), c1, acc);
      acc = madd<T>(v128.load(q2 + o), c2, acc);
      acc = madd<T>(v128.load(q3 + o), c3, acc);
      v128.store(out + o, acc);
    }
    j = 4;
  } else {
    for (let i = 0; i < nv; i += L) {
      const o = <usize>(i * sz);
      v128.store(out + o, v128.mul<T>(vs, v128.load(x + o)));
    }
  }
  for (; j + 4 <= r; j += 4) {
    const q0 = rows + <usize>j * row, q1 = q0 + row, q2 = q1 + row, q3 = q2 + row;
    const c0 = coefSplat<T>(coef, j), c1 = coefSplat<T>(coef, j + 1), c2 = coefSplat<T>(coef, j + 2), c3 = coefSplat<T>(coef, j + 3);
    let i = 0;
    // Two vectors per iteration: two independent chains of multiply-adds.
    for (; i + 2 * L <= nv; i += 2 * L) {
      const o = <usize>(i * sz);
      let acc = v128.load(out + o), acd = v128.load(out + o, 16);
      acc = madd<T>(v128.load(q0 + o), c0, acc);
      acd = madd<T>(v128.load(q0 + o, 16), c0, acd);
      acc = madd<T>(v128.load(q1 + o), c1, acc);
      acd = madd<T>(v128.load(q1 + o, 16), c1, acd);
      acc = madd<T>(v128.load(q2 + o), c2, acc);
      acd = madd<T>(v128.load(q2 + o, 16), c2, acd);
      acc = madd<T>(v128.load(q3 + o), c3, acc);
      acd = madd<T>(v128.load(q3 + o, 16), c3, acd);
      v128.store(out + o, acc);
      v128.store(out + o, acd, 16);
    }
    for (; i < nv; i += L) {
      const o = <usize>(i * sz);
      let acc = v128.load(out + o);
      acc = madd<T>(v128.load(q0 + o), c0, acc);
      acc = madd<T>(v128.load(q1 + o), c1, acc);
      acc = madd<T>(v128.load(q2 + o), c2, acc);
      acc = madd<T>(v128.load(q3 + o), c3, acc);
      v128.store(out + o, acc);
    }
  }
  for (; j < r; j++) {
    const q = rows + <usize>j * row;
    const c = coefSplat<T>(coef, j);
    for (let i = 0; i < nv; i += L) {
      const o = <usize>(i * sz);
      v128.store(out + o, madd<T>(v128.load(q + o), c, v128.load(out + o)));
    }
  }
  for (let i = nv; i < n; i++) {
    const o = <usize>(i * sz);
    let acc = s * <f64>load<T>(x + o);
    for (let k = 0; k < r; k++) acc += <f64>load<T>(rows + <usize>k * row + o) * load<f64>(coef + (<usize>k << 3));
    store<T>(out + o, <T>acc);
  }
}

/**
 * combineRows(out, rows, coef, x, r, n, s) and rowDots(dots, rows, y, r, n) in one pass over
 * the rows (each row chunk loaded once for both), with exactly their arithmetic: the same
 * accumulation order for out and the same chunked accumulators for the dots. out must not
 * overlap x, y or the rows.
 */
@inline export function combineRowsWithDots<T>(out: usize, rows: usize, coef: usize, x: usize, s: f64, y: usize,
  dots: usize, r: i32, n: i32): void {
  if (r == 0) {
    combineRows<T>(out, rows, coef, x, 0, n, s);
    return;
  }
  const sz = <i32>sizeof<T>();
  const L = lanes<T>();
  const row = <usize>n * <usize>sz;
  const nv = n - n % L;
  const chunk = DOT_CHUNK / sz;
  const vs = v128.splat<T>(<T>s);
  // s x first (as combineRows' first block computes it before adding rows).
  for (let i = 0; i < nv; i += L) {
    const o = <usize>(i * sz);
    v128.store(out + o, v128.mul<T>(vs, v128.load(x + o)));
  }
  let j = 0;
  for (; j + 4 <= r; j += 4) {
    const q0 = rows + <usize>j * row, q1 = q0 + row, q2 = q1 + row, q3 = q2 + row;
    const c0 = coefSplat<T>(coef, j), c1 = coefSplat<T>(coef, j + 1), c2 = coefSplat<T>(coef, j + 2), c3 = coefSplat<T>(coef, j + 3);
    let t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0;
    let i = 0;
    while (i < n) {
      const end = min(n, i + chunk);
      let a0 = v128.splat<T>(<T>0), a1 = a0, a2 = a0, a3 = a0;
      for (; i + L <= end; i += L) {
        const o = <usize>(i * sz);
        const yv = v128.load(y + o);
        const r0 = v128.load(q0 + o), r1 = v128.load(q1 + o), r2 = v128.load(q2 + o), r3 = v128.load(q3 + o);
        let acc = v128.load(out + o);
        acc = madd<T>(r0, c0, acc);
        acc = madd<T>(r1, c1, acc);
        acc = madd<T>(r2, c2, acc);
        acc = madd<T>(r3, c3, acc);
        v128.store(out + o, acc);
        a0 = madd<T>(yv, r0, a0);
        a1 = madd<T>(yv, r1, a1);
        a2 = madd<T>(yv, r2, a2);
        a3 = madd<T>(yv, r3, a3);
      }
      t0 += hsum<T>(a0); t1 += hsum<T>(a1); t2 += hsum<T>(a2); t3 += hsum<T>(a3);
      for (; i < end; i++) {
        const o = <usize>(i * sz);
        const v = <f64>load<T>(y + o);
        t0 += v * <f64>load<T>(q0 + o);
        t1 += v * <f64>load<T>(q1 + o);
        t2 += v * <f64>load<T>(q2 + o);
        t3 += v * <f64>load<T>(q3 + o);
      }
    }
    const d = dots + (<usize>j << 3);
    store<f64>(d, t0); store<f64>(d, t1, 8); store<f64>(d, t2, 16); store<f64>(d, t3, 24);
  }
  for (; j < r; j++) {
    const q = rows + <usize>j * row;
    const c = coefSplat<T>(coef, j);
    let t = 0.0;
    let i = 0;
    while (i < n) {
      const end = min(n, i + chunk);
      let a0 = v128.splat<T>(<T>0), a1 = a0;
      for (; i + 2 * L <= end; i += 2 * L) {
        const o = <usize>(i * sz);
        const r0 = v128.load(q + o), r1 = v128.load(q + o, 16);
        v128.store(out + o, madd<T>(r0, c, v128.load(out + o)));
        v128.store(out + o, madd<T>(r1, c, v128.load(out + o, 16)), 16);
        a0 = madd<T>(v128.load(y + o), r0, a0);
        a1 = madd<T>(v128.load(y + o, 16), r1, a1);
      }
      for (; i + L <= end; i += L) {
        const o = <usize>(i * sz);
        const r0 = v128.load(q + o);
        v128.store(out + o, madd<T>(r0, c, v128.load(out + o)));
        a0 = madd<T>(v128.load(y + o), r0, a0);
      }
      t += hsum<T>(v128.add<T>(a0, a1));
      for (; i < end; i++) {
        const o = <usize>(i * sz);
        t += <f64>load<T>(y + o) * <f64>load<T>(q + o);
      }
    }
    store<f64>(dots + (<usize>j << 3), t);
  }
  for (let i = nv; i < n; i++) {
    const o = <usize>(i * sz);
    let acc = s * <f64>load<T>(x + o);
    for (let k = 0; k < r; k++) acc += <f64>load<T>(rows + <usize>k * row + o) * load<f64>(coef + (<usize>k << 3));
    store<T>(out + o, <T>acc);
  }
}
