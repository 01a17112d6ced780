import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Linear, init } from '../src/nn/index.js';
import { Rng } from '../src/random.js';

function stats(t: T.Tensor): { mean: number; std: number; maxAbs: number } {
  const v = Array.from(t.dataSync());
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std, maxAbs: Math.max(...v.map(Math.abs)) };
}

describe('nn.init', () => {
  it('calculateGain and fans follow torch', () => {
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 15);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 15);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
    expect(init.calculateGain('selu')).toBe(0.75);
    expect(init.fans([8, 3, 3, 3])).toEqual({ fanIn: 27, fanOut: 72 });
    expect(() => init.calculateGain('swish')).toThrow(/init.calculateGain: unknown nonlinearity "swish"; known: 'linear', .*'tanh'/);
    expect(() => init.fans([5])).toThrow(/init.fans: expected a shape with at least 2 dimensions \(out, in, ...\), received \[5\]/);
  });

  it('uniform / normal / constant', () => {
    const u = init.uniform([4000], { low: -2, high: 1, seed: 1 });
    const s = stats(u);
    expect(Math.min(...u.dataSync())).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u.dataSync())).toBeLessThan(1);
    expect(s.mean).toBeCloseTo(-0.5, 1);
    expect(s.std).toBeCloseTo(3 / Math.sqrt(12), 1);
    const n = stats(init.normal([4000], { mean: 3, std: 0.5, seed: 2, dtype: 'float64' }));
    expect(Math.abs(n.mean - 3)).toBeLessThan(0.05);
    expect(Math.abs(n.std - 0.5)).toBeLessThan(0.03);
    expect(Array.from(init.constant([3], 0.25).dataSync())).toEqual([0.25, 0.25, 0.25]);
    expect(Array.from(init.ones([2]).dataSync())).toEqual([1, 1]);
    expect(init.zeros([2], { dtype: 'float64' }).dtype).toBe('float64');
  });

  it('xavier and kaiming match their target spreads', () => {
    const shape = [200, 100];
    const xu = init.xavierUniform(shape, { seed: 3 });
    const b = Math.sqrt(6 / 300);
    expect(stats(xu).maxAbs).toBeLessThanOrEqual(b);
    expect(stats(xu).maxAbs).toBeGreaterThan(0.99 * b);
    expect(Math.abs(stats(init.xavierNormal(shape, { seed: 4, gain: 2 })).std / (2 * Math.sqrt(2 / 300)) - 1)).toBeLessThan(0.03);
    const ku = init.kaimingUniform(shape, { seed: 5, nonlinearity: 'relu' });
    expect(stats(ku).maxAbs).toBeLessThanOrEqual(Math.sqrt(6 / 100));
    expect(stats(ku).maxAbs).toBeGreaterThan(0.99 * Math.sqrt(6 / 100));
    const kn = init.kaimingNormal(shape, { seed: 6, mode: 'fan_out', nonlinearity: 'relu' });
    expect(Math.abs(stats(kn).std / Math.sqrt(2 / 200) - 1)).toBeLessThan(0.03);
    expect(() => init.kaimingUniform(shape, { mode: 'fan_avg' as never })).toThrow(/init.kaimingUniform: expected option 'mode' to be 'fan_in' or 'fan_out', received "fan_avg"/);
    expect(() => init.xavierUniform(shape, { gian: 1 } as never)).toThrow(/init.xavierUniform: unknown option 'gian'/);
  });

  it('orthogonal gives orthonormal rows (wide) or columns (tall), times gain', () => {
    for (const [r, c] of [[3, 7], [7, 3], [5, 5]]) {
      const q = init.orthogonal([r, c], { seed: r * 10 + c, gain: 2, dtype: 'float64' });
      const small = Math.min(r, c);
      const gram = r <= c ? T.matmul(q, T.transpose(q)) : T.matmul(T.transpose(q), q);
      const g = gram.toArray() as number[][];
      for (let i = 0; i < small; i++) for (let j = 0; j < small; j++) expect(g[i][j]).toBeCloseTo(i === j ? 4 : 0, 12);
    }
    const conv = init.orthogonal([4, 2, 3, 3], { seed: 1 });
    expect(conv.shape).toEqual([4, 2, 3, 3]);
  });

  it('is deterministic: same seed same values, a shared generator continues the stream', () => {
    const a = init.normal([5], { seed: 9 }).dataSync(), b = init.normal([5], { seed: 9 }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(init.normal([5], { seed: 10 }).dataSync())).not.toEqual(Array.from(a));
    const g = new Rng(9);
    const first = init.normal([5], { generator: g }).dataSync();
    const second = init.normal([5], { generator: g }).dataSync();
    expect(Array.from(first)).toEqual(Array.from(a));
    expect(Array.from(second)).not.toEqual(Array.from(a));
    expect(() => init.normal([5], { seed: 1, generator: g })).toThrow(/init.normal: expected at most one of the options 'seed' and 'generator', received both/);
  });
});

describe('Linear default init (torch: kaiming_uniform a=sqrt(5))', () => {
  it('weight and bias lie in U(-1/sqrt(in), 1/sqrt(in)) and fill it', () => {
    const lin = new Linear(64, 300, { seed: 0 });
    const bound = 1 / 8;
    const w = stats(lin.weight), b = stats(lin.bias!);
    expect(w.maxAbs).toBeLessThanOrEqual(bound);
    expect(w.maxAbs).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(w.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.03);
    expect(b.maxAbs).toBeLessThanOrEqual(bound);
    expect(b.maxAbs).toBeGreaterThan(0.9 * bound);
  });

  it('seeded layers are reproducible; bias=false registers no bias', () => {
    const a = new Linear(3, 2, { seed: 7 }), b = new Linear(3, 2, { seed: 7 }), c = new Linear(3, 2, { seed: 8 });
    expect(Array.from(a.weight.dataSync())).toEqual(Array.from(b.weight.dataSync()));
    expect(Array.from(a.bias!.dataSync())).toEqual(Array.from(b.bias!.dataSync()));
    expect(Array.from(a.weight.dataSync())).not.toEqual(Array.from(c.weight.dataSync()));
    const nb = new Linear(3, 2, { bias: false, dtype: 'float64' });
    expect(nb.bias).toBeNull();
    expect(nb.namedParameters().map(([n]) => n)).toEqual(['weight']);
    expect(nb.weight.dtype).toBe('float64');
    expect(() => new Linear(3, 2.5)).toThrow(/Linear: expected outFeatures to be an integer >= 0, received 2.5/);
    expect(() => new Linear(3, 2, { biases: false } as never)).toThrow(/Linear: unknown option 'biases'/);
  });
});
