/**
 * Fused solver steps: one call does what the solvers otherwise compose from a dozen backend
 * primitives per iteration (strided copies, axpby, batched dot / norm, GEMV, small solve).
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
import { tempArea } from './scratch';

/** dst[i] = a * p[i] + b * q[i] for n elements (axpby's arithmetic: two products, one add). */
@inline function axpbyRow<T>(dst: usize, p: usize, q: usize, n: i32, a: T, b: T): void {
  const sz = <usize>sizeof<T>();
  const L = lanes<T>();
  const va = v128.splat<T>(a), vb = v128.splat<T>(b);
  let i = 0;
  for (; i + L <= n; i += L) {
    v128.store(dst, v128.add<T>(v128.mul<T>(va, v128.load(p)), v128.mul<T>(vb, v128.load(q))));
    p += 16;
    q += 16;
    dst += 16;
  }
  for (; i < n; i++) {
    store<T>(dst, a * load<T>(p) + b * load<T>(q));
    p += sz;
    q += sz;
    dst += sz;
  }
}

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

/** All-ones lanes where the f64 lane is finite (not NaN, not infinite). */
@inline function finiteMask(v: v128): v128 {
  return f64x2.lt(f64x2.abs(v), f64x2.splat(Infinity));
}

/**
 * Anderson weights of two samples at once, one per f64x2 lane: with H = G G^T + lam I (SPD for
 * lam > 0), the bordered system [[0, 1^T], [1, H]] [nu; alpha] = [1; 0] is solved as
 * alpha = H^-1 1 / (1^T H^-1 1) through an L D L^T factorisation (no square roots, one division
 * per column). `H` holds both n x n matrices lane-interleaved (element (i, j) of the pair at
 * H + (i n + j) 16 bytes; the lower triangle is read and overwritten with L); `t` is scratch of
 * 3 n pairs; the weights go to `a` (n pairs). Returns bit k set when the system in lane k
 * failed (a pivot that is not positive and finite: H not numerically positive definite, or a
 * non-finite result): the caller then redoes the step with the pivoted solve and its ridge
 * fallback.
 */
@inline function weightsPair(H: usize, a: usize, t: usize, n: i32): i32 {
  const rowBytes = <usize>n << 4;
  const w = t, piv = t + (<usize>n << 4), inv = piv + (<usize>n << 4);
  let ok = i64x2.splat(-1);
  for (let j = 0; j < n; j++) {
    const Hj = H + <usize>j * rowBytes;
    let d = v128.load(Hj + (<usize>j << 4));
    for (let k = 0; k < j; k++) {
      const l = v128.load(Hj + (<usize>k << 4));
      const wk = f64x2.mul(l, v128.load(piv + (<usize>k << 4)));
      v128.store(w + (<usize>k << 4), wk);
      d = f64x2.sub(d, f64x2.mul(l, wk));
    }
    ok = v128.and(ok, v128.and(f64x2.gt(d, f64x2.splat(0)), finiteMask(d)));
    const r = f64x2.div(f64x2.splat(1), d);
    v128.store(piv + (<usize>j << 4), d);
    v128.store(inv + (<usize>j << 4), r);
    for (let i = j + 1; i < n; i++) {
      const Hi = H + <usize>i * rowBytes;
      let v = v128.load(Hi + (<usize>j << 4));
      for (let k = 0; k < j; k++) v = f64x2.sub(v, f64x2.mul(v128.load(Hi + (<usize>k << 4)), v128.load(w + (<usize>k << 4))));
      v128.store(Hi + (<usize>j << 4), f64x2.mul(v, r));
    }
  }
  // L y = 1 (unit lower triangle), then L^T a = y / D, then a /= sum(a).
  for (let i = 0; i < n; i++) {
    const Hi = H + <usize>i * rowBytes;
    let v = f64x2.splat(1);
    for (let k = 0; k < i; k++) v = f64x2.sub(v, f64x2.mul(v128.load(Hi + (<usize>k << 4)), v128.load(a + (<usize>k << 4))));
    v128.store(a + (<usize>i << 4), v);
  }
  let sum = f64x2.splat(0);
  for (let i = n - 1; i >= 0; i--) {
    let v = f64x2.mul(v128.load(a + (<usize>i << 4)), v128.load(inv + (<usize>i << 4)));
    for (let k = i + 1; k < n; k++) {
      v = f64x2.sub(v, f64x2.mul(v128.load(H + <usize>k * rowBytes + (<usize>i << 4)), v128.load(a + (<usize>k << 4))));
    }
    v128.store(a + (<usize>i << 4), v);
    sum = f64x2.add(sum, v);
  }
  const s = f64x2.div(f64x2.splat(1), sum);
  ok = v128.and(ok, finiteMask(s));
  for (let i = 0; i < n; i++) {
    const v = f64x2.mul(v128.load(a + (<usize>i << 4)), s);
    v128.store(a + (<usize>i << 4), v);
    ok = v128.and(ok, finiteMask(v));
  }
  return (i64x2.extract_lane(ok, 0) != 0 ? 0 : 1) | (i64x2.extract_lane(ok, 1) != 0 ? 0 : 2);
}

/**
 * dst = sum_{j<n} alpha_j rows_j (rows D apart), accumulated in T in slot order; four vectors
 * of dst per pass so each alpha_j is splatted once per 4 L elements.
 */
@inline function combine<T>(dst: usize, rows: usize, alpha: usize, n: i32, D: i32): void {
  const sz = <usize>sizeof<T>();
  const L = lanes<T>();
  const row = <usize>D * sz;
  let i = 0;
  for (; i + 4 * L <= D; i += 4 * L) {
    const o = <usize>i * sz;
    let a0 = v128.splat<T>(<T>0), a1 = a0, a2 = a0, a3 = a0;
    for (let j = 0; j < n; j++) {
      const aj = v128.splat<T>(load<T>(alpha + <usize>j * sz));
      const r = rows + <usize>j * row + o;
      a0 = madd<T>(aj, v128.load(r), a0);
      a1 = madd<T>(aj, v128.load(r, 16), a1);
      a2 = madd<T>(aj, v128.load(r, 32), a2);
      a3 = madd<T>(aj, v128.load(r, 48), a3);
    }
    v128.store(dst + o, a0);
    v128.store(dst + o, a1, 16);
    v128.store(dst + o, a2, 32);
    v128.store(dst + o, a3, 48);
  }
  for (; i + L <= D; i += L) {
    const o = <usize>i * sz;
    let acc = v128.splat<T>(<T>0);
    for (let j = 0; j < n; j++) {
      acc = madd<T>(v128.splat<T>(load<T>(alpha + <usize>j * sz)), v128.load(rows + <usize>j * row + o), acc);
    }
    v128.store(dst + o, acc);
  }
  for (; i < D; i++) {
    const o = <usize>i * sz;
    let acc = <T>0;
    for (let j = 0; j < n; j++) acc += load<T>(alpha + <usize>j * sz) * load<T>(rows + <usize>j * row + o);
    store<T>(dst + o, acc);
  }
}

/**
 * Anderson mixing over the first n history slots, per sample b: the weights alpha solve the
 * bordered system [[0, 1^T], [1, H]] [nu; alpha] = [1; 0] with H = gram[b][:n, :n] + lam I
 * (entries rounded to T as the composed path stores them), computed as H^-1 1 / (1^T H^-1 1)
 * by L D L^T, two samples per f64x2 (see weightsPair; the same solution as the pivoted solve up
 * to rounding); with
 * alpha rounded to T, out[b] = sum_j alpha_j F[b, j] when tau == 1, else
 * tau (sum_j alpha_j F[b, j]) + (1 - tau) (sum_j alpha_j X[b, j]) (as axpby).
 * Samples whose H is not numerically positive definite (lam = 0 with a rank-deficient
 * history, non-finite entries) leave out[b] untouched and flags[b] = 0 (else 1); returns how
 * many. Samples [first, end) of the B (first even: samples are solved in pairs).
 * `scratch` (any alignment) holds mixScratchBytes<T>(n, D) bytes.
 */
@inline export function andersonMix<T>(out: usize, flags: usize, gram: usize, F: usize, X: usize, n: i32, lam: f64,
  tau: f64, B: i32, m: i32, D: i32, scratch: usize, first: i32, end: i32): i32 {
  const sz = <usize>sizeof<T>();
  const H = (scratch + 15) & ~(<usize>15);
  const a = H + (<usize>(n * n) << 4), t = a + (<usize>n << 4);
  const alpha = t + (<usize>(3 * n) << 4);
  const mixF = alpha + <usize>n * sz, mixX = mixF + <usize>D * sz;
  const row = <usize>D * sz;
  let bad = 0;
  for (let b0 = first; b0 < end; b0 += 2) {
    const pair = min(2, end - b0);
    // A lone last sample is paired with a copy of itself.
    ridgePairInto<T>(H, gram + <usize>(b0 * m * m) * sz, gram + <usize>((b0 + pair - 1) * m * m) * sz, n, m, lam);
    const failed = weightsPair(H, a, t, n);
    for (let k = 0; k < pair; k++) {
      const b = b0 + k;
      const ok = (failed & (1 << k)) == 0;
      store<i32>(flags + (<usize>b << 2), ok ? 1 : 0);
      if (!ok) { bad++; continue; }
      for (let j = 0; j < n; j++) store<T>(alpha + <usize>j * sz, <T>load<f64>(a + (<usize>j << 4) + (<usize>k << 3)));
      const hist = <usize>(b * m) * row;
      const ob = out + <usize>b * row;
      if (tau == 1) {
        combine<T>(ob, F + hist, alpha, n, D);
      } else {
        combine<T>(mixF, F + hist, alpha, n, D);
        combine<T>(mixX, X + hist, alpha, n, D);
        axpbyRow<T>(ob, mixF, mixX, D, <T>tau, <T>(1 - tau));
      }
    }
  }
  return bad;
}

/**
 * H = gram[:n, :n] + lam I of two samples into the lane-interleaved pair H (f64, n x n; the
 * lower triangle is enough), entries rounded to T as the composed path stores them (P + C in T).
 */
@inline function ridgePairInto<T>(H: usize, g0: usize, g1: usize, n: i32, m: i32, lam: f64): void {
  const sz = <usize>sizeof<T>();
  const lamT = <T>lam;
  for (let i = 0; i < n; i++) {
    const r0 = g0 + <usize>(i * m) * sz, r1 = g1 + <usize>(i * m) * sz, dst = H + (<usize>(i * n) << 4);
    for (let j = 0; j <= i; j++) {
      let u = load<T>(r0 + <usize>j * sz), v = load<T>(r1 + <usize>j * sz);
      if (i == j) {
        u += lamT;
        v += lamT;
      }
      v128.store(dst + (<usize>j << 4), f64x2.replace_lane(f64x2.splat(<f64>u), 1, <f64>v));
    }
  }
}

@inline export function mixScratchBytes<T>(n: i32, D: i32): usize {
  return (<usize>(n * n + 4 * n) << 4) + <usize>(2 * D + n) * sizeof<T>() + 16;
}

/** See andersonMix (f32); flags is B i32. */
export function anderson_mix_f32(out: usize, flags: usize, gram: usize, F: usize, X: usize, n: i32, lam: f64, tau: f64,
  B: i32, m: i32, D: i32): i32 {
  return andersonMix<f32>(out, flags, gram, F, X, n, lam, tau, B, m, D, tempArea(mixScratchBytes<f32>(n, D)), 0, B);
}
/** See andersonMix (f64); flags is B i32. */
export function anderson_mix_f64(out: usize, flags: usize, gram: usize, F: usize, X: usize, n: i32, lam: f64, tau: f64,
  B: i32, m: i32, D: i32): i32 {
  return andersonMix<f64>(out, flags, gram, F, X, n, lam, tau, B, m, D, tempArea(mixScratchBytes<f64>(n, D)), 0, B);
}
