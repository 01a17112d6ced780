/**
 * Our solver traces are as wide as the steps actually run; TorchDEQ pads its preallocated
 * (B, maxIter + 1) traces after an early stop with each sample's lowest residual. `padLike`
 * applies TorchDEQ's padding to ours so the two can be compared column for column.
 */
import { expect } from 'vitest';
import type { Tensor } from '../../src/index.js';

/** Our (B, n) trace padded to `width` columns with `lowest[b]` (TorchDEQ's layout), row-major. */
export function padLike(trace: Tensor, lowest: Tensor, width: number): number[] {
  const [B, n] = trace.shape;
  expect(n, 'our trace is never wider than TorchDEQ\'s').toBeLessThanOrEqual(width);
  const t = trace.dataSync(), lo = lowest.dataSync();
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < width; c++) out.push(c < n ? t[b * n + c] : lo[b]);
  }
  return out;
}
