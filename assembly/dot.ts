/**
 * The chunked dot product shared by ./linalg (batched dot, norms, Gram) and ./anderson.
 * Arrays are contiguous, byte addresses, any alignment; n in elements. Each chunk of DOT_CHUNK
 * bytes uses four SIMD accumulators and the chunk sums are added in f64, so f32 inputs get
 * f64-quality totals at f32 SIMD speed. Not exported from the module (an @inline helper).
 */
import { hsum, lanes, madd } from './simd';

/** Bytes of each operand processed per chunk of a dot product. */
export const DOT_CHUNK: i32 = 2048;

/** Dot product of n elements, accumulated over chunks in f64. */
@inline export function dot<T>(x: usize, y: usize, n: i32): f64 {
  const sz = <i32>sizeof<T>();
  const L = lanes<T>();
  const chunk = DOT_CHUNK / sz;
  let total = 0.0;
  let i = 0;
  while (i < n) {
    const end = min(n, i + chunk);
    let a0 = v128.splat<T>(<T>0), a1 = a0, a2 = a0, a3 = a0;
    for (; i + 4 * L <= end; i += 4 * L) {
      a0 = madd<T>(v128.load(x), v128.load(y), a0);
      a1 = madd<T>(v128.load(x, 16), v128.load(y, 16), a1);
      a2 = madd<T>(v128.load(x, 32), v128.load(y, 32), a2);
      a3 = madd<T>(v128.load(x, 48), v128.load(y, 48), a3);
      x += 64;
      y += 64;
    }
    for (; i + L <= end; i += L) {
      a0 = madd<T>(v128.load(x), v128.load(y), a0);
      x += 16;
      y += 16;
    }
    total += hsum<T>(v128.add<T>(v128.add<T>(a0, a1), v128.add<T>(a2, a3)));
    for (; i < end; i++) {
      total += <f64>load<T>(x) * <f64>load<T>(y);
      x += <usize>sz;
      y += <usize>sz;
    }
  }
  return total;
}

