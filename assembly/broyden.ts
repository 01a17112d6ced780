/**
 * Broyden's per-step work after f (src/solvers/broyden.ts) in two calls instead of about
 * seventeen primitives: the differences and norms, then the two low-rank products with the
 * rank-one update. Each keeps the rounding points of the composition it replaces (every
 * intermediate rounded to T where the composed path stores it) and reduces its products, dots
 * and norms like ./lowrank and ./linalg (./dot's chunked f64 sums), so the results match the
 * composed path on the same build.
 *
 * - Arrays are contiguous row-major, byte addresses, any alignment; sizes in elements.
 * - States are (B, D); the rank-one terms U, V are (B, mem, D) (term j of sample b at row
 *   b mem + j); norms is (2B).
 * - broyden_advance: f may alias xNew; the outputs gNew, dx, dg must not overlap any input.
 * - broyden_step: d is read and (with direction = 1) rewritten in place; U and V must not
 *   overlap the vectors.
 */
import { lanes } from './simd';
import { dot } from './dot';
import { combineRows, combineRowsWithDots, rowDots } from './lowrank_rows';
import { tempArea } from './scratch';

/**
 * After evaluating f at xNew, per sample b: gNew = f - xNew, dx = xNew - x, dg = gNew - g,
 * norms[b] = ||gNew[b]||, norms[B + b] = ||gNew[b] + xNew[b]|| (the sum rounded to T, in
 * `scratch`, D elements), for the samples [b0, b1) of the B.
 */
@inline export function advance<T>(gNew: usize, dx: usize, dg: usize, norms: usize, f: usize, xNew: usize, x: usize,
  g: usize, B: i32, D: i32, scratch: usize, b0: i32, b1: i32): void {
  const sz = <usize>sizeof<T>();
  const L = lanes<T>();
  const row = <usize>D * sz;
  for (let b = b0; b < b1; b++) {
    const at = <usize>b * row;
    const fb = f + at, xnb = xNew + at, xb = x + at, gb = g + at;
    const gnb = gNew + at, dxb = dx + at, dgb = dg + at;
    let i = 0;
    for (; i + L <= D; i += L) {
      const o = <usize>i * sz;
      const xn = v128.load(xnb + o);
      const gn = v128.sub<T>(v128.load(fb + o), xn);
      v128.store(gnb + o, gn);
      v128.store(scratch + o, v128.add<T>(gn, xn));
      v128.store(dxb + o, v128.sub<T>(xn, v128.load(xb + o)));
      v128.store(dgb + o, v128.sub<T>(gn, v128.load(gb + o)));
    }
    for (; i < D; i++) {
      const o = <usize>i * sz;
      const xn = load<T>(xnb + o);
      const gn: T = load<T>(fb + o) - xn;
      store<T>(gnb + o, gn);
      store<T>(scratch + o, gn + xn);
      store<T>(dxb + o, xn - load<T>(xb + o));
      store<T>(dgb + o, gn - load<T>(gb + o));
    }
    store<T>(norms + <usize>b * sz, <T>Math.sqrt(dot<T>(gnb, gnb, D)));
    store<T>(norms + <usize>(B + b) * sz, <T>Math.sqrt(dot<T>(scratch, scratch, D)));
  }
}

/** Lanes of v where |v| < infinity, zero elsewhere (NaN and infinities become 0). */
@inline function finiteOrZero<T>(v: v128, inf: v128): v128 {
  return v128.and(v, v128.lt<T>(v128.abs<T>(v), inf));
}

@inline function finiteOrZeroScalar<T>(v: T): T {
  return Math.abs(<f64>v) < Infinity ? v : <T>0;
}

/**
 * One Broyden step after f, per sample b (samples visited in descending order when `slot` is
 * odd, so the rows the previous step touched last, likely still cached, come first): with the
 * first r terms of U, V (B_old = -I + sum_{j<r} u_j v_j^T), vT = dx^T B_old and p = B_old g
 * exactly as lowrank_pair computes them (rows ./lowrank_rows), then the good-Broyden update:
 * den = vT . dg (rounded to T), u = finite((dx - (p + d)) / den) into U row (b, slot),
 * v = finite(vT) into V row (b, slot), where finite() zeroes NaN and infinite entries; with
 * direction = 1 also the new direction d = -p - u (v . g) (the dot rounded to T, then the
 * product), which is -B_new g while the new term filled an empty slot. Samples [b0, b1) of the
 * B. Scratch: 2 max(r, 1) f64 coefficients at `coef`, rows vT and p (D elements each) at `vT`, `p`.
 */
@inline function step<T>(U: usize, V: usize, d: usize, dx: usize, dg: usize, g: usize, r: i32, slot: i32,
  direction: i32, mem: i32, D: i32, coef: usize, vT: usize, p: usize, b0: i32, b1: i32): void {
  const sz = <usize>sizeof<T>();
  const L = lanes<T>();
  const row = <usize>D * sz;
  const block = <usize>mem * row;
  const coefY = coef + (<usize>max(r, 1) << 3);
  const inf = v128.splat<T>(<T>Infinity);
  const down = (slot & 1) == 1;
  for (let k = b0; k < b1; k++) {
    const b = down ? b1 - 1 - (k - b0) : k;
    const at = <usize>b * row;
    const db = d + at, dxb = dx + at, gb = g + at;
    const Ub = U + <usize>b * block, Vb = V + <usize>b * block;
    // The pair's products with one pass over U: coefficients V . g, then p = -g + U coefY with
    // the coefficients U . dx in the same pass, then vT = -dx + V coefX.
    rowDots<T>(coefY, Vb, gb, r, D);
    combineRowsWithDots<T>(p, Ub, coefY, gb, -1, dxb, coef, r, D);
    combineRows<T>(vT, Vb, coef, dxb, r, D, -1);
    const ub = Ub + <usize>slot * row, wb = Vb + <usize>slot * row;
    const den = <T>dot<T>(vT, dg + at, D);
    const vden = v128.splat<T>(den);
    let i = 0;
    for (; i + L <= D; i += L) {
      const o = <usize>i * sz;
      const t = v128.add<T>(v128.load(p + o), v128.load(db + o));
      const u = v128.div<T>(v128.sub<T>(v128.load(dxb + o), t), vden);
      v128.store(ub + o, finiteOrZero<T>(u, inf));
      v128.store(wb + o, finiteOrZero<T>(v128.load(vT + o), inf));
    }
    for (; i < D; i++) {
      const o = <usize>i * sz;
      const t: T = load<T>(p + o) + load<T>(db + o);
      const u: T = (load<T>(dxb + o) - t) / den;
      store<T>(ub + o, finiteOrZeroScalar<T>(u));
      store<T>(wb + o, finiteOrZeroScalar<T>(load<T>(vT + o)));
    }
    if (direction == 0) continue;
    const c = <T>dot<T>(wb, gb, D);
    const vc = v128.splat<T>(c);
    i = 0;
    for (; i + L <= D; i += L) {
      const o = <usize>i * sz;
      v128.store(db + o, v128.sub<T>(v128.neg<T>(v128.load(p + o)), v128.mul<T>(v128.load(ub + o), vc)));
    }
    for (; i < D; i++) {
      const o = <usize>i * sz;
      store<T>(db + o, -load<T>(p + o) - load<T>(ub + o) * c);
    }
  }
}

/** Scratch bytes of `runStep` (and of `advance`, which needs less), 16-byte alignment slack included. */
@inline export function stepScratchBytes<T>(r: i32, D: i32): usize {
  return (<usize>max(r, 1) << 4) + ((<usize>max(D, 1) * sizeof<T>()) << 1) + 16;
}

/** `step` for the samples [b0, b1) with its scratch at `scratch` (stepScratchBytes<T>(r, D) bytes). */
@inline export function runStep<T>(U: usize, V: usize, d: usize, dx: usize, dg: usize, g: usize, r: i32, slot: i32,
  direction: i32, mem: i32, D: i32, scratch: usize, b0: i32, b1: i32): void {
  const coef = (scratch + 15) & ~(<usize>15);
  const coefBytes = <usize>max(r, 1) << 4;
  const row = <usize>max(D, 1) * sizeof<T>();
  step<T>(U, V, d, dx, dg, g, r, slot, direction, mem, D, coef, coef + coefBytes, coef + coefBytes + row, b0, b1);
}

/** See advance (f32). */
export function broyden_advance_f32(gNew: usize, dx: usize, dg: usize, norms: usize, f: usize, xNew: usize, x: usize,
  g: usize, B: i32, D: i32): void {
  advance<f32>(gNew, dx, dg, norms, f, xNew, x, g, B, D, tempArea(<usize>max(D, 1) << 2), 0, B);
}
/** See advance (f64). */
export function broyden_advance_f64(gNew: usize, dx: usize, dg: usize, norms: usize, f: usize, xNew: usize, x: usize,
  g: usize, B: i32, D: i32): void {
  advance<f64>(gNew, dx, dg, norms, f, xNew, x, g, B, D, tempArea(<usize>max(D, 1) << 3), 0, B);
}
/** See step (f32). */
export function broyden_step_f32(U: usize, V: usize, d: usize, dx: usize, dg: usize, g: usize, r: i32, slot: i32,
  direction: i32, B: i32, mem: i32, D: i32): void {
  runStep<f32>(U, V, d, dx, dg, g, r, slot, direction, mem, D, tempArea(stepScratchBytes<f32>(r, D)), 0, B);
}
/** See step (f64). */
export function broyden_step_f64(U: usize, V: usize, d: usize, dx: usize, dg: usize, g: usize, r: i32, slot: i32,
  direction: i32, B: i32, mem: i32, D: i32): void {
  runStep<f64>(U, V, d, dx, dg, g, r, slot, direction, mem, D, tempArea(stepScratchBytes<f64>(r, D)), 0, B);
}
