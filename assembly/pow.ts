/**
 * JS `Math.pow` for the pow kernels, table-free (the standard library's pow at shrink level 0
 * carries musl's log and exp lookup tables), written for this project.
 *
 * Special cases follow ECMAScript Number::exponentiate: a NaN exponent gives NaN (even for base
 * 1), x^0 = 1 (even for NaN x), |x| = 1 with an infinite exponent gives NaN, signed zeros and
 * infinities by the parity of integer exponents, a negative finite base with a non-integer
 * exponent gives NaN.
 *
 * Finite positive x: x^y = e^(y log x) with log x in two parts (hi + lo, ~2^-70 relative) so
 * that the product y log x keeps ~2^-65 absolute accuracy even where it is near the overflow
 * bound (a plain e^(y log x) loses up to |y log x| ulp):
 * - x = 2^k m, m in [sqrt(1/2), sqrt(2)), f = m - 1, s = f / (m + 1),
 *   log m = 2 atanh(s) = 2 s + 2 s^3 / 3 + ... ; s is split as s_h (26 bits) + s_l with
 *   s_l = (f - s_h t_h - s_h t_l) / (m + 1), t_h + t_l = m + 1 exactly, so 2 s_h is exact;
 *   the s^3 term (up to 1% of log m) gets an exact leading part from 26-bit products, the
 *   rest is small enough for plain double;
 * - log x = k ln2_hi + 2 s_h + (2/3) s_h^3 (summed exactly with two-sums) + (k ln2_lo + 2 s_l
 *   + the small rest);
 * - y (hi + lo) as p + p_lo with Dekker's exact product, then e^(p + p_lo) from the vector exp
 *   of ./vmath_f64 (which folds p_lo into its reduced argument). Within ~1 ulp of Math.pow.
 * Two lanes at a time (`pow_f64x2`); lanes outside finite x > 0, finite |y| < 1e300 take the
 * scalar `jsPow`, which runs the same core on a splat, so body and tail agree bit for bit.
 */
import { select, madd } from './simd';
import { exp2part_f64x2 } from './vmath_f64';

// @ts-ignore: decorator
@inline const LN2_HI: f64 = 0.6931471804855391;
// @ts-ignore: decorator
@inline const LN2_LO: f64 = 7.440617110012397e-11;
// 2/3 = C23_HI (26 bits) + C23_LO, to ~2^-80
// @ts-ignore: decorator
@inline const C23_HI: f64 = 0.6666666567325592;
// @ts-ignore: decorator
@inline const C23_LO: f64 = 9.934107462565104e-09;

@inline function d(v: f64): v128 {
  return f64x2.splat(v);
}

/** Lanes with the low 27 bits of the significand cleared (26 significant bits). */
@inline function hi26(v: v128): v128 {
  return v128.and(v, i64x2.splat(0xFFFFFFFFF8000000));
}

/** Whether y (finite) is an integer, and whether it is an odd one. */
@inline function parity(y: f64): i32 {
  if (Math.floor(y) != y) return 0; // not an integer
  if (Math.abs(y) >= 9007199254740992.0) return 2; // 2^53 and above: even
  return (<i64>y & 1) != 0 ? 1 : 2; // 1 = odd, 2 = even
}

/** x^y lane-wise for finite x > 0 (normal or denormal) and finite |y| < 1e300. */
function powCore(x: v128, y: v128): v128 {
  const tiny = f64x2.lt(x, d(2.2250738585072014e-308));
  const xs = select(tiny, f64x2.mul(x, d(18014398509481984.0)), x); // denormals * 2^54
  const u = i64x2.add(xs, i64x2.splat(0x3FF0000000000000 - 0x3FE6A09E667F3BCD));
  const m = i64x2.add(v128.and(u, i64x2.splat(0x000FFFFFFFFFFFFF)), i64x2.splat(0x3FE6A09E667F3BCD));
  const e = v128.or(i64x2.shr_u(u, 52), i64x2.splat(0x4330000000000000));
  const kf = f64x2.sub(f64x2.sub(e, d(4503599627371519.0)), v128.and(tiny, d(54.0)));
  const f = f64x2.sub(m, d(1.0));
  const t = f64x2.add(m, d(1.0));
  const it = f64x2.div(d(1.0), t);
  const s = f64x2.mul(f, it);
  const sh = hi26(s);
  const th = hi26(t);
  const tl = f64x2.sub(m, f64x2.sub(th, d(1.0))); // exact: t = th + tl
  // s_l = (f - s_h t_h - s_h t_l) / t: s_h t_h is exact and f - s_h t_h cancels exactly.
  const sl = f64x2.mul(f64x2.sub(f64x2.sub(f, f64x2.mul(sh, th)), f64x2.mul(sh, tl)), it);
  const z = f64x2.mul(s, s);
  // log m = 2 s + (2/3) s^3 + s^5 Q(s^2). The s^3 term is ~1% of log m, so it is formed in two
  // parts too: (2/3) s_h^3 from exact 26-bit products, plus the small rest.
  let q = d(2.0 / 23.0);
  q = madd<f64>(q, z, d(2.0 / 21.0));
  q = madd<f64>(q, z, d(2.0 / 19.0));
  q = madd<f64>(q, z, d(2.0 / 17.0));
  q = madd<f64>(q, z, d(2.0 / 15.0));
  q = madd<f64>(q, z, d(2.0 / 13.0));
  q = madd<f64>(q, z, d(2.0 / 11.0));
  q = madd<f64>(q, z, d(2.0 / 9.0));
  q = madd<f64>(q, z, d(2.0 / 7.0));
  q = madd<f64>(q, z, d(2.0 / 5.0));
  const r5 = f64x2.mul(f64x2.mul(s, f64x2.mul(z, z)), q);
  const b = f64x2.add(sh, sh); // exact
  const sh2 = f64x2.mul(sh, sh); // exact
  const a3 = hi26(sh2), b3 = f64x2.sub(sh2, a3); // sh2 = a3 + b3, both <= 26 bits
  const c = f64x2.mul(d(C23_HI), a3); // exact
  const c1 = hi26(c), cl = f64x2.sub(c, c1);
  const t3 = f64x2.mul(c1, sh); // exact, the bulk of (2/3) s^3
  // the rest of (2/3) s^3 = (2/3) s_h^3 + 2 s_h s_l (s_h + s_l) + O(s_l^3)
  const t3lo = f64x2.add(f64x2.add(f64x2.mul(cl, sh), f64x2.mul(f64x2.mul(d(C23_HI), b3), sh)),
    f64x2.add(f64x2.mul(f64x2.mul(d(C23_LO), sh2), sh), f64x2.mul(f64x2.mul(b, sl), s)));
  const s1 = f64x2.add(b, t3);
  const e1 = f64x2.sub(t3, f64x2.sub(s1, b)); // fast two-sum, |b| > |t3|
  const a = f64x2.mul(kf, d(LN2_HI)); // exact: 11 bits times 33 bits
  const sum = f64x2.add(a, s1);
  const bv = f64x2.sub(sum, a);
  const err = f64x2.add(f64x2.sub(a, f64x2.sub(sum, bv)), f64x2.sub(s1, bv)); // two-sum: a + s1 = sum + err
  const small = f64x2.add(f64x2.add(sl, sl), f64x2.add(t3lo, r5));
  const lo0 = f64x2.add(err, f64x2.add(e1, f64x2.add(f64x2.mul(kf, d(LN2_LO)), small)));
  const lh = f64x2.add(sum, lo0); // log x = lh + ll
  const ll = f64x2.sub(lo0, f64x2.sub(lh, sum));
  const p = f64x2.mul(y, lh);
  // Dekker: y lh = p + e exactly (|y| < 1e300 and |lh| < 745, so the splits cannot overflow).
  const cy = f64x2.mul(d(134217729.0), y), ch = f64x2.mul(d(134217729.0), lh);
  const yh = f64x2.sub(cy, f64x2.sub(cy, y)), yl = f64x2.sub(y, yh);
  const hh = f64x2.sub(ch, f64x2.sub(ch, lh)), hl = f64x2.sub(lh, hh);
  const e2 = f64x2.add(f64x2.add(f64x2.add(f64x2.sub(f64x2.mul(yh, hh), p), f64x2.mul(yh, hl)), f64x2.mul(yl, hh)),
    f64x2.mul(yl, hl));
  // Beyond |p| = 1000 the result is 0 or Inf whatever the low part (which need not be small there).
  const plo = v128.and(f64x2.add(e2, f64x2.mul(y, ll)), f64x2.lt(f64x2.abs(p), d(1000.0)));
  return exp2part_f64x2(p, plo);
}

/** JS Math.pow(x, y), table-free. */
export function jsPow(x: f64, y: f64): f64 {
  if (y != y) return NaN;
  if (y == 0.0) return 1.0;
  if (x != x) return NaN;
  const ax = Math.abs(x), ay = Math.abs(y);
  if (ay == Infinity) {
    if (ax == 1.0) return NaN;
    return (ax > 1.0) == (y > 0.0) ? Infinity : 0.0;
  }
  const par = parity(y); // 0: not an integer, 1: odd, 2: even
  if (x == 0.0 || ax == Infinity) {
    // |x|^y is 0 or Inf: +0/Inf when x is +0/+Inf, or for y not an odd integer.
    const big = (x == 0.0) == (y < 0.0);
    const r = big ? Infinity : 0.0;
    return par == 1 ? copysign<f64>(r, x) : r;
  }
  if (x < 0.0) {
    if (par == 0) return NaN;
    const r = powPositive(ax, y);
    return par == 1 ? -r : r;
  }
  return powPositive(x, y);
}

/** x^y for finite x > 0 and finite y. */
function powPositive(x: f64, y: f64): f64 {
  if (x == 1.0) return 1.0;
  if (Math.abs(y) >= 1e300) return (x > 1.0) == (y > 0.0) ? Infinity : 0.0;
  return f64x2.extract_lane(powCore(f64x2.splat(x), f64x2.splat(y)), 0);
}

/**
 * JS Math.pow lane-wise: the vector path for lanes with finite x > 0 and finite |y| < 1e300,
 * `jsPow` per lane (the same core on a splat, so the same result) when a lane is outside it.
 */
@inline export function pow_f64x2(x: v128, y: v128): v128 {
  const r = powCore(x, y);
  const ok = v128.and(v128.and(f64x2.gt(x, d(0.0)), f64x2.lt(x, d(Infinity))), f64x2.lt(f64x2.abs(y), d(1e300)));
  if (i64x2.all_true(ok)) return r;
  return f64x2.replace_lane(f64x2.splat(jsPow(f64x2.extract_lane(x, 0), f64x2.extract_lane(y, 0))), 1,
    jsPow(f64x2.extract_lane(x, 1), f64x2.extract_lane(y, 1)));
}
