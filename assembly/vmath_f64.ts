/**
 * Vectorised, table-free f64 exp, log, tanh, sigmoid and softplus on f64x2, written for this
 * project (the standard library's f64 exp/log/pow carry 9 KB gzipped of lookup tables).
 *
 * exp: Cody-Waite reduction x = n ln2 + r (ln2 split into a 33-bit head, so n * LN2_HI is
 * exact), |r| <= ln2/2, then the Taylor series of e^r (or e^r - 1) to degree 13 (truncation
 * < 2e-17 relative), then scaling by 2^n from exponent bits, in two halves so denormal results
 * round once; 1 + r is summed exactly, so the result rounds about once (<= 1 ulp from
 * Math.exp, nearly always equal). +-Inf and NaN handled like Math.exp/tanh.
 *
 * log: x = 2^k m with m in [sqrt(1/2), sqrt(2)) from the exponent bits (denormals scaled by 2^54
 * first), f = m - 1, s = f / (2 + f), log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)) with R the
 * series of 2 atanh(s) / s - 2 to degree 10 in s^2 (|s| <= 0.1716, truncation < 1e-18), plus
 * k ln2 in two parts. Within ~1 ulp of Math.log; log(0) = -Inf, log(x < 0) = NaN.
 */
import { madd, select } from './simd';

// @ts-ignore: decorator
@inline const LOG2E: f64 = 1.4426950408889634;
// @ts-ignore: decorator
@inline const LN2_HI: f64 = 0.6931471804855391;
// @ts-ignore: decorator
@inline const LN2_LO: f64 = 7.440617110012397e-11; // ln2 - LN2_HI to 40 digits, rounded
// Adding 1.5 * 2^52 rounds |v| < 2^51 to an integer (ties to even) left in the low bits.
// @ts-ignore: decorator
@inline const MAGIC: f64 = 6755399441055744.0;
// @ts-ignore: decorator
@inline const MAGIC_BITS: i64 = 0x4338000000000000;

@inline function d(v: f64): v128 {
  return f64x2.splat(v);
}

/** 2^n for integer lanes n in [-1022, 1023], as f64 lanes. */
@inline function pow2(n: v128): v128 {
  return i64x2.shl(i64x2.add(n, i64x2.splat(1023)), 52);
}

/** Taylor coefficients 1/k! from k = 13 down to k = 2, Horner-evaluated in r. */
@inline function taylorTail(r: v128): v128 {
  let p = d(1.0 / 6227020800.0);
  p = madd<f64>(p, r, d(1.0 / 479001600.0));
  p = madd<f64>(p, r, d(1.0 / 39916800.0));
  p = madd<f64>(p, r, d(1.0 / 3628800.0));
  p = madd<f64>(p, r, d(1.0 / 362880.0));
  p = madd<f64>(p, r, d(1.0 / 40320.0));
  p = madd<f64>(p, r, d(1.0 / 5040.0));
  p = madd<f64>(p, r, d(1.0 / 720.0));
  p = madd<f64>(p, r, d(1.0 / 120.0));
  p = madd<f64>(p, r, d(1.0 / 24.0));
  p = madd<f64>(p, r, d(1.0 / 6.0));
  return madd<f64>(p, r, d(0.5)); // e^r = 1 + r + r^2 * this
}

/** e^(x + lo) lane-wise for |lo| <= ~ulp(x) (lo extends x's precision; 0 for plain exp). */
@inline function expLo(x: v128, lo: v128, hasLo: bool): v128 {
  // pmin/pmax are single instructions and keep a NaN x (they return their first operand then).
  const xc = f64x2.pmax(f64x2.pmin(x, d(710.0)), d(-746.0));
  const k = madd<f64>(xc, d(LOG2E), d(MAGIC));
  const nf = f64x2.sub(k, d(MAGIC));
  // r = hi + rl: hi exact (Cody-Waite), rl the small rest; 1 + hi is summed exactly (fast
  // two-sum, |hi| < 1) so that the result rounds once, ~0.5 ulp.
  const hi = f64x2.sub(xc, f64x2.mul(nf, d(LN2_HI)));
  let rl = f64x2.neg(f64x2.mul(nf, d(LN2_LO)));
  if (hasLo) rl = f64x2.add(rl, lo);
  const r = f64x2.add(hi, rl);
  const q = f64x2.mul(f64x2.mul(r, r), taylorTail(r));
  const s1 = f64x2.add(d(1.0), hi);
  const e1 = f64x2.add(f64x2.sub(d(1.0), s1), hi);
  const p = f64x2.add(s1, f64x2.add(e1, f64x2.add(rl, q)));
  const n = i64x2.sub(k, i64x2.splat(MAGIC_BITS)); // |n| <= 1077: the low i32 of each lane holds it
  const n1 = i32x4.shr_s(n, 1); // n >> 1 per i64 lane (the high i32 is the sign: -1 >> 1 = -1, 0 >> 1 = 0)
  return f64x2.mul(f64x2.mul(p, pow2(n1)), pow2(i64x2.sub(n, n1)));
}

/** e^x lane-wise; overflows to +Inf above ~709.78, underflows through denormals to 0. */
@inline export function exp_f64x2(x: v128): v128 {
  return expLo(x, x, false);
}

/** e^(x + lo) lane-wise, lo a small extension of x's precision (pow's y log(b) in two parts). */
@inline export function exp2part_f64x2(x: v128, lo: v128): v128 {
  return expLo(x, lo, true);
}

/** Natural log lane-wise: log(+-0) = -Inf, log(x < 0) = NaN, log(Inf) = Inf, NaN -> NaN. */
@inline export function log_f64x2(x: v128): v128 {
  const tiny = f64x2.lt(x, d(2.2250738585072014e-308)); // denormal (or <= 0: fixed up below)
  const xs = select(tiny, f64x2.mul(x, d(18014398509481984.0)), x); // * 2^54
  // Adding 1.0 - sqrt(1/2) in bits moves the exponent boundary to sqrt(1/2): e = k + 1023.
  const u = i64x2.add(xs, i64x2.splat(0x3FF0000000000000 - 0x3FE6A09E667F3BCD));
  const m = i64x2.add(v128.and(u, i64x2.splat(0x000FFFFFFFFFFFFF)), i64x2.splat(0x3FE6A09E667F3BCD));
  // k as f64: (2^52 + e) from bits, minus 2^52 + 1023 (+ 54 for scaled denormals).
  const e = v128.or(i64x2.shr_u(u, 52), i64x2.splat(0x4330000000000000));
  const kf = f64x2.sub(f64x2.sub(e, d(4503599627371519.0)), v128.and(tiny, d(54.0)));
  const f = f64x2.sub(m, d(1.0));
  const s = f64x2.div(f, f64x2.add(f, d(2.0)));
  const z = f64x2.mul(s, s);
  let R = d(2.0 / 21.0);
  R = madd<f64>(R, z, d(2.0 / 19.0));
  R = madd<f64>(R, z, d(2.0 / 17.0));
  R = madd<f64>(R, z, d(2.0 / 15.0));
  R = madd<f64>(R, z, d(2.0 / 13.0));
  R = madd<f64>(R, z, d(2.0 / 11.0));
  R = madd<f64>(R, z, d(2.0 / 9.0));
  R = madd<f64>(R, z, d(2.0 / 7.0));
  R = madd<f64>(R, z, d(2.0 / 5.0));
  R = madd<f64>(R, z, d(2.0 / 3.0));
  R = f64x2.mul(R, z);
  const hfsq = f64x2.mul(d(0.5), f64x2.mul(f, f));
  const lo = madd<f64>(kf, d(LN2_LO), f64x2.mul(s, f64x2.add(hfsq, R)));
  const y = madd<f64>(kf, d(LN2_HI), f64x2.sub(f, f64x2.sub(hfsq, lo)));
  const ok = v128.and(f64x2.gt(x, d(0.0)), f64x2.lt(x, d(Infinity)));
  const special = select(f64x2.eq(x, d(0.0)), d(-Infinity), select(f64x2.lt(x, d(0.0)), d(NaN), x));
  return select(ok, y, special);
}

/** tanh(x) = sign(x) t / (t + 2), t = expm1(2|x|) = 2^n expm1(r) + (2^n - 1); keeps -0 and NaN. */
@inline export function tanh_f64x2(x: v128): v128 {
  const ax = f64x2.abs(x);
  const xc = f64x2.min(f64x2.add(ax, ax), d(40.0)); // tanh(20) rounds to 1
  const k = madd<f64>(xc, d(LOG2E), d(MAGIC));
  const nf = f64x2.sub(k, d(MAGIC));
  const r = f64x2.sub(f64x2.sub(xc, f64x2.mul(nf, d(LN2_HI))), f64x2.mul(nf, d(LN2_LO)));
  const q = madd<f64>(f64x2.mul(r, r), taylorTail(r), r); // expm1(r)
  const s = pow2(i64x2.sub(k, i64x2.splat(MAGIC_BITS))); // n in [0, 58]
  const t = madd<f64>(s, q, f64x2.sub(s, d(1.0)));
  const y = f64x2.div(t, f64x2.add(t, d(2.0)));
  return v128.or(y, v128.and(x, i64x2.splat(0x8000000000000000)));
}

/** x > 20 ? x : log1p(e^x), as the js backend; log1p(u) = log(w) + (u - (w - 1)) / w, w = 1 + u. */
@inline export function softplus_f64x2(x: v128): v128 {
  const u = exp_f64x2(x);
  const w = f64x2.add(d(1.0), u);
  const y = f64x2.add(log_f64x2(w), f64x2.div(f64x2.sub(u, f64x2.sub(w, d(1.0))), w));
  return select(f64x2.gt(x, d(20.0)), x, y);
}

/** 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, as the js backend. */
@inline export function sigmoid_f64x2(x: v128): v128 {
  const e = exp_f64x2(f64x2.neg(f64x2.abs(x)));
  const s = f64x2.div(d(1.0), f64x2.add(d(1.0), e));
  return select(f64x2.ge(x, d(0.0)), s, f64x2.mul(e, s));
}
