/**
 * Anderson mixing, the second fused Anderson step (the first, the history update, is in
 * ./anderson.ts, whose header states the shared conventions): per sample, the weights of the
 * bordered least-squares system by an L D L^T solve on f64x2 lanes (two samples per vector),
 * then the combination of the history rows. Agrees with the composed path (pivoted bordered
 * solve, batched GEMV) to rounding.
 */
import { lanes, madd } from './simd';
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
