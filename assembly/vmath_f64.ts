/**
 * Vectorised f64 exp, tanh and sigmoid on f64x2, written for this project: Cody-Waite
 * reduction x = n ln2 + r (ln2 split into a 33-bit head, so n * LN2_HI is exact), |r| <= ln2/2,
 * then the Taylor series of e^r (or e^r - 1) to degree 13 (truncation < 2e-17 relative), then
 * scaling by 2^n from exponent bits, in two halves so denormal results round once. Accuracy
 * is a few ulp (~1e-15 relative or better), with +-Inf and NaN handled like Math.exp/tanh.
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

/** e^x lane-wise; overflows to +Inf above ~709.78, underflows through denormals to 0. */
@inline export function exp_f64x2(x: v128): v128 {
  const xc = f64x2.max(f64x2.min(x, d(710.0)), d(-746.0)); // min/max keep NaN
  const k = madd<f64>(xc, d(LOG2E), d(MAGIC));
  const nf = f64x2.sub(k, d(MAGIC));
  const r = f64x2.sub(f64x2.sub(xc, f64x2.mul(nf, d(LN2_HI))), f64x2.mul(nf, d(LN2_LO)));
  const p = f64x2.add(d(1.0), madd<f64>(f64x2.mul(r, r), taylorTail(r), r));
  const n = i64x2.sub(k, i64x2.splat(MAGIC_BITS));
  const n1 = i64x2.shr_s(n, 1);
  return f64x2.mul(f64x2.mul(p, pow2(n1)), pow2(i64x2.sub(n, n1)));
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

/** 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, as the js backend. */
@inline export function sigmoid_f64x2(x: v128): v128 {
  const e = exp_f64x2(f64x2.neg(f64x2.abs(x)));
  const s = f64x2.div(d(1.0), f64x2.add(d(1.0), e));
  return select(f64x2.ge(x, d(0.0)), s, f64x2.mul(e, s));
}
