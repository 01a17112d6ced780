import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Linear, Conv2d } from '../src/nn/index.js';
import { expectNormGradsMatchFD } from './helpers/norm_gradcheck.js';

const f64 = { dtype: 'float64' as const };
const rows = (t: T.Tensor): number[][] => t.toArray() as number[][];
const keys = (m: Linear | Conv2d): string[] => Object.keys(m.stateDict());

/** g * v / ||v|| row by row, in plain JS. */
function handWeightNorm(v: number[][], g: number[]): number[][] {
  return v.map((r, i) => {
    const n = Math.sqrt(r.reduce((a, x) => a + x * x, 0));
    return r.map((x) => (g[i] * x) / n);
  });
}

describe('weight_norm', () => {
  it('splits weight into weight_g = ||w|| per row and weight_v = w, leaving the weight unchanged', () => {
    const fc = new Linear(3, 2, { ...f64, seed: 1 });
    const w0 = rows(fc.weight);
    expect(T.applyNorm(fc)).toEqual(['']);
    expect(keys(fc)).toEqual(['bias', 'weight_g', 'weight_v']);
    expect(fc.tensor('weight_g').shape).toEqual([2, 1]);
    const g = (fc.tensor('weight_g').toArray() as number[][]).map((r) => r[0]);
    g.forEach((gi, i) => expect(gi).toBeCloseTo(Math.hypot(...w0[i]), 14));
    expect(rows(fc.tensor('weight_v'))).toEqual(w0);
    rows(fc.weight).forEach((r, i) => r.forEach((x, j) => expect(x).toBeCloseTo(w0[i][j], 14)));
  });

  it('computes g * v / ||v|| from loaded values after resetNorm', () => {
    const fc = new Linear(3, 2, { ...f64, seed: 2 });
    T.applyNorm(fc, { normType: 'weight_norm' });
    fc.loadStateDict({
      bias: T.tensor([0, 0], undefined, f64),
      weight_g: T.tensor([[2], [6]], undefined, f64),
      weight_v: T.tensor([[3, 4, 0], [1, 2, 2]], undefined, f64),
    });
    T.resetNorm(fc);
    // ||(3,4,0)|| = 5 -> 2/5 * v; ||(1,2,2)|| = 3 -> 6/3 * v.
    const want = [[1.2, 1.6, 0], [2, 4, 4]];
    expect(handWeightNorm([[3, 4, 0], [1, 2, 2]], [2, 6])).toEqual(want);
    rows(fc.weight).forEach((r, i) => r.forEach((x, j) => expect(x).toBeCloseTo(want[i][j], 14)));
    const y = fc.forward(T.tensor([[1, 1, 1]], undefined, f64));
    expect((y.toArray() as number[][])[0][0]).toBeCloseTo(2.8, 14);
    expect((y.toArray() as number[][])[0][1]).toBeCloseTo(10, 14);
  });

  it('learnScale false scales rows to targetNorm; clip caps the factor', () => {
    const fc = new Linear(4, 3, { ...f64, seed: 3 });
    T.applyNorm(fc, { learnScale: false, targetNorm: 2 });
    expect(keys(fc)).toEqual(['bias', 'weight_v']);
    for (const r of rows(fc.weight)) expect(Math.hypot(...r)).toBeCloseTo(2, 13);

    const c = new Linear(2, 2, f64);
    T.applyNorm(c, { clip: true, clipValue: 0.5 });
    c.loadStateDict({
      bias: T.zeros([2], f64),
      weight_g: T.tensor([[10], [0.1]], undefined, f64), // factors 10/5 = 2 (clipped to 0.5) and 0.1/5
      weight_v: T.tensor([[3, 4], [0, 5]], undefined, f64),
    });
    T.resetNorm(c);
    const w = rows(c.weight);
    expect(w[0][0]).toBeCloseTo(1.5, 14);
    expect(w[0][1]).toBeCloseTo(2, 14);
    expect(w[1][1]).toBeCloseTo(0.1, 14);
  });

  it('gradients reach g and v and match central differences', async () => {
    const fc = new Linear(3, 2, { ...f64, seed: 4 });
    T.applyNorm(fc);
    const x = T.randn([4, 3], { ...f64, seed: 5 });
    const r = T.randn([4, 2], { ...f64, seed: 6 });
    const loss = (): T.Tensor => fc.forward(x).tanh().mul(r).sum();
    const { base, grads } = await expectNormGradsMatchFD(fc, loss, ['weight_g', 'weight_v'], 7);
    // The direction gradient is orthogonal to v in each row (g v/||v|| is scale-invariant in v).
    const v = Array.from(base.weight_v.dataSync());
    for (let row = 0; row < 2; row++) {
      let dot = 0;
      for (let j = 0; j < 3; j++) dot += v[row * 3 + j] * grads.weight_v[row * 3 + j];
      expect(dot).toBeCloseTo(0, 12);
    }
  });

  it('removeNorm restores a plain weight parameter with the normalised value', () => {
    const fc = new Linear(2, 2, f64);
    T.applyNorm(fc, { learnScale: false, targetNorm: 3 });
    T.removeNorm(fc);
    expect(T.hasNorm(fc)).toBe(false);
    expect(keys(fc)).toEqual(['bias', 'weight']);
    for (const r of rows(fc.weight)) expect(Math.hypot(...r)).toBeCloseTo(3, 13);
    expect(fc.weight.requiresGrad).toBe(true);
    expect(fc.weight.isLeaf).toBe(true);
  });

  it('normalises each output filter of a Conv2d', () => {
    const conv = new Conv2d(2, 3, 2, { ...f64, seed: 7 });
    T.applyNorm(conv, { learnScale: false, targetNorm: 1.5 });
    const w = conv.weight.dataSync();
    for (let o = 0; o < 3; o++) {
      let s = 0;
      for (let k = 0; k < 8; k++) s += w[o * 8 + k] ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1.5, 13);
    }
  });
});
