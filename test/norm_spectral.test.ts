import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Linear } from '../src/nn/index.js';
import { expectNormGradsMatchFD } from './helpers/norm_gradcheck.js';

const f64 = { dtype: 'float64' as const };
const keys = (m: Linear): string[] => Object.keys(m.stateDict());

/** Largest singular value of a dense row-major (r, c) matrix: power iteration on A^T A in plain JS. */
function topSingular(a: ArrayLike<number>, r: number, c: number): number {
  let x = Array.from({ length: c }, (_, i) => 1 + 0.1 * i);
  let lam = 0;
  for (let it = 0; it < 3000; it++) {
    const ax = Array.from({ length: r }, (_, i) => x.reduce((s, xj, j) => s + a[i * c + j] * xj, 0));
    const atax = Array.from({ length: c }, (_, j) => ax.reduce((s, axi, i) => s + a[i * c + j] * axi, 0));
    lam = Math.hypot(...atax);
    x = atax.map((v) => v / lam);
  }
  return Math.sqrt(lam);
}

describe('spectral_norm', () => {
  it('registers weight_orig, weight_g (targetNorm per row) and unit buffers u, v', () => {
    const fc = new Linear(5, 4, { ...f64, seed: 1 });
    const w0 = Array.from(fc.weight.dataSync());
    T.applyNorm(fc, { normType: 'spectral_norm', targetNorm: 0.7, seed: 3 });
    expect(keys(fc)).toEqual(['bias', 'weight_orig', 'weight_g', 'weight_u', 'weight_v']);
    expect(Array.from(fc.tensor('weight_orig').dataSync())).toEqual(w0);
    expect(fc.tensor('weight_g').shape).toEqual([4, 1]);
    expect(Array.from(fc.tensor('weight_g').dataSync())).toEqual([0.7, 0.7, 0.7, 0.7]);
    expect(fc.tensor('weight_u').shape).toEqual([4]);
    expect(fc.tensor('weight_v').shape).toEqual([5]);
    expect(Math.hypot(...fc.tensor('weight_u').dataSync())).toBeCloseTo(1, 14);
    expect(Math.hypot(...fc.tensor('weight_v').dataSync())).toBeCloseTo(1, 14);
    expect(fc.tensor('weight_u').requiresGrad).toBe(false);
  });

  it('weight = w_orig * g / (u^T W v) against a hand loop', () => {
    const fc = new Linear(3, 2, { ...f64, seed: 2 });
    T.applyNorm(fc, { normType: 'spectral_norm', seed: 0 });
    fc.eval(); // no power iteration on reset: u, v stay as loaded
    fc.loadStateDict({
      bias: T.zeros([2], f64),
      weight_orig: T.tensor([[1, 2, 0], [0, 1, -1]], undefined, f64),
      weight_g: T.tensor([[2], [0.5]], undefined, f64),
      weight_u: T.tensor([0.6, 0.8], undefined, f64),
      weight_v: T.tensor([0, 0.6, 0.8], undefined, f64),
    });
    T.resetNorm(fc);
    // W v = (1.2, -0.2); sigma = 0.6*1.2 + 0.8*(-0.2) = 0.56.
    const sigma = 0.56;
    const want = [[2 / sigma, 4 / sigma, 0], [0, 0.5 / sigma, -0.5 / sigma]];
    (fc.weight.toArray() as number[][]).forEach((r, i) => r.forEach((x, j) => expect(x).toBeCloseTo(want[i][j], 13)));
    expect(Array.from(fc.tensor('weight_u').dataSync())).toEqual([0.6, 0.8]);
  });

  it('top singular value of the normalised weight -> targetNorm (learnScale false and true)', () => {
    for (const [learnScale, target] of [[false, 1], [false, 0.25], [true, 0.9]] as const) {
      const fc = new Linear(6, 4, { ...f64, seed: 11 });
      T.applyNorm(fc, { normType: 'spectral_norm', learnScale, targetNorm: target, nPowerIterations: 5, seed: 1 });
      for (let step = 0; step < 40; step++) T.resetNorm(fc); // 200 more iterations
      const s = topSingular(fc.weight.dataSync(), 4, 6);
      expect(s).toBeCloseTo(target, 10);
      // sigma matches the dense estimate of the original weight.
      const s0 = topSingular(fc.tensor('weight_orig').dataSync(), 4, 6);
      const u = fc.tensor('weight_u').dataSync(), v = fc.tensor('weight_v').dataSync(), w = fc.tensor('weight_orig').dataSync();
      let sigma = 0;
      for (let i = 0; i < 4; i++) for (let j = 0; j < 6; j++) sigma += u[i] * w[i * 6 + j] * v[j];
      expect(sigma).toBeCloseTo(s0, 10);
    }
  });

  it('one power iteration per reset in training mode, none in eval mode', () => {
    const fc = new Linear(3, 3, { ...f64, seed: 5 });
    T.applyNorm(fc, { normType: 'spectral_norm', seed: 2 });
    const u1 = Array.from(fc.tensor('weight_u').dataSync());
    // Hand power iteration from u1: v = normalize(W^T u), u = normalize(W v).
    const w = fc.tensor('weight_orig').toArray() as number[][];
    const vRaw = [0, 1, 2].map((j) => w.reduce((s, row, i) => s + row[j] * u1[i], 0));
    const vn = vRaw.map((x) => x / Math.hypot(...vRaw));
    const uRaw = w.map((row) => row.reduce((s, x, j) => s + x * vn[j], 0));
    const un = uRaw.map((x) => x / Math.hypot(...uRaw));
    T.resetNorm(fc);
    Array.from(fc.tensor('weight_u').dataSync()).forEach((x, i) => expect(x).toBeCloseTo(un[i], 14));
    Array.from(fc.tensor('weight_v').dataSync()).forEach((x, i) => expect(x).toBeCloseTo(vn[i], 14));
    fc.eval();
    T.resetNorm(fc);
    Array.from(fc.tensor('weight_u').dataSync()).forEach((x, i) => expect(x).toBeCloseTo(un[i], 15));
  });

  it('gradients reach weight_orig and g and match central differences (u, v fixed)', async () => {
    const fc = new Linear(3, 2, { ...f64, seed: 6 });
    T.applyNorm(fc, { normType: 'spectral_norm', clip: true, clipValue: 10, seed: 4 });
    fc.eval();
    const x = T.randn([4, 3], { ...f64, seed: 7 });
    const r = T.randn([4, 2], { ...f64, seed: 8 });
    const loss = (): T.Tensor => fc.forward(x).tanh().mul(r).sum();
    await expectNormGradsMatchFD(fc, loss, ['weight_orig', 'weight_g'], 7);
  });

  it('normalises along dim 1 via names/dims (the transposed matrix has the same spectrum)', () => {
    const fc = new Linear(5, 3, { ...f64, seed: 9 });
    T.applyNorm(fc, { normType: 'spectral_norm', names: 'weight', dims: 1, nPowerIterations: 200, learnScale: false, seed: 0 });
    expect(fc.tensor('weight_u').shape).toEqual([5]);
    expect(fc.tensor('weight_v').shape).toEqual([3]);
    expect(topSingular(fc.weight.dataSync(), 3, 5)).toBeCloseTo(1, 10);
  });

  it('the seed fixes the start vectors; removeNorm leaves a plain normalised weight', () => {
    const a = new Linear(4, 4, { ...f64, seed: 3 }), b = new Linear(4, 4, { ...f64, seed: 3 });
    T.applyNorm(a, { normType: 'spectral_norm', seed: 42 });
    T.applyNorm(b, { normType: 'spectral_norm', seed: 42 });
    expect(Array.from(a.tensor('weight_u').dataSync())).toEqual(Array.from(b.tensor('weight_u').dataSync()));
    const w = Array.from(a.weight.dataSync());
    T.removeNorm(a);
    expect(keys(a)).toEqual(['bias', 'weight']);
    expect(Array.from(a.weight.dataSync())).toEqual(w);
    expect(a.hasTensor('weight_u')).toBe(false);
  });
});
