/**
 * f64 erf for the unary kernels, accurate to ~2.2e-16 relative (checked against 40-digit
 * mpmath on 20k points in [-6.5, 6.5]), and the exact-erf GELU and its derivative written
 * exactly as the js backend writes them (same formulas, same operation order), so f64 results
 * agree with it to a few ulp. Two lanes at a time: the exponentials come from the table-free
 * vector exp of ./vmath_f64, the series per lane.
 *
 * erf method (coefficients derived for this project with mpmath):
 * - |x| < 1: erf(x) = x P(x^2), P the Taylor series 2/sqrt(pi) sum (-1)^k x^(2k) / (k! (2k+1)),
 *   k <= 18 (truncation < 5e-18).
 * - 1 <= |x| < 6: erf(x) = sign(x) (1 - e^(-x^2) erfcx(|x|)); erfcx = e^(x^2) erfc(x) is a
 *   Chebyshev series on [1, 1.5], [1.5, 2.5], [2.5, 4] or [4, 6] (Clenshaw). e^(-x^2) is
 *   e^(-xh^2) (1 - d + d^2/2) with xh = x rounded to 26 bits (xh^2 exact) and d = x^2 - xh^2.
 * - |x| >= 6: +-1 (erfc(6) < 2^-55); NaN -> NaN.
 */
import { exp_f64x2 } from './vmath_f64';

const TAYLOR = memory.data<f64>([
  1.1283791670955126, -0.37612638903183754, 0.11283791670955126,
  -0.026866170645131252, 0.005223977625442188, -0.0008548327023450853,
  0.00012055332981789664, -1.492565035840625e-05, 1.6462114365889248e-06,
  -1.6365844691234924e-07, 1.4807192815879218e-08, -1.2290555301717928e-09,
  9.422759064650411e-11, -6.7113668551641105e-12, 4.4632242632864775e-13,
  -2.7835162072109215e-14, 1.6342614095367152e-15, -9.063970842808673e-17,
  4.763348040515068e-18,
]);
// erfcx on [1, 1.5], 15 Chebyshev coefficients
const CHEB0 = memory.data<f64>([
  0.3711927943420716, -0.052799551940465685, 0.00338076236159189,
  -0.00019896338415156294, 1.0911979120987141e-05, -5.632372066195936e-07,
  2.7564656102315984e-08, -1.2864435796900215e-09, 5.75189434369204e-11,
  -2.473180238194912e-12, 1.0258794609509988e-13, -4.116181633727305e-15,
  1.6012087659273513e-16, -6.050937829047491e-18, 2.225245070154316e-19,
]);
// erfcx on [1.5, 2.5], 18 Chebyshev coefficients
const CHEB1 = memory.data<f64>([
  0.2607514912711463, -0.05488424581819016, 0.005399803660278792,
  -0.0005015165986088882, 4.4290221181768035e-05, -3.7399388006550433e-06,
  3.0330399634949025e-07, -2.370909933804727e-08, 1.7917464565325043e-09,
  -1.3123858073442695e-10, 9.337072907254232e-12, -6.464561665267422e-13,
  4.3627408963952615e-14, -2.874093751408312e-15, 1.8506451210995282e-16,
  -1.1660765536443181e-17, 7.197206629507234e-19, -4.3555459113434496e-20,
]);
// erfcx on [2.5, 4], 19 Chebyshev coefficients
const CHEB2 = memory.data<f64>([
  0.17008220017856512, -0.036520514785627234, 0.003783458700961749,
  -0.0003794134490812505, 3.692690022594374e-05, -3.4957223835851204e-06,
  3.224885907828553e-07, -2.903920167622488e-08, 2.5560460324003925e-09,
  -2.201984729141417e-10, 1.8586988106620702e-11, -1.5388257596550946e-12,
  1.250688261060476e-13, -9.987216504330586e-15, 7.841521227147936e-16,
  -6.057782159657216e-17, 4.607413883087019e-18, -3.4520930528116403e-19,
  2.5493063543469553e-20,
]);
// erfcx on [4, 6], 19 Chebyshev coefficients
const CHEB3 = memory.data<f64>([
  0.11277819743166245, -0.021913497155272348, 0.0020915397845687493,
  -0.00019628624819122983, 1.8126654238718202e-05, -1.6483628246572167e-06,
  1.4769699327777977e-07, -1.3047490253442588e-08, 1.136975347104367e-09,
  -9.778180226640498e-11, 8.303212348062975e-12, -6.964650842590714e-13,
  5.772832164827166e-14, -4.730148558369874e-15, 3.832714974411983e-16,
  -3.072023314998772e-17, 2.4364677192447835e-18, -1.9126665070732086e-19,
  1.4865432561205582e-20,
]);

/** Clenshaw sum of n Chebyshev coefficients at table c, at t in [-1, 1]. */
@inline function clenshaw(c: usize, n: i32, t: f64): f64 {
  let b1 = 0.0, b2 = 0.0;
  const t2 = t + t;
  for (let k = n - 1; k >= 1; k--) {
    const b0 = t2 * b1 - b2 + load<f64>(c + (<usize>k << 3));
    b2 = b1;
    b1 = b0;
  }
  return t * b1 - b2 + load<f64>(c);
}

/** The error function, given e = e^(-xh^2) for xh = |x| rounded down to 26 bits (used for 1 <= |x| < 6). */
function erfWith(x: f64, e: f64): f64 {
  const ax = Math.abs(x);
  if (ax < 1.0) {
    const z = x * x;
    let p = 0.0;
    for (let k = 18; k >= 0; k--) p = p * z + load<f64>(TAYLOR + (<usize>k << 3));
    return x * p;
  }
  if (!(ax < 6.0)) return ax != ax ? x : copysign<f64>(1.0, x);
  let g: f64;
  if (ax < 1.5) g = clenshaw(CHEB0, 15, 4.0 * ax - 5.0);
  else if (ax < 2.5) g = clenshaw(CHEB1, 18, 2.0 * ax - 4.0);
  else if (ax < 4.0) g = clenshaw(CHEB2, 19, (2.0 * ax - 6.5) / 1.5);
  else g = clenshaw(CHEB3, 19, ax - 5.0);
  // e^(-x^2) = e^(-xh^2) e^(-d), d = x^2 - xh^2 = (x - xh)(x + xh) exact-ish and < 2^-20.
  const xh = reinterpret<f64>(reinterpret<u64>(ax) & 0xFFFFFFFFF8000000);
  const d = (ax - xh) * (ax + xh);
  return copysign<f64>(1.0 - e * (1.0 - d + 0.5 * d * d) * g, x);
}

/** erf lane-wise: the e^(-xh^2) of both lanes from one table-free vector exp, the rest per lane. */
@inline export function erf_f64x2(x: v128): v128 {
  const xh = v128.and(f64x2.abs(x), i64x2.splat(0xFFFFFFFFF8000000));
  const e = exp_f64x2(f64x2.neg(f64x2.mul(xh, xh)));
  const r0 = erfWith(f64x2.extract_lane(x, 0), f64x2.extract_lane(e, 0));
  return f64x2.replace_lane(f64x2.splat(r0), 1, erfWith(f64x2.extract_lane(x, 1), f64x2.extract_lane(e, 1)));
}

// @ts-ignore: decorator
@inline const SQRT1_2: f64 = 0.7071067811865476;
// @ts-ignore: decorator
@inline const INV_SQRT_2PI: f64 = 0.3989422804014327;

/** 0.5 x (1 + erf(x / sqrt 2)) lane-wise, in the js backend's operation order. */
@inline export function gelu_f64x2(x: v128): v128 {
  const erf = erf_f64x2(f64x2.mul(x, f64x2.splat(SQRT1_2)));
  return f64x2.mul(f64x2.mul(f64x2.splat(0.5), x), f64x2.add(f64x2.splat(1.0), erf));
}

/** d/dx gelu = 0.5 (1 + erf(x / sqrt 2)) + x phi(x) lane-wise, in the js backend's operation order. */
@inline export function geluGrad_f64x2(x: v128): v128 {
  const erf = erf_f64x2(f64x2.mul(x, f64x2.splat(SQRT1_2)));
  const phi = exp_f64x2(f64x2.mul(f64x2.mul(f64x2.splat(-0.5), x), x));
  return f64x2.add(f64x2.mul(f64x2.splat(0.5), f64x2.add(f64x2.splat(1.0), erf)),
    f64x2.mul(f64x2.mul(x, f64x2.splat(INV_SQRT_2PI)), phi));
}
