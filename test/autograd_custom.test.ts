/**
 * customFunction (sync/async backward, saved tensors, bad gradients) and vjp pullbacks.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { f64, leaf, arr, expectClose } from './helpers/autograd_setup.js';
import { pullbackNow } from '../src/autograd/custom.js';

describe('customFunction', () => {
  const square = T.customFunction({
    forward: (ctx, x) => { ctx.save(x); return x.mul(x); },
    backward: (ctx, g) => [g.mul(ctx.saved[0]).mul(2)],
  });

  it('sync backward', async () => {
    const x = leaf([1, -2, 3]);
    const y = square(x);
    expect(y.requiresGrad).toBe(true);
    await y.sum().backward();
    expect(arr(x.grad)).toEqual([2, -4, 6]);
  });

  it('async backward and non-tensor state on ctx', async () => {
    const cube = T.customFunction({
      forward: (ctx, x) => { ctx.save(x); ctx.power = 3; return x.mul(x).mul(x); },
      backward: async (ctx, g) => {
        await new Promise((r) => setTimeout(r, 2));
        const x = ctx.saved[0];
        return [g.mul(x.mul(x)).mul(ctx.power as number)];
      },
    });
    const x = leaf([1, 2]);
    await cube(x).sum().backward();
    expect(arr(x.grad)).toEqual([3, 12]); // 3x^2
  });

  it('saved tensors survive the caller disposing its inputs', async () => {
    const p = leaf([1, 2, 3]);
    const x = p.mul(2); // [2, 4, 6]
    const y = square(x);
    x.dispose();
    await y.sum().backward();
    expect(arr(p.grad)).toEqual([8, 16, 24]); // d(2p)^2/dp = 8p
  });

  it('forward returning its input unchanged still makes a fresh node', async () => {
    const ident = T.customFunction({ forward: (_ctx, x) => x, backward: (_ctx, g) => [g.mul(5)] });
    const x = leaf([1]);
    const y = ident(x);
    expect(y).not.toBe(x);
    expect(x.isLeaf).toBe(true);
    await y.sum().backward();
    expect(arr(x.grad)).toEqual([5]);
  });

  it('a gradient of the wrong shape, dtype or type is a clear error', async () => {
    const badShape = T.customFunction({ forward: (_c, x) => x.mul(2), backward: (_c, g) => [g.sum()] });
    await expect(badShape(leaf([1, 2, 3])).sum().backward())
      .rejects.toThrow(/backward: the backward of 'customFunction' returned a gradient of shape \[\] for input 0, expected \[3\]/);
    const badDtype = T.customFunction({ forward: (_c, x) => x.mul(2), backward: (_c, g) => [g.cast('float32')] });
    await expect(badDtype(leaf([1, 2])).sum().backward())
      .rejects.toThrow(/backward: the backward of 'customFunction' returned a gradient of dtype float32 for input 0, expected float64/);
    const notArray = T.customFunction({ forward: (_c, x) => x.mul(2), backward: (_c, g) => g as unknown as Tensor[] });
    await expect(notArray(leaf([1])).sum().backward())
      .rejects.toThrow(/backward: the backward of 'customFunction' returned Tensor, expected an array with one gradient \(Tensor or null\) per input/);
    const notTensor = T.customFunction({ forward: (_c, x) => x.mul(2), backward: () => [2 as unknown as Tensor] });
    await expect(notTensor(leaf([1])).sum().backward())
      .rejects.toThrow(/backward: the backward of 'customFunction' returned number for input 0, expected a Tensor or null/);
  });

  it('a named customFunction names itself in errors', async () => {
    const f = T.customFunction({ name: 'myOp', forward: (_c, x) => x.mul(2), backward: (_c, g) => [g.sum()] });
    await expect(f(leaf([1, 2])).sum().backward()).rejects.toThrow(/the backward of 'myOp' returned a gradient of shape \[\]/);
  });

  it('forward that returns a non-tensor is rejected', () => {
    const f = T.customFunction({ forward: (_c, _x: Tensor) => 3 as unknown as Tensor, backward: () => [] });
    expect(() => f(leaf([1]))).toThrow(/customFunction: expected forward to return a Tensor, received number/);
  });
});

describe('vjp', () => {
  it('a pullback reused 50 times gives identical results', async () => {
    // y = tanh(W x); v^T dy/dx = W^T (v * (1 - y^2)).
    const W = T.tensor([[1, 2], [0.5, -1], [3, 0]], undefined, f64);
    const x = T.tensor([0.1, -0.2], undefined, f64);
    const [y, pb] = T.vjp((z) => W.matmul(z).tanh(), x);
    const v = T.tensor([1, -2, 0.5], undefined, f64);
    const yv = arr(y);
    const s = yv.map((t, i) => [1, -2, 0.5][i] * (1 - t * t));
    const want = [s[0] * 1 + s[1] * 0.5 + s[2] * 3, s[0] * 2 + s[1] * -1];
    const first = arr((await pb(v))[0]);
    expectClose(first, want, 1e-14);
    const before = T.memory();
    for (let i = 0; i < 50; i++) {
      const [g] = await pb(v);
      expect(arr(g)).toEqual(first);
      g.dispose();
    }
    expect(T.memory().numTensors).toBe(before.numTensors);
    expect(T.memory().numBytes).toBe(before.numBytes);
    pb.dispose();
    await expect(pb(v)).rejects.toThrow(/vjp pullback: expected a live pullback/);
  });

  it('multiple inputs: f(a, b) = a * b + sin(a)', async () => {
    // pullback(v) = [v * (b + cos a), v * a].
    const a = T.tensor([0.3, 1.2], undefined, f64), b = T.tensor([2, -1], undefined, f64);
    const [y, pb] = T.vjp((p, q) => p.mul(q).add(T.sin(p)), [a, b]);
    expectClose(arr(y), [0.3 * 2 + Math.sin(0.3), 1.2 * -1 + Math.sin(1.2)], 1e-15);
    const v = T.tensor([1, 3], undefined, f64);
    for (let k = 0; k < 3; k++) {
      const [ga, gb] = await pb(v);
      expectClose(arr(ga), [2 + Math.cos(0.3), 3 * (-1 + Math.cos(1.2))], 1e-14);
      expectClose(arr(gb), [0.3, 3 * 1.2], 1e-14);
    }
    await expect(pb(T.tensor([1, 2, 3], undefined, f64))).rejects.toThrow(/vjp pullback: expected a cotangent of shape \[2\], received \[3\]/);
    pb.dispose();
  });

  it('pullbackNow (used by the IFT adjoint solve) answers without a promise when the pass is one synchronous node, with one otherwise', async () => {
    const W = T.tensor([[1, 2], [0.5, -1]], undefined, f64), inj = T.tensor([0.1, 0.2], undefined, f64);
    const x = T.tensor([[0.3, -0.4]], undefined, f64);
    const v = T.tensor([[1, -1]], undefined, f64);
    // One fused node: synchronous, and equal to the promise-returning pullback.
    const [, fused] = T.vjp((z) => T.linearTanh(z, W, inj), x);
    const now = pullbackNow(fused, v);
    expect(now instanceof Promise).toBe(false);
    expect(arr((now as Tensor[])[0])).toEqual(arr((await fused(v))[0]));
    // An async custom backward somewhere in the pass: a promise with the same value as the pullback.
    const slowId = T.customFunction({
      forward: (_ctx, t) => t.mul(1),
      backward: async (_ctx, g) => { await new Promise((r) => setTimeout(r, 1)); return [g]; },
    });
    const [, slow] = T.vjp((z) => T.linearTanh(slowId(z), W, inj), x);
    const later = pullbackNow(slow, v);
    expect(later instanceof Promise).toBe(true);
    expectClose(arr((await later)[0]), arr((now as Tensor[])[0]), 1e-15);
    fused.dispose();
    slow.dispose();
    expect(() => pullbackNow(fused, v)).toThrow(/vjp pullback: expected a live pullback/);
  });
});

