import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';

const f64 = { dtype: 'float64' as const };

describe('autograd: hand-derived cases', () => {
  it('micrograd-style expression', async () => {
    // a = -4, b = 2; c = a + b; d = a * b + b^3; e = c * d ... (values checked by hand)
    const a = T.tensor(-4, [], { ...f64, requiresGrad: true });
    const b = T.tensor(2, [], { ...f64, requiresGrad: true });
    const c = a.add(b); // -2
    const d = a.mul(b).add(b.pow(3)); // -8 + 8 = 0
    const e = c.mul(c).add(d.mul(3)); // 4 + 0
    await e.backward();
    expect(e.item()).toBe(4);
    // de/da = 2c + 3 b = -4 + 6 = 2 ; de/db = 2c + 3 (a + 3 b^2) = -4 + 3 * 8 = 20
    expect(a.grad!.item()).toBeCloseTo(2, 12);
    expect(b.grad!.item()).toBeCloseTo(20, 12);
  });

  it('matmul + tanh + broadcasting matches a hand computation', async () => {
    const x = T.tensor([[1, 2], [3, 4]], undefined, { ...f64, requiresGrad: true });
    const w = T.tensor([[0.5, -1], [2, 0.1]], undefined, { ...f64, requiresGrad: true });
    const y = x.matmul(w).tanh().mul(x).sum();
    await y.backward();
    expect(y.item()).toBeCloseTo(-1.2844299721088461, 12);
    const gx = x.grad!.toArray() as number[][];
    expect(gx[0][0]).toBeCloseTo(-0.11811037, 7);
    expect(gx[1][1]).toBeCloseTo(-0.98029735, 7);
    const gw = w.grad!.toArray() as number[][];
    expect(gw[1][1]).toBeCloseTo(2.58541743, 7);
  });

  it('double backward through square', async () => {
    const x = T.tensor([1, 2, 3], undefined, { ...f64, requiresGrad: true });
    const [g] = await T.grad(x.square().sum(), x, { createGraph: true });
    expect(g!.toArray()).toEqual([2, 4, 6]);
    const [gg] = await T.grad(g!.mul(x).sum(), x);
    expect(gg!.toArray()).toEqual([4, 8, 12]);
  });

  it('backward on a non-scalar without a gradient throws naming the shape', async () => {
    const x = T.tensor([1, 2], undefined, { requiresGrad: true });
    await expect(x.mul(2).backward()).rejects.toThrow(/backward: expected a scalar output.*\[2\]/);
  });
});
