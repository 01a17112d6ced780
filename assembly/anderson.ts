/**
 * Fused solver steps: one call does what the solvers otherwise compose from a dozen backend
 * primitives per iteration (strided copies, axpby, batched dot / norm, GEMV, small solve).
 * This file: the damped fixed-point step and Anderson's history update; the Anderson mixing
 * (weights and combination) is in ./anderson_mix.ts.
 * Each keeps the rounding points of that composition's elementwise results; sums are
 * reassociated (below) and the Anderson weights come from an L D L^T solve instead of the
 * pivoted bordered solve, so results agree with the composed path to rounding.
 *
 * - Arrays are contiguous row-major, byte addresses, any alignment; sizes in elements.
 * - States x, f, out are (B, D); Anderson histories X, F, G are (B, m, D) (slot j of sample b
 *   at row b m + j); gram is (B, m, m); norms is (2B): the residual norms then the image norms.
 * - Norms and dots reduce in SIMD chunks of DOT_CHUNK bytes with chunk sums in f64 (as ./dot),
 *   over the values rounded to T exactly as the composed path stores them; the one-pass
 *   kernels keep two accumulators per sum instead of dot's four (reassociated, so equal to
 *   the composed path to rounding, not bit for bit).
 * - fp_step: out may alias f exactly. The Anderson kernels' outputs must not overlap inputs.
 */
import { hsum, lanes, madd } from './simd';
import { dot, DOT_CHUNK } from './dot';

/** Second result of `fpRow`: the sum of squares of out. */
let fpOO: f64 = 0;

/**
 * One pass over a sample: out = a f + b x (as axpby) and returns sum((out - x)^2) with the
 * difference rounded to T, leaving sum(out^2) in `fpOO` (both reduced like `dot`). `out` may
 * alias f exactly.
 */
@inline function fpRow<T>(out: usize, f: usize, x: usize, n: i32, a: T, b: T): f64 {
  const sz = <i32>sizeof<T>();
  const L = lanes<T>();
  const chunk = DOT_CHUNK / sz;
  const va = v128.splat<T>(a), vb = v128.splat<T>(b);
  let dd = 0.0, oo = 0.0;
  let i = 0;
  while (i < n) {
    const end = min(n, i + chunk);
    let d0 = v128.splat<T>(<T>0), d1 = d0, o0 = d0, o1 = d0;
    for (; i + 2 * L <= end; i += 2 * L) {
      const xa = v128.load(x), xb = v128.load(x, 16);
      const oa = v128.add<T>(v128.mul<T>(va, v128.load(f)), v128.mul<T>(vb, xa));
      const ob = v128.add<T>(v128.mul<T>(va, v128.load(f, 16)), v128.mul<T>(vb, xb));
      v128.store(out, oa);
      v128.store(out, ob, 16);
      const da = v128.sub<T>(oa, xa), db = v128.sub<T>(ob, xb);
      d0 = madd<T>(da, da, d0);
      d1 = madd<T>(db, db, d1);
      o0 = madd<T>(oa, oa, o0);
      o1 = madd<T>(ob, ob, o1);
      x += 32; f += 32; out += 32;
    }
    for (; i + L <= end; i += L) {
      const xa = v128.load(x);
      const oa = v128.add<T>(v128.mul<T>(va, v128.load(f)), v128.mul<T>(vb, xa));
      v128.store(out, oa);
      const da = v128.sub<T>(oa, xa);
      d0 = madd<T>(da, da, d0);
      o0 = madd<T>(oa, oa, o0);
      x += 16; f += 16; out += 16;
    }
    dd += hsum<T>(v128.add<T>(d0, d1));
    oo += hsum<T>(v128.add<T>(o0, o1));
    for (; i < end; i++) {
      const xv = load<T>(x);
      const ov: T = a * load<T>(f) + b * xv;
      store<T>(out, ov);
      const dv: T = ov - xv;
      dd += <f64>dv * <f64>dv;
      oo += <f64>ov * <f64>ov;
      x += <usize>sz; f += <usize>sz; out += <usize>sz;
    }
  }
  fpOO = oo;
  return dd;
}

/**
 * Damped fixed-point step with its residual norms, per sample b: out[b] = tau f[b] + (1 - tau)
 * x[b] (tau rounded to T, as axpby), norms[b] = ||out[b] - x[b]|| (difference rounded to T),
 * norms[B + b] = ||out[b]||, in one pass per sample, for the samples [s0, s1) of the B.
 */
@inline export function fpStep<T>(out: usize, norms: usize, f: usize, x: usize, tau: f64, B: i32, D: i32,
  s0: i32, s1: i32): void {
  const sz = <usize>sizeof<T>();
  const row = <usize>D * sz;
  const a = <T>tau, b = <T>(1 - tau);
  for (let s = s0; s < s1; s++) {
    const dd = fpRow<T>(out + <usize>s * row, f + <usize>s * row, x + <usize>s * row, D, a, b);
    store<T>(norms + <usize>s * sz, <T>Math.sqrt(dd));
    store<T>(norms + <usize>(B + s) * sz, <T>Math.sqrt(fpOO));
  }
}

/** See fpStep (f32). */
export function fp_step_f32(out: usize, norms: usize, f: usize, x: usize, tau: f64, B: i32, D: i32): void {
  fpStep<f32>(out, norms, f, x, tau, B, D, 0, B);
}
/** See fpStep (f64). */
export function fp_step_f64(out: usize, norms: usize, f: usize, x: usize, tau: f64, B: i32, D: i32): void {
  fpStep<f64>(out, norms, f, x, tau, B, D, 0, B);
}

/** Second result of `dot2` (module globals: each instance, and so each thread, has its own). */
let dot2Second: f64 = 0;

/**
 * Dot products of g with two rows r and s at once (g loaded once), each reduced like `dot`:
 * chunks of DOT_CHUNK bytes, chunk sums in f64. Returns g . r; g . s is left in `dot2Second`.
 */
@inline function dot2<T>(g: usize, r: usize, s: usize, n: i32): f64 {
  const sz = <i32>sizeof<T>();
  const L = lanes<T>();
  const chunk = DOT_CHUNK / sz;
  let tr = 0.0, ts = 0.0;
  let i = 0;
  while (i < n) {
    const end = min(n, i + chunk);
    let r0 = v128.splat<T>(<T>0), r1 = r0, s0 = r0, s1 = r0;
    for (; i + 2 * L <= end; i += 2 * L) {
      const g0 = v128.load(g), g1 = v128.load(g, 16);
      r0 = madd<T>(g0, v128.load(r), r0);
      r1 = madd<T>(g1, v128.load(r, 16), r1);
      s0 = madd<T>(g0, v128.load(s), s0);
      s1 = madd<T>(g1, v128.load(s, 16), s1);
      g += 32;
      r += 32;
      s += 32;
    }
    for (; i + L <= end; i += L) {
      const g0 = v128.load(g);
      r0 = madd<T>(g0, v128.load(r), r0);
      s0 = madd<T>(g0, v128.load(s), s0);
      g += 16;
      r += 16;
      s += 16;
    }
    tr += hsum<T>(v128.add<T>(r0, r1));
    ts += hsum<T>(v128.add<T>(s0, s1));
    for (; i < end; i++) {
      const gv = <f64>load<T>(g);
      tr += gv * <f64>load<T>(r);
      ts += gv * <f64>load<T>(s);
      g += <usize>sz;
      r += <usize>sz;
      s += <usize>sz;
    }
  }
  dot2Second = ts;
  return tr;
}

/** Second result of `recordRow`: the sum of squares of f. */
let recordFF: f64 = 0;

/**
 * One pass over a sample: stores x, f and g = f - x (rounded to T) at X, F, G and returns
 * sum(g^2), leaving sum(f^2) in `recordFF` (both reduced like `dot`, chunk sums in f64).
 */
@inline function recordRow<T>(X: usize, F: usize, G: usize, x: usize, f: usize, n: i32): f64 {
  const sz = <i32>sizeof<T>();
  const L = lanes<T>();
  const chunk = DOT_CHUNK / sz;
  let gg = 0.0, ff = 0.0;
  let i = 0;
  while (i < n) {
    const end = min(n, i + chunk);
    let g0 = v128.splat<T>(<T>0), g1 = g0, f0 = g0, f1 = g0;
    for (; i + 2 * L <= end; i += 2 * L) {
      const xa = v128.load(x), xb = v128.load(x, 16), fa = v128.load(f), fb = v128.load(f, 16);
      const da = v128.sub<T>(fa, xa), db = v128.sub<T>(fb, xb);
      v128.store(X, xa);
      v128.store(X, xb, 16);
      v128.store(F, fa);
      v128.store(F, fb, 16);
      v128.store(G, da);
      v128.store(G, db, 16);
      g0 = madd<T>(da, da, g0);
      g1 = madd<T>(db, db, g1);
      f0 = madd<T>(fa, fa, f0);
      f1 = madd<T>(fb, fb, f1);
      x += 32; f += 32; X += 32; F += 32; G += 32;
    }
    for (; i + L <= end; i += L) {
      const xa = v128.load(x), fa = v128.load(f);
      const da = v128.sub<T>(fa, xa);
      v128.store(X, xa);
      v128.store(F, fa);
      v128.store(G, da);
      g0 = madd<T>(da, da, g0);
      f0 = madd<T>(fa, fa, f0);
      x += 16; f += 16; X += 16; F += 16; G += 16;
    }
    gg += hsum<T>(v128.add<T>(g0, g1));
    ff += hsum<T>(v128.add<T>(f0, f1));
    for (; i < end; i++) {
      const xv = load<T>(x), fv = load<T>(f);
      const dv: T = fv - xv;
      store<T>(X, xv);
      store<T>(F, fv);
      store<T>(G, dv);
      gg += <f64>dv * <f64>dv;
      ff += <f64>fv * <f64>fv;
      x += <usize>sz; f += <usize>sz; X += <usize>sz; F += <usize>sz; G += <usize>sz;
    }
  }
  recordFF = ff;
  return gg;
}

/**
 * Anderson history update for the evaluation f = f(x), per sample b: slot `slot` of X, F, G
 * takes x[b], f[b] and f[b] - x[b] (one pass that also sums the squares); row and column `slot`
 * of gram[b] take the dot products of the new G row with every G row (rounded to T; the other
 * rows two at a time); norms[b] = ||f[b] - x[b]||, norms[B + b] = ||f[b]||. Samples [b0, b1)
 * of the B.
 */
@inline export function andersonRecord<T>(X: usize, F: usize, G: usize, gram: usize, norms: usize, x: usize, f: usize,
  slot: i32, B: i32, m: i32, D: i32, b0: i32, b1: i32): void {
  const sz = <usize>sizeof<T>();
  const row = <usize>D * sz;
  for (let b = b0; b < b1; b++) {
    const xs = x + <usize>b * row, fs = f + <usize>b * row;
    const hist = <usize>(b * m) * row;
    const at = hist + <usize>slot * row;
    const g = G + at;
    const gg = recordRow<T>(X + at, F + at, g, xs, fs, D);
    store<T>(norms + <usize>b * sz, <T>Math.sqrt(gg));
    store<T>(norms + <usize>(B + b) * sz, <T>Math.sqrt(recordFF));
    const gb = gram + <usize>(b * m * m) * sz;
    store<T>(gb + <usize>(slot * m + slot) * sz, <T>gg);
    let pending = -1;
    for (let j = 0; j < m; j++) {
      if (j == slot) continue;
      if (pending < 0) {
        pending = j;
        continue;
      }
      const v = <T>dot2<T>(g, G + hist + <usize>pending * row, G + hist + <usize>j * row, D);
      const u = <T>dot2Second;
      store<T>(gb + <usize>(slot * m + pending) * sz, v);
      store<T>(gb + <usize>(pending * m + slot) * sz, v);
      store<T>(gb + <usize>(slot * m + j) * sz, u);
      store<T>(gb + <usize>(j * m + slot) * sz, u);
      pending = -1;
    }
    if (pending >= 0) {
      const v = <T>dot<T>(g, G + hist + <usize>pending * row, D);
      store<T>(gb + <usize>(slot * m + pending) * sz, v);
      store<T>(gb + <usize>(pending * m + slot) * sz, v);
    }
  }
}

/** See andersonRecord (f32). */
export function anderson_record_f32(X: usize, F: usize, G: usize, gram: usize, norms: usize, x: usize, f: usize,
  slot: i32, B: i32, m: i32, D: i32): void {
  andersonRecord<f32>(X, F, G, gram, norms, x, f, slot, B, m, D, 0, B);
}
/** See andersonRecord (f64). */
export function anderson_record_f64(X: usize, F: usize, G: usize, gram: usize, norms: usize, x: usize, f: usize,
  slot: i32, B: i32, m: i32, D: i32): void {
  andersonRecord<f64>(X, F, G, gram, norms, x, f, slot, B, m, D, 0, B);
}
