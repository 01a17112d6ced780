/**
 * Shared setup of the hand-derived autograd tests (autograd_custom, autograd_more,
 * autograd_double): float64 leaves, reading a tensor into a plain array, and an element-wise
 * closeness check with a relative tolerance that names the first bad element.
 */
import { expect } from 'vitest';
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

/** The float64 dtype option every tensor of these tests is made with. */
export const f64 = { dtype: 'float64' as const };

/** A float64 tensor that requires a gradient. */
export const leaf = (v: number | number[] | number[][], shape?: number[]): Tensor =>
  T.tensor(v, shape, { ...f64, requiresGrad: true });

/** The values of a tensor (that must exist: a gradient read with `!`) as a plain array. */
export const arr = (t: Tensor | null | undefined): number[] => Array.from(t!.dataSync());

/** Every element of `got` is within `tol * max(1, |want|)` of `want`, and the lengths agree. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Math.abs(got[i] - want[i]) > tol * Math.max(1, Math.abs(want[i]))) {
      throw new Error(`element ${i}: got ${got[i]}, want ${want[i]} (tol ${tol}); got [${Array.from(got)}], want [${Array.from(want)}]`);
    }
  }
}
