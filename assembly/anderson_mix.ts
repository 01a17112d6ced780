/**
 * Anderson mixing, the second fused Anderson step (the first, the history update, is in
 * ./anderson.ts, whose header states the shared conventions): per sample, the weights of the
 * bordered least-squares system by an L D L^T solve on f64x2 lanes (four samples at a time),
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
 * Anderson weights of four samples at once, two per f64x2 vector and two vectors per element
 * (so the dependency chains of two L D L^T factorisations overlap): with H = G G^T + lam I (SPD
 * for lam > 0), the bordered system [[0, 1^T], [1, H]] [nu; alpha] = [1; 0] is solved as
 * alpha = H^-1 1 / (1^T H^-1 1) through an L D L^T factorisation (no square roots, one division
 * per column). Element (i, j) of samples (0, 1) is at H + (i n + j) 32 bytes, of samples (2, 3)
 * 16 bytes further; the lower triangle is read and overwritten with L. `t` is scratch of 3 n
 * elements, the weights go to `a` (n elements), both laid out like H's. Each lane runs exactly
 * the operations of a one-sample solve, whatever its neighbours. Returns bit k set when the
 * system of sample k failed (a pivot that is not positive and finite: H not numerically
 * positive definite, or a non-finite result): the caller then redoes the step with the pivoted
 * solve and its ridge fallback.
 */
@inline function weightsQuad(H: usize, a: usize, t: usize, n: i32): i32 {
  const rowBytes = <usize>n << 5;
  const w = t, piv = t + (<usize>n << 5), inv = piv + (<usize>n << 5);
  const zero = f64x2.splat(0), one = f64x2.splat(1);
  let okA = i64x2.splat(-1), okB = okA;
  for (let j = 0; j < n; j++) {
    const Hj = H + <usize>j * rowBytes;
    const jj = Hj + (<usize>j << 5);
    let dA = v128.load(jj), dB = v128.load(jj, 16);
    for (let k = 0; k < j; k++) {
      const e = Hj + (<usize>k << 5), pk = piv + (<usize>k << 5), wk = w + (<usize>k << 5);
      const lA = v128.load(e), lB = v128.load(e, 16);
      const wA = f64x2.mul(lA, v128.load(pk)), wB = f64x2.mul(lB, v128.load(pk, 16));
      v128.store(wk, wA);
      v128.store(wk, wB, 16);
      dA = f64x2.sub(dA, f64x2.mul(lA, wA));
      dB = f64x2.sub(dB, f64x2.mul(lB, wB));
    }
    okA = v128.and(okA, v128.and(f64x2.gt(dA, zero), finiteMask(dA)));
    okB = v128.and(okB, v128.and(f64x2.gt(dB, zero), finiteMask(dB)));
    const rA = f64x2.div(one, dA), rB = f64x2.div(one, dB);
    const pj = piv + (<usize>j << 5), ij = inv + (<usize>j << 5);
    v128.store(pj, dA);
    v128.store(pj, dB, 16);
    v128.store(ij, rA);
    v128.store(ij, rB, 16);
    for (let i = j + 1; i < n; i++) {
      const Hi = H + <usize>i * rowBytes;
      const e = Hi + (<usize>j << 5);
      let vA = v128.load(e), vB = v128.load(e, 16);
      for (let k = 0; k < j; k++) {
        const l = Hi + (<usize>k << 5), wk = w + (<usize>k << 5);
        vA = f64x2.sub(vA, f64x2.mul(v128.load(l), v128.load(wk)));
        vB = f64x2.sub(vB, f64x2.mul(v128.load(l, 16), v128.load(wk, 16)));
      }
      v128.store(e, f64x2.mul(vA, rA));
      v128.store(e, f64x2.mul(vB, rB), 16);
    }
  }
  // L y = 1 (unit lower triangle), then L^T a = y / D, then a /= sum(a).
  for (let i = 0; i < n; i++) {
    const Hi = H + <usize>i * rowBytes;
    let vA = one, vB = one;
    for (let k = 0; k < i; k++) {
      const l = Hi + (<usize>k << 5), ak = a + (<usize>k << 5);
      vA = f64x2.sub(vA, f64x2.mul(v128.load(l), v128.load(ak)));
      vB = f64x2.sub(vB, f64x2.mul(v128.load(l, 16), v128.load(ak, 16)));
    }
    const ai = a + (<usize>i << 5);
    v128.store(ai, vA);
    v128.store(ai, vB, 16);
  }
  let sA = zero, sB = zero;
  for (let i = n - 1; i >= 0; i--) {
    const ai = a + (<usize>i << 5), ii = inv + (<usize>i << 5);
    let vA = f64x2.mul(v128.load(ai), v128.load(ii)), vB = f64x2.mul(v128.load(ai, 16), v128.load(ii, 16));
    for (let k = i + 1; k < n; k++) {
      const l = H + <usize>k * rowBytes + (<usize>i << 5), ak = a + (<usize>k << 5);
      vA = f64x2.sub(vA, f64x2.mul(v128.load(l), v128.load(ak)));
      vB = f64x2.sub(vB, f64x2.mul(v128.load(l, 16), v128.load(ak, 16)));
    }
    v128.store(ai, vA);
    v128.store(ai, vB, 16);
    sA = f64x2.add(sA, vA);
    sB = f64x2.add(sB, vB);
  }
  const cA = f64x2.div(one, sA), cB = f64x2.div(one, sB);
  okA = v128.and(okA, finiteMask(cA));
  okB = v128.and(okB, finiteMask(cB));
  for (let i = 0; i < n; i++) {
    const ai = a + (<usize>i << 5);
    const vA = f64x2.mul(v128.load(ai), cA), vB = f64x2.mul(v128.load(ai, 16), cB);
    v128.store(ai, vA);
    v128.store(ai, vB, 16);
    okA = v128.and(okA, finiteMask(vA));
    okB = v128.and(okB, finiteMask(vB));
  }
  return (i64x2.extract_lane(okA, 0) != 0 ? 0 : 1) | (i64x2.extract_lane(okA, 1) != 0 ? 0 : 2)
    | (i64x2.extract_lane(okB, 0) != 0 ? 0 : 4) | (i64x2.extract_lane(okB, 1) != 0 ? 0 : 8);
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
 * by L D L^T, four samples at a time (see weightsQuad; the same solution as the pivoted solve
 * up to rounding); with
 * alpha rounded to T, out[b] = sum_j alpha_j F[b, j] when tau == 1, else
 * tau (sum_j alpha_j F[b, j]) + (1 - tau) (sum_j alpha_j X[b, j]) (as axpby).
 * Samples whose H is not numerically positive definite (lam = 0 with a rank-deficient
 * history, non-finite entries) leave out[b] untouched and flags[b] = 0 (else 1); returns how
 * many. Samples [first, end) of the B.
 * `scratch` (any alignment) holds mixScratchBytes<T>(n, D) bytes.
 */
@inline export function andersonMix<T>(out: usize, flags: usize, gram: usize, F: usize, X: usize, n: i32, lam: f64,
  tau: f64, B: i32, m: i32, D: i32, scratch: usize, first: i32, end: i32): i32 {
  const sz = <usize>sizeof<T>();
  const H = (scratch + 15) & ~(<usize>15);
  const a = H + (<usize>(n * n) << 5), t = a + (<usize>n << 5);
  const alpha = t + (<usize>(3 * n) << 5);
  const mixF = alpha + <usize>n * sz, mixX = mixF + <usize>D * sz;
  const row = <usize>D * sz;
  let bad = 0;
  for (let b0 = first; b0 < end; b0 += 4) {
    const quad = min(4, end - b0);
    // Missing samples of a last incomplete group repeat its last sample.
    const g = gram + <usize>(b0 * m * m) * sz, gs = <usize>(m * m) * sz;
    ridgeQuadInto<T>(H, g, g + <usize>min(1, quad - 1) * gs, g + <usize>min(2, quad - 1) * gs,
      g + <usize>min(3, quad - 1) * gs, n, m, lam);
    const failed = weightsQuad(H, a, t, n);
    for (let k = 0; k < quad; k++) {
      const b = b0 + k;
      const ok = (failed & (1 << k)) == 0;
      store<i32>(flags + (<usize>b << 2), ok ? 1 : 0);
      if (!ok) { bad++; continue; }
      for (let j = 0; j < n; j++) store<T>(alpha + <usize>j * sz, <T>load<f64>(a + (<usize>j << 5) + (<usize>k << 3)));
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
 * H = gram[:n, :n] + lam I of four samples into the interleaved H of `weightsQuad` (f64, n x n;
 * the lower triangle is enough), entries rounded to T as the composed path stores them (P + C
 * in T).
 */
@inline function ridgeQuadInto<T>(H: usize, g0: usize, g1: usize, g2: usize, g3: usize, n: i32, m: i32, lam: f64): void {
  const sz = <usize>sizeof<T>();
  const lamT = <T>lam;
  for (let i = 0; i < n; i++) {
    const o = <usize>(i * m) * sz, dst = H + (<usize>(i * n) << 5);
    for (let j = 0; j <= i; j++) {
      const e = o + <usize>j * sz;
      let u0 = load<T>(g0 + e), u1 = load<T>(g1 + e), u2 = load<T>(g2 + e), u3 = load<T>(g3 + e);
      if (i == j) {
        u0 += lamT;
        u1 += lamT;
        u2 += lamT;
        u3 += lamT;
      }
      const d = dst + (<usize>j << 5);
      v128.store(d, f64x2.replace_lane(f64x2.splat(<f64>u0), 1, <f64>u1));
      v128.store(d, f64x2.replace_lane(f64x2.splat(<f64>u2), 1, <f64>u3), 16);
    }
  }
}

@inline export function mixScratchBytes<T>(n: i32, D: i32): usize {
  return (<usize>(n * n + 4 * n) << 5) + <usize>(2 * D + n) * sizeof<T>() + 16;
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
