/**
 * SIMD helpers shared by every kernel. All are `@inline` and generic over the lane type
 * `T` (f32 -> f32x4, f64 -> f64x2), so one kernel source serves both dtypes and both build
 * variants: with relaxed SIMD (`ASC_FEATURE_RELAXED_SIMD`, a compile-time constant) `madd`
 * may fuse; without it, it is a separate multiply and add.
 */

/** Lanes per v128 for element type T (4 for f32, 2 for f64). */
@inline export function lanes<T>(): i32 {
  return 16 / <i32>sizeof<T>();
}

/** a * b + c (fused when relaxed SIMD is available and the engine chooses to). */
@inline export function madd<T>(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return v128.relaxed_madd<T>(a, b, c);
  } else {
    return v128.add<T>(v128.mul<T>(a, b), c);
  }
}

/** Sum of all lanes, returned as f64. */
@inline export function hsum<T>(v: v128): f64 {
  if (sizeof<T>() == 4) {
    return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1)
      + (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3));
  } else {
    return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
  }
}

/** Lane 0 of v as a T. */
@inline export function lane0<T>(v: v128): T {
  if (sizeof<T>() == 4) {
    return <T>f32x4.extract_lane(v, 0);
  } else {
    return <T>f64x2.extract_lane(v, 0);
  }
}

/** All-ones lanes where v is NaN. */
@inline export function isNaNMask<T>(v: v128): v128 {
  return v128.ne<T>(v, v);
}

/** mask ? a : b, lane-wise (mask lanes must be all-ones or all-zeros). */
@inline export function select(mask: v128, a: v128, b: v128): v128 {
  return v128.bitselect(a, b, mask);
}

/** 1 where mask is set, 0 elsewhere. */
@inline export function maskToOne<T>(mask: v128): v128 {
  return v128.and(mask, v128.splat<T>(<T>1));
}

/** Byte address of element i of a T array at p (i may be negative). */
@inline export function at<T>(p: usize, i: i32): usize {
  return p + <usize>(i * <i32>sizeof<T>());
}
