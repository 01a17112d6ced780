import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Rng } from '../src/random.js';

describe('mixedInit', () => {
  it('replays exactly from the seed: normals first, then a 1/2 keep mask', () => {
    const z = T.mixedInit([3, 4], { seed: 12, dtype: 'float64' });
    expect(z.shape).toEqual([3, 4]);
    expect(z.dtype).toBe('float64');
    const r = new Rng(12);
    const normals = Array.from({ length: 12 }, () => r.normal());
    const want = normals.map((v) => (r.uniform() < 0.5 ? v : 0));
    expect(Array.from(z.dataSync())).toEqual(want);
    expect(Array.from(T.mixedInit([3, 4], { seed: 12, dtype: 'float64' }).dataSync())).toEqual(want);
  });

  it('has about half zeros and unit-variance nonzeros', () => {
    const z = T.mixedInit([20000], { seed: 3, dtype: 'float64' }).dataSync();
    const nz = Array.from(z).filter((v) => v !== 0);
    expect(Math.abs(nz.length / z.length - 0.5)).toBeLessThan(0.015);
    const mean = nz.reduce((a, v) => a + v, 0) / nz.length;
    const variance = nz.reduce((a, v) => a + (v - mean) ** 2, 0) / nz.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });

  it('follows manualSeed without a seed and rejects bad options', () => {
    T.manualSeed(5);
    const a = Array.from(T.mixedInit([6]).dataSync());
    T.manualSeed(5);
    expect(Array.from(T.mixedInit([6]).dataSync())).toEqual(a);
    expect(() => T.mixedInit([2], { sed: 1 } as never)).toThrow(/mixedInit: unknown option 'sed'; valid options are 'seed', 'dtype', 'backend'/);
    expect(() => T.mixedInit([2, -1])).toThrow(/mixedInit: expected a shape/);
  });
});
