import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Linear, Conv2d, LayerNorm, GroupNorm, Dropout, Sequential, Tanh, ReLU, GELU, Sigmoid, Identity } from '../src/nn/index.js';

const f64 = { dtype: 'float64' as const };

describe('Linear forward/backward by hand', () => {
  it('y = x W^T + b and its gradients', async () => {
    const lin = new Linear(2, 3, { dtype: 'float64' });
    lin.loadStateDict({
      weight: T.tensor([[1, 2], [3, 4], [5, 6]], undefined, f64),
      bias: T.tensor([0.5, -1, 2], undefined, f64),
    });
    const x = T.tensor([[1, -1], [2, 0]], undefined, { ...f64, requiresGrad: true });
    const y = lin.forward(x);
    // row 1: [1-2+0.5, 3-4-1, 5-6+2]; row 2: [2+0.5, 6-1, 10+2]
    expect(y.toArray()).toEqual([[-0.5, -2, 1], [2.5, 5, 12]]);
    await y.mul(T.tensor([1, 2, 3], undefined, f64)).sum().backward();
    // dL/dW[o] = c_o * sum_rows x = c_o * [3, -1]; dL/db = c * 2 rows; dL/dx = c @ W = [22, 28] per row
    expect(lin.weight.grad!.toArray()).toEqual([[3, -1], [6, -2], [9, -3]]);
    expect(lin.bias!.grad!.toArray()).toEqual([2, 4, 6]);
    expect(x.grad!.toArray()).toEqual([[22, 28], [22, 28]]);
  });

  it('accepts any leading shape and names the mismatch', () => {
    const lin = new Linear(4, 2, { seed: 1 });
    expect(lin.forward(T.ones([3, 5, 4])).shape).toEqual([3, 5, 2]);
    expect(lin.forward(T.ones([4])).shape).toEqual([2]);
    expect(() => lin.forward(T.ones([3, 5]))).toThrow(/linear: expected input with last dimension 4/);
  });
});

describe('Conv2d', () => {
  it('has torch-shaped parameters and default init bounds 1/sqrt(fanIn)', () => {
    const conv = new Conv2d(4, 6, [3, 2], { groups: 2, seed: 0 });
    expect(conv.weight.shape).toEqual([6, 2, 3, 2]);
    expect(conv.bias!.shape).toEqual([6]);
    const bound = 1 / Math.sqrt(2 * 3 * 2);
    const w = Array.from(conv.weight.dataSync()).map(Math.abs);
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.max(...w)).toBeGreaterThan(0.8 * bound);
    expect(Math.max(...Array.from(conv.bias!.dataSync()).map(Math.abs))).toBeLessThanOrEqual(bound);
  });

  it('computes a cross-correlation by hand, with stride and padding', () => {
    const conv = new Conv2d(1, 1, 2, { dtype: 'float64' });
    conv.loadStateDict({ weight: T.tensor([1, 0, 0, -1], [1, 1, 2, 2], f64), bias: T.tensor([10], undefined, f64) });
    const x = T.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], f64);
    // out[i][j] = x[i][j] - x[i+1][j+1] + 10 = -4 + 10 everywhere
    expect(conv.forward(x).toArray()).toEqual([[[[6, 6], [6, 6]]]]);
    const strided = new Conv2d(1, 1, 2, { stride: 2, padding: 1, bias: false, dtype: 'float64' });
    strided.loadStateDict({ weight: T.ones([1, 1, 2, 2], f64) });
    // padded 5x5, windows at rows/cols {0, 2}: sums of x[-1..0], x[1..2] blocks
    expect(strided.forward(x).toArray()).toEqual([[[[1, 2 + 3], [4 + 7, 5 + 6 + 8 + 9]]]]);
    expect(strided.namedParameters().map(([n]) => n)).toEqual(['weight']);
  });

  it('rejects bad arguments', () => {
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/Conv2d: expected groups to divide inChannels 3 and outChannels 4, received 2/);
    expect(() => new Conv2d(3, 4, [3] as never)).toThrow(/Conv2d: expected kernelSize to be an integer >= 1 or a pair of them, received \[3\]/);
    expect(() => new Conv2d(3, 4, 3, { padding: -1 })).toThrow(/Conv2d: expected padding to be an integer >= 0/);
    expect(() => new Conv2d(3, 4, 3, { paddingMode: 'zeros' } as never)).toThrow(/Conv2d: unknown option 'paddingMode'/);
  });
});

describe('LayerNorm and GroupNorm', () => {
  it('LayerNorm normalises the trailing dims, then applies weight and bias', () => {
    const ln = new LayerNorm(4, { dtype: 'float64' });
    expect(ln.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [4]], ['bias', [4]]]);
    const x = T.tensor([[1, 2, 3, 4], [2, 2, 2, 6]], undefined, f64);
    const y = ln.forward(x).toArray() as number[][];
    const s = Math.sqrt(1.25 + 1e-5); // row 1: mean 2.5, var 1.25
    [-1.5, -0.5, 0.5, 1.5].forEach((d, i) => expect(y[0][i]).toBeCloseTo(d / s, 12));
    ln.loadStateDict({ weight: T.full([4], 2, f64), bias: T.full([4], 1, f64) });
    expect((ln.forward(x).toArray() as number[][])[0][0]).toBeCloseTo(1 - 3 / s, 12);
    expect(new LayerNorm([2, 3], { elementwiseAffine: false }).numParameters()).toBe(0);
    expect(new LayerNorm(3, { bias: false }).namedParameters().map(([n]) => n)).toEqual(['weight']);
    expect(() => new LayerNorm([])).toThrow(/LayerNorm: expected normalizedShape to be a positive integer or a non-empty array of them, received \[\]/);
  });

  it('GroupNorm normalises channel groups with per-channel affine', async () => {
    const gn = new GroupNorm(2, 4, { dtype: 'float64' });
    expect(gn.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['weight', [4]], ['bias', [4]]]);
    // Group 0 = channels 0,1 with values [0, 2] and [4, 6]: mean 3, var 5.
    const x = T.tensor([0, 2, 4, 6, 1, 1, 1, 1], [1, 4, 2], f64);
    const y = Array.from(gn.forward(x).dataSync());
    const s = Math.sqrt(5 + 1e-5);
    [-3, -1, 1, 3].forEach((d, i) => expect(y[i]).toBeCloseTo(d / s, 12));
    [4, 5, 6, 7].forEach((i) => expect(y[i]).toBe(0));
    await gn.forward(x).sum().backward();
    expect(gn.tensor('bias').grad!.toArray()).toEqual([2, 2, 2, 2]);
    expect(() => new GroupNorm(3, 4)).toThrow(/GroupNorm: expected numGroups to divide numChannels, received numGroups 3 and numChannels 4/);
  });
});

describe('Dropout and activations', () => {
  it('Dropout drops in training mode and is the identity in eval mode (mode set through the parent)', () => {
    T.manualSeed(123);
    const model = new Sequential(new Identity(), new Dropout(0.5));
    const x = T.ones([2000]);
    const yt = Array.from(model.forward(x).dataSync());
    const kept = yt.filter((v) => v !== 0);
    expect(kept.every((v) => v === 2)).toBe(true);
    expect(Math.abs(kept.length / 2000 - 0.5)).toBeLessThan(0.05);
    model.eval();
    expect(Array.from(model.forward(x).dataSync()).every((v) => v === 1)).toBe(true);
    expect(() => new Dropout(1.5)).toThrow(/Dropout: expected a drop probability p in \[0, 1\], received 1.5/);
  });

  it('activation modules apply their functions', () => {
    const x = T.tensor([-1, 0, 2], undefined, f64);
    expect(Array.from(new Tanh().forward(x).dataSync())).toEqual([Math.tanh(-1), 0, Math.tanh(2)]);
    expect(Array.from(new ReLU().forward(x).dataSync())).toEqual([0, 0, 2]);
    expect(new GELU().forward(x).dataSync()[2]).toBeCloseTo(1.9544997361036416, 12);
    expect(new Sigmoid().forward(x).dataSync()[1]).toBe(0.5);
    expect(new Identity().numParameters()).toBe(0);
  });
});
