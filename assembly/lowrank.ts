/**
 * The low-rank (Broyden-style) products: out[b] = s x[b] + sum_{j<r} U[b,j] (V[b,j] . x[b])
 * for U, V (B, rmax, D) (rows of D contiguous elements), x, out (B, D), and the pair of such
 * products Broyden needs each step, done in one pass over U and V.
 *
 * Per batch entry the r coefficients are computed first (four rows per pass, so each chunk of
 * x is loaded once for four dot products; chunks of DOT_CHUNK bytes are summed in f64 like
 * ./dot), then out = s x + sum_j c_j U_j is built four rows per pass with the coefficients held
 * in registers. out may alias x exactly. Coefficient scratch (8 bytes per row, two sets for the
 * pair) is one heap.alloc per call.
 */
import { hsum, lanes, madd } from './simd';
import { DOT_CHUNK } from './dot';

/** coef[j] = rows[j] . x for j < r (rows r contiguous rows of n elements), as f64. */
@inline function rowDots<T>(coef: usize, rows: usize, x: usize, r: i32, n: i32): void {
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
 * the rows in order j = 0, 1, ... to s x; the tail elements are summed in f64.
 */
@inline function combineRows<T>(out: usize, rows: usize, coef: usize, x: usize, r: i32, n: i32, s: f64): void {
  const sz = <i32>sizeof<T>();
  const L = lanes<T>();
  const row = <usize>n * <usize>sz;
  const nv = n - n % L;
  const vs = v128.splat<T>(<T>s);
  let j = 0;
  if (r >= 4) {
    const q0 = rows, q1 = q0 + row, q2 = q1 + row, q3 = q2 + row;
    const c0 = coefSplat<T>(coef, 0), c1 = coefSplat<T>(coef, 1), c2 = coefSplat<T>(coef, 2), c3 = coefSplat<T>(coef, 3);
    for (let i = 0; i < nv; i += L) {
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
    for (let i = 0; i < nv; i += L) {
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

/** out[b] = s x[b] + sum_{j<r} U[b,j] (V[b,j] . x[b]); out may alias x. */
@inline function lowRankMatvec<T>(out: usize, u: usize, v: usize, x: usize, B: i32, r: i32, rmax: i32, D: i32,
                                  s: f64): void {
  const row = <usize>D * sizeof<T>();
  const block = <usize>rmax * row;
  const coef = heap.alloc(<usize>max(r, 1) << 3);
  for (let b = 0; b < B; b++) {
    const xb = x + <usize>b * row, ob = out + <usize>b * row;
    rowDots<T>(coef, v + <usize>b * block, xb, r, D);
    combineRows<T>(ob, u + <usize>b * block, coef, xb, r, D, s);
  }
  heap.free(coef);
}

/**
 * Both products of a Broyden step in one pass over U and V (each batch entry's rows are
 * re-read from cache for the second half):
 * outX[b] = s x[b] + sum_j V[b,j] (U[b,j] . x[b]) and outY[b] = s y[b] + sum_j U[b,j] (V[b,j] . y[b]).
 * outX may alias x and outY may alias y; outX must not alias y.
 */
@inline function lowRankMatvecPair<T>(outX: usize, outY: usize, u: usize, v: usize, x: usize, y: usize, B: i32,
                                      r: i32, rmax: i32, D: i32, s: f64): void {
  const row = <usize>D * sizeof<T>();
  const block = <usize>rmax * row;
  const half = <usize>max(r, 1) << 3;
  const coef = heap.alloc(half << 1);
  for (let b = 0; b < B; b++) {
    const xb = x + <usize>b * row, yb = y + <usize>b * row;
    const ub = u + <usize>b * block, vb = v + <usize>b * block;
    rowDots<T>(coef, ub, xb, r, D);
    rowDots<T>(coef + half, vb, yb, r, D);
    combineRows<T>(outX + <usize>b * row, vb, coef, xb, r, D, s);
    combineRows<T>(outY + <usize>b * row, ub, coef + half, yb, r, D, s);
  }
  heap.free(coef);
}

export function lowrank_f32(out: usize, u: usize, v: usize, x: usize, B: i32, r: i32, rmax: i32, D: i32, s: f64): void {
  lowRankMatvec<f32>(out, u, v, x, B, r, rmax, D, s);
}
export function lowrank_f64(out: usize, u: usize, v: usize, x: usize, B: i32, r: i32, rmax: i32, D: i32, s: f64): void {
  lowRankMatvec<f64>(out, u, v, x, B, r, rmax, D, s);
}
export function lowrank_pair_f32(outX: usize, outY: usize, u: usize, v: usize, x: usize, y: usize, B: i32, r: i32,
                                 rmax: i32, D: i32, s: f64): void {
  lowRankMatvecPair<f32>(outX, outY, u, v, x, y, B, r, rmax, D, s);
}
export function lowrank_pair_f64(outX: usize, outY: usize, u: usize, v: usize, x: usize, y: usize, B: i32, r: i32,
                                 rmax: i32, D: i32, s: f64): void {
  lowRankMatvecPair<f64>(outX, outY, u, v, x, y, B, r, rmax, D, s);
}
