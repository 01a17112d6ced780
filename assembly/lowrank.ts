/**
 * The low-rank (Broyden-style) products: out[b] = s x[b] + sum_{j<r} U[b,j] (V[b,j] . x[b])
 * for U, V (B, rmax, D) (rows of D contiguous elements), x, out (B, D), and the pair of such
 * products Broyden needs each step, done in one pass over U and V.
 *
 * Per batch entry the r coefficients are computed first (four rows per pass, so each chunk of
 * x is loaded once for four dot products; chunks of DOT_CHUNK bytes are summed in f64 like
 * ./dot), then out = s x + sum_j c_j U_j is built four rows per pass with the coefficients held
 * in registers (the per-sample pieces are in ./lowrank_rows, shared with ./broyden). out may
 * alias x exactly. Coefficient scratch (8 bytes per row, two sets for the pair) is one
 * heap.alloc per call.
 */
import { combineRows, rowDots } from './lowrank_rows';

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
