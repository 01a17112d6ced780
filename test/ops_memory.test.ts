/**
 * Ops free their temporaries: after disposing the result (no grad), or leaving a
 * tidy (with grad and a backward pass), live tensors and bytes return to where they were.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';

const f64 = { dtype: 'float64' as const };
const CASES: [string, number[][], (...xs: Tensor[]) => Tensor][] = [
  ['add with a number', [[3, 5]], (x) => T.add(x, 1)],
  ['sub from a number', [[3, 5]], (x) => T.sub(0.5, x)],
  ['mul with a number', [[3, 5]], (x) => x.mul(3)],
  ['div of a number', [[3, 5]], (x) => T.div(2, x)],
  ['pow with a number', [[3, 5]], (x) => x.pow(2)],
  ['maximum with a number', [[3, 5]], (x) => x.maximum(0.25)],
  ['where with a number', [[3, 5], [3, 5]], (c, x) => T.where(c, x, 0)],
  ['mean', [[3, 5]], (x) => T.mean(x, 1)],
  ['matmul 1-D @ 1-D', [[5], [5]], (a, b) => T.matmul(a, b)],
  ['matmul 2-D @ 1-D', [[3, 5], [5]], (a, b) => T.matmul(a, b)],
  ['matmul 1-D @ 3-D', [[5], [2, 5, 3]], (a, b) => T.matmul(a, b)],
  ['linear 3-D with bias', [[2, 3, 5], [4, 5], [4]], (x, w, b) => T.linear(x, w, b)],
  ['slice', [[3, 5]], (x) => T.slice(x, [1, 1], [2, 3])],
  ['concat', [[3, 5], [2, 5]], (a, b) => T.concat([a, b])],
  ['stack', [[3, 5], [3, 5]], (a, b) => T.stack([a, b], 1)],
  ['pad', [[3, 5]], (x) => T.pad(x, [1, 2, 0, 1], { value: 3 })],
  ['softmax', [[3, 5]], (x) => T.softmax(x)],
  ['logSoftmax', [[3, 5]], (x) => T.logSoftmax(x, 0)],
  ['crossEntropy', [[3, 5]], (x) => T.crossEntropy(x, [0, 4, 2], { labelSmoothing: 0.1 })],
  ['crossEntropy (probabilities)', [[3, 5], [3, 5]], (x, q) => T.crossEntropy(x, q)],
  ['mseLoss', [[3, 5], [3, 5]], (a, b) => T.mseLoss(a, b)],
  ['layerNorm', [[3, 5], [5], [5]], (x, w, b) => T.layerNorm(x, [5], w, b)],
  ['groupNorm', [[2, 4, 3], [4], [4]], (x, w, b) => T.groupNorm(x, 2, w, b)],
  ['dropout', [[3, 5]], (x) => T.dropout(x, 0.5, { seed: 1 })],
  ['conv2d', [[2, 2, 5, 5], [3, 2, 3, 3], [3]], (x, w, b) => T.conv2d(x, w, b, { padding: 1 })],
  ['conv2d groups', [[1, 4, 4, 4], [4, 2, 3, 3]], (x, w) => T.conv2d(x, w, null, { groups: 2 })],
  ['unfold', [[1, 2, 4, 4]], (x) => T.unfold(x, 2, { stride: 2 })],
];

describe('ops leave no temporaries behind', () => {
  it.each(CASES)('%s without grad: disposing the result frees everything', (_name, shapes, fn) => {
    const xs = shapes.map((s, i) => T.rand(s, { ...f64, seed: i + 1, low: 0.1, high: 1 }));
    const before = T.memory();
    const y = fn(...xs);
    y.dispose();
    const after = T.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
  });

  it.each(CASES)('%s with grad inside tidy: forward + backward free everything but the gradients', async (_name, shapes, fn) => {
    const xs = shapes.map((s, i) => T.rand(s, { ...f64, seed: i + 1, low: 0.1, high: 1, requiresGrad: true }));
    const before = T.memory();
    const gs = await T.tidy(async () => T.grad(fn(...xs).sum(), xs, { allowUnused: true }));
    for (const g of gs) g?.dispose();
    const after = T.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
  });
});
