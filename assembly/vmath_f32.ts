/**
 * Vectorised f32 transcendental functions on f32x4 (4 lanes at a time), written for this
 * project: Cody-Waite range reduction x = n ln2 + r with |r| <= ln2/2, then a Taylor
 * polynomial in r (exact 1/k! coefficients, truncation error < 1e-8 relative), then scaling
 * by 2^n built from exponent bits. log uses the atanh series of the reduced mantissa; the
 * exact-erf GELU uses erfc = e^(-a^2) t G(t) with a fitted polynomial G (below). Accuracy is a
 * few ulp (< 1e-6 relative) over the whole range, including denormal results, +-Inf and NaN
 * (NaN in, NaN out).
 */
import { madd, select } from './simd';

// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.4426950408889634;
// ln2 split: LN2_HI has 15 significant bits, so n * LN2_HI is exact for |n| < 512.
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693145751953125;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = 1.428606765330187e-6;

@inline function f(v: f32): v128 {
  return f32x4.splat(v);
}

/** 2^n for integer lanes n in [-126, 127], as f32 lanes. */
@inline function pow2(n: v128): v128 {
  return i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23);
}

// Adding 1.5 * 2^23 rounds a float with |v| < 2^22 to an integer (ties to even) and leaves
// that integer in the low mantissa bits: bits(v + MAGIC) - bits(MAGIC) == round(v).
// @ts-ignore: decorator
@inline const MAGIC: f32 = 12582912.0;
// @ts-ignore: decorator
@inline const MAGIC_BITS: i32 = 0x4b400000;

/** Reduces x to (n, r) with x = n ln2 + r; returns r (nf is n as a float). */
@inline function reduceLn2(x: v128, nf: v128): v128 {
  const r = f32x4.sub(x, f32x4.mul(nf, f(LN2_HI)));
  return f32x4.sub(r, f32x4.mul(nf, f(LN2_LO)));
}

/** e^x lane-wise. Overflows to +Inf above ~88.72, underflows through denormals to 0. */
@inline export function exp_f32x4(x: v128): v128 {
  const xc = f32x4.max(f32x4.min(x, f(89.0)), f(-104.0)); // min/max keep NaN
  const k = madd<f32>(xc, f(LOG2E), f(MAGIC));
  const nf = f32x4.sub(k, f(MAGIC));
  const r = reduceLn2(xc, nf);
  let p = f(1.0 / 5040.0);
  p = madd<f32>(p, r, f(1.0 / 720.0));
  p = madd<f32>(p, r, f(1.0 / 120.0));
  p = madd<f32>(p, r, f(1.0 / 24.0));
  p = madd<f32>(p, r, f(1.0 / 6.0));
  p = madd<f32>(p, r, f(0.5));
  p = madd<f32>(p, r, f(1.0));
  p = madd<f32>(p, r, f(1.0));
  // n in [-150, 129]: scale in two halves so that every step stays a normal number.
  const n = i32x4.sub(k, i32x4.splat(MAGIC_BITS));
  const n1 = i32x4.shr_s(n, 1);
  const n2 = i32x4.sub(n, n1);
  return f32x4.mul(f32x4.mul(p, pow2(n1)), pow2(n2));
}

/** e^x - 1 lane-wise for x in [0, 20] (callers clamp); exact-ish for tiny x. */
@inline function expm1Small(x: v128): v128 {
  const k = madd<f32>(x, f(LOG2E), f(MAGIC));
  const nf = f32x4.sub(k, f(MAGIC));
  const r = reduceLn2(x, nf);
  // expm1(r) = r + r^2 (1/2 + r/6 + ... + r^6/8!)
  let q = f(1.0 / 40320.0);
  q = madd<f32>(q, r, f(1.0 / 5040.0));
  q = madd<f32>(q, r, f(1.0 / 720.0));
  q = madd<f32>(q, r, f(1.0 / 120.0));
  q = madd<f32>(q, r, f(1.0 / 24.0));
  q = madd<f32>(q, r, f(1.0 / 6.0));
  q = madd<f32>(q, r, f(0.5));
  q = madd<f32>(f32x4.mul(q, r), r, r);
  // expm1(x) = 2^n expm1(r) + (2^n - 1); n in [0, 29]
  const s = pow2(i32x4.sub(k, i32x4.splat(MAGIC_BITS)));
  return madd<f32>(s, q, f32x4.sub(s, f(1.0)));
}

/** tanh(x) = sign(x) t / (t + 2) with t = expm1(2|x|); keeps -0 and NaN. */
@inline export function tanh_f32x4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = expm1Small(f32x4.min(f32x4.add(ax, ax), f(20.0)));
  const y = f32x4.div(t, f32x4.add(t, f(2.0)));
  return v128.or(y, v128.and(x, i32x4.splat(0x80000000)));
}

/** 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, as the js backend. */
@inline export function sigmoid_f32x4(x: v128): v128 {
  const e = exp_f32x4(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(f(1.0), f32x4.add(f(1.0), e));
  return select(f32x4.ge(x, f(0.0)), s, f32x4.mul(e, s));
}

/** Natural log lane-wise: log(0) = -Inf, log(x < 0) = NaN, log(Inf) = Inf, denormals exact. */
@inline export function log_f32x4(x: v128): v128 {
  const den = f32x4.lt(x, f(1.17549435e-38));
  const xs = select(den, f32x4.mul(x, f(8388608.0)), x);
  let e = i32x4.sub(i32x4.shr_u(xs, 23), i32x4.splat(127));
  e = i32x4.sub(e, v128.and(den, i32x4.splat(23)));
  let m = v128.or(v128.and(xs, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000));
  const big = f32x4.gt(m, f(1.4142135))
  m = select(big, f32x4.mul(m, f(0.5)), m);
  e = i32x4.sub(e, big); // big lanes are -1
  // log(1 + g) = g - s (g - R), s = g / (2 + g), R = 2 s^2 / 3 + 2 s^4 / 5 + ...
  const g = f32x4.sub(m, f(1.0));
  const s = f32x4.div(g, f32x4.add(g, f(2.0)));
  const z = f32x4.mul(s, s);
  let R = f(2.0 / 9.0);
  R = madd<f32>(R, z, f(2.0 / 7.0));
  R = madd<f32>(R, z, f(2.0 / 5.0));
  R = madd<f32>(R, z, f(2.0 / 3.0));
  R = f32x4.mul(R, z);
  const lg = f32x4.sub(g, f32x4.mul(s, f32x4.sub(g, R)));
  const ef = f32x4.convert_i32x4_s(e);
  let res = f32x4.add(f32x4.mul(ef, f(LN2_HI)), madd<f32>(ef, f(LN2_LO), lg));
  res = select(f32x4.eq(x, f(0.0)), f(-Infinity), res);
  res = select(f32x4.lt(x, f(0.0)), f(NaN), res);
  return select(v128.or(f32x4.eq(x, f(Infinity)), f32x4.ne(x, x)), x, res);
}

/** x > 20 ? x : log1p(e^x), as the js backend; log1p via log(u) + (t - (u - 1)) / u. */
@inline export function softplus_f32x4(x: v128): v128 {
  const t = exp_f32x4(f32x4.min(x, f(20.0)));
  const u = f32x4.add(f(1.0), t);
  const lp = f32x4.add(log_f32x4(u), f32x4.div(f32x4.sub(t, f32x4.sub(u, f(1.0))), u));
  return select(f32x4.gt(x, f(20.0)), x, lp);
}

// erfc(a) = e^(-a^2) t G(t), t = 1 / (1 + 0.3 a), for 0 <= a <= 14/sqrt(2): G is a degree-8
// polynomial fitted for this project (weighted least squares against 30-digit mpmath,
// relative error 2e-8; 1.9e-7 after f32 rounding).
// @ts-ignore: decorator
@inline const G0: f32 = 0.1691882312297821;
// @ts-ignore: decorator
@inline const G1: f32 = 0.17071203887462616;
// @ts-ignore: decorator
@inline const G2: f32 = 0.14835883677005768;
// @ts-ignore: decorator
@inline const G3: f32 = 0.21485863626003265;
// @ts-ignore: decorator
@inline const G4: f32 = -0.09450997412204742;
// @ts-ignore: decorator
@inline const G5: f32 = 0.5475364923477173;
// @ts-ignore: decorator
@inline const G6: f32 = -0.5121319890022278;
// @ts-ignore: decorator
@inline const G7: f32 = 0.4854981601238251;
// @ts-ignore: decorator
@inline const G8: f32 = -0.12951047718524933;
/** |x| beyond which e^(-x^2/2) and erfc(|x|/sqrt 2) are taken as 0 (both < 3e-43 there). */
// @ts-ignore: decorator
@inline const TAIL: f32 = 14.0;

/**
 * e^(-x^2/2) for ax = |x| (0 beyond TAIL), with x^2/2 formed exactly as hi + lo: ax is split
 * into a 12-bit head and a tail so every partial product is exact, and e^(hi + lo) =
 * e^hi (1 + lo) since |lo| < 1e-5.
 */
@inline function expNegHalfSquare(ax: v128): v128 {
  const xc = f32x4.min(ax, f(TAIL));
  const xh = v128.and(xc, i32x4.splat(0xfffff000));
  const xl = f32x4.sub(xc, xh);
  const s = f32x4.mul(f32x4.mul(xh, xh), f(-0.5));
  const uv = f32x4.sub(f32x4.neg(f32x4.mul(xh, xl)), f32x4.mul(f32x4.mul(xl, xl), f(0.5)));
  const hi = f32x4.add(s, uv);
  const lo = f32x4.add(f32x4.sub(s, hi), uv);
  const e = f32x4.mul(exp_f32x4(hi), f32x4.add(f(1.0), lo));
  return select(f32x4.lt(ax, f(TAIL)), e, f(0.0));
}

/** erfc(|x| / sqrt 2) given ax = |x| and e = e^(-x^2/2). */
@inline function erfcHalf(ax: v128, e: v128): v128 {
  const t = f32x4.div(f(1.0), madd<f32>(f32x4.min(ax, f(TAIL)), f(0.3 * 0.7071067811865476), f(1.0)));
  let g = f(G8);
  g = madd<f32>(g, t, f(G7));
  g = madd<f32>(g, t, f(G6));
  g = madd<f32>(g, t, f(G5));
  g = madd<f32>(g, t, f(G4));
  g = madd<f32>(g, t, f(G3));
  g = madd<f32>(g, t, f(G2));
  g = madd<f32>(g, t, f(G1));
  g = madd<f32>(g, t, f(G0));
  return f32x4.mul(f32x4.mul(e, t), g);
}

/**
 * Exact-erf GELU, 0.5 x (1 + erf(x / sqrt 2)) = x Phi(x), with Phi = 1 - erfc/2 for x >= 0 and
 * erfc/2 below (no cancellation for negative x). gelu(-Inf) is NaN, as in the js backend.
 */
@inline export function gelu_f32x4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const c = erfcHalf(ax, expNegHalfSquare(ax));
  const hc = f32x4.mul(c, f(0.5));
  return f32x4.mul(x, select(f32x4.ge(x, f(0.0)), f32x4.sub(f(1.0), hc), hc));
}

/** d/dx gelu = Phi(x) + x phi(x), Phi from erfc as in gelu_f32x4, phi = e^(-x^2/2) / sqrt(2 pi). */
@inline export function geluGrad_f32x4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const e = expNegHalfSquare(ax);
  const hc = f32x4.mul(erfcHalf(ax, e), f(0.5));
  const cdf = select(f32x4.ge(x, f(0.0)), f32x4.sub(f(1.0), hc), hc);
  return madd<f32>(f32x4.mul(x, f(0.3989422804014327)), e, cdf);
}
