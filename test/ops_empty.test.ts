/**
 * Empty tensors work wherever torch's do: elementwise ops, reductions (sum over an empty axis
 * is 0, mean is NaN, max/argmax over an empty axis throw like torch), softmax, matmul with a
 * zero dimension, concat/stack with empty parts, shape ops, norms, losses and backward, on
 * every backend.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { throwsWith } from './helpers/throws.js';

const BACKENDS = ['js', 'wasm'] as const;

describe.each(BACKENDS)('empty tensors on %s', (name) => {
  const run = <R>(fn: () => R): R => {
    const prev = T.getBackend().name;
    T.setBackend(name);
    try { return T.tidy(fn); } finally { T.setBackend(prev); }
  };
  const arr = (t: T.Tensor) => Array.from(t.dataSync());

  it('elementwise, unary and shape ops keep the empty shape', async () => {
    await T.init();
    run(() => {
      const x = T.zeros([0, 4]), y = T.ones([1, 4]);
      for (const t of [T.add(x, y), T.mul(x, 2), T.exp(x), T.tanh(x), T.relu(x), T.where(T.greater(x, 0), x, y), T.maximum(x, y)]) {
        expect(t.shape).toEqual([0, 4]);
        expect(t.size).toBe(0);
      }
      expect(T.transpose(x, 0, 1).shape).toEqual([4, 0]);
      expect(T.reshape(x, [4, 0]).shape).toEqual([4, 0]);
      expect(T.reshape(x, [-1, 4]).shape).toEqual([0, 4]);
      expect(T.flatten(x).shape).toEqual([0]);
      expect(T.unsqueeze(x, 0).shape).toEqual([1, 0, 4]);
      expect(T.clone(T.permute(T.zeros([2, 0, 3]), [2, 0, 1])).shape).toEqual([3, 2, 0]);
      expect(T.broadcastTo(T.zeros([0, 1]), [0, 5]).shape).toEqual([0, 5]);
      expect(T.slice(T.ones([3, 4]), [1, 0], [0, 4]).shape).toEqual([0, 4]);
      expect(T.cast(x, 'float64').shape).toEqual([0, 4]);
    });
  });

  it('reductions: sum -> 0, mean -> NaN, max/min/argmax over an empty axis throw, over a non-empty axis give an empty result', () => {
    run(() => {
      const x = T.zeros([0, 4]);
      expect(arr(T.sum(x))).toEqual([0]);
      expect(arr(T.sum(x, 0))).toEqual([0, 0, 0, 0]);
      expect(T.sum(x, 1).shape).toEqual([0]);
      expect(T.sum(x, 0, { keepDims: true }).shape).toEqual([1, 4]);
      expect(arr(T.mean(x))).toEqual([NaN]);
      expect(arr(T.mean(x, 0))).toEqual([NaN, NaN, NaN, NaN]);
      expect(T.mean(x, 1).shape).toEqual([0]);
      expect(T.max(x, 1).shape).toEqual([0]);
      expect(T.min(x, 1).shape).toEqual([0]);
      expect(T.argmax(x, 1).shape).toEqual([0]);
      throwsWith(() => T.max(x, 0), /max/, /empty/);
      throwsWith(() => T.max(x), /max/, /empty/);
      throwsWith(() => T.min(x, 0), /min/, /empty/);
      throwsWith(() => T.argmax(x, 0), /argmax/, /empty/);
      throwsWith(() => T.argmin(T.zeros([3, 0]), 1), /argmin/, /empty/);
      expect(arr(T.sum(T.zeros([3, 0]), 1))).toEqual([0, 0, 0]);
    });
  });

  it('softmax and logSoftmax of [0, 4] and over an empty axis', () => {
    run(() => {
      expect(T.softmax(T.zeros([0, 4])).shape).toEqual([0, 4]);
      expect(T.logSoftmax(T.zeros([0, 4]), -1).shape).toEqual([0, 4]);
      expect(T.softmax(T.zeros([4, 0]), -1).shape).toEqual([4, 0]);
      expect(T.softmax(T.zeros([0, 4]), 0).shape).toEqual([0, 4]);
    });
  });

  it('matmul and linear with a zero dimension', () => {
    run(() => {
      expect(arr(T.matmul(T.ones([2, 0]), T.ones([0, 3])))).toEqual([0, 0, 0, 0, 0, 0]);
      expect(T.matmul(T.ones([0, 3]), T.ones([3, 2])).shape).toEqual([0, 2]);
      expect(T.matmul(T.ones([2, 3]), T.ones([3, 0])).shape).toEqual([2, 0]);
      expect(T.matmul(T.ones([0, 2, 3]), T.ones([3, 2])).shape).toEqual([0, 2, 2]);
      expect(arr(T.linear(T.ones([2, 0]), T.ones([3, 0]), T.tensor([1, 2, 3], [3])))).toEqual([1, 2, 3, 1, 2, 3]);
      expect(T.linear(T.ones([0, 3]), T.ones([2, 3])).shape).toEqual([0, 2]);
    });
  });

  it('concat and stack with empty parts', () => {
    run(() => {
      const a = T.tensor([1, 2, 3, 4, 5, 6], [2, 3]), e = T.zeros([0, 3]);
      expect(T.concat([e, a, e], 0).toArray()).toEqual(a.toArray());
      expect(T.concat([e, e], 0).shape).toEqual([0, 3]);
      expect(T.concat([T.zeros([2, 0]), a], 1).toArray()).toEqual(a.toArray());
      expect(T.stack([e, e], 0).shape).toEqual([2, 0, 3]);
      expect(T.stack([e, e], 1).shape).toEqual([0, 2, 3]);
    });
  });

  it('norms and losses', () => {
    run(() => {
      expect(T.layerNorm(T.zeros([0, 4]), 4).shape).toEqual([0, 4]);
      expect(T.groupNorm(T.zeros([0, 4, 2]), 2).shape).toEqual([0, 4, 2]);
      expect(T.conv2d(T.zeros([0, 2, 4, 4]), T.ones([3, 2, 3, 3])).shape).toEqual([0, 3, 2, 2]);
      expect(T.pad(T.zeros([0, 2]), [1, 1]).shape).toEqual([0, 4]);
      expect(arr(T.crossEntropy(T.zeros([0, 3]), []))).toEqual([NaN]); // mean over no samples, like torch
      expect(arr(T.mseLoss(T.zeros([0, 3]), T.zeros([0, 3])))).toEqual([NaN]);
      expect(arr(T.mseLoss(T.zeros([0, 3]), T.zeros([0, 3]), { reduction: 'sum' }))).toEqual([0]);
      expect(T.mseLoss(T.zeros([0, 3]), T.zeros([0, 3]), { reduction: 'none' }).shape).toEqual([0, 3]);
      expect(arr(T.crossEntropy(T.zeros([0, 3]), [], { reduction: 'sum' }))).toEqual([0]);
    });
  });

  it('backward through ops on empty tensors gives empty / zero gradients', async () => {
    const prev = T.getBackend().name;
    T.setBackend(name);
    try {
      const x = T.zeros([0, 4], { requiresGrad: true }), w = T.ones([4, 2], { requiresGrad: true });
      const loss = T.tidy(() => T.sum(T.softmax(T.tanh(T.matmul(x, w)), -1)));
      const [gx, gw] = await T.grad(loss, [x, w]);
      expect(gx!.shape).toEqual([0, 4]);
      expect(arr(gw!)).toEqual(new Array(8).fill(0));
      for (const t of [x, w, loss, gx!, gw!]) t.dispose();
    } finally {
      T.setBackend(prev);
    }
  });
});
