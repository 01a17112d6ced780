/**
 * Autograd hardening: hand-derived gradients, requiresGrad propagation, `.grad` accumulation and
 * clearing, edge cases, retainGraph, grad modes and the options of `grad()`. customFunction/vjp
 * and double backward live in autograd_custom / autograd_double.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { f64, leaf, arr, expectClose } from './helpers/autograd_setup.js';

describe('hand-derived gradients', () => {
  it('micrograd README graph: L = (a*b + c) * f', async () => {
    // a = 2, b = -3, c = 10, f = -2: e = a*b = -6, d = e + c = 4, L = d * f = -8.
    // dL/dd = f = -2, dL/df = d = 4, dL/dc = dL/de = -2, dL/da = -2 * b = 6, dL/db = -2 * a = -4.
    const a = leaf(2), b = leaf(-3), c = leaf(10), f = leaf(-2);
    const L = a.mul(b).add(c).mul(f);
    await L.backward();
    expect(L.item()).toBe(-8);
    expect([a.grad!.item(), b.grad!.item(), c.grad!.item(), f.grad!.item()]).toEqual([6, -4, -2, 4]);
  });

  it('single tanh neuron at n = asinh(1): do/dn = 1 - 1/2 = 0.5', async () => {
    // x1 = 2, x2 = 0, w1 = -3, w2 = 1, b = asinh(1): n = -6 + 0 + b, tanh(n) = tanh(asinh(1) - 6)...
    // choose b = 6 + asinh(1) so n = asinh(1) and o = tanh(asinh(1)) = 1/sqrt(2).
    // do/dn = 1 - o^2 = 1/2; do/dx1 = w1/2 = -1.5, do/dw1 = x1/2 = 1, do/dx2 = w2/2 = 0.5,
    // do/dw2 = x2/2 = 0, do/db = 0.5.
    const x1 = leaf(2), x2 = leaf(0), w1 = leaf(-3), w2 = leaf(1), b = leaf(6 + Math.asinh(1));
    const o = x1.mul(w1).add(x2.mul(w2)).add(b).tanh();
    await o.backward();
    expect(o.item()).toBeCloseTo(Math.SQRT1_2, 14);
    expectClose([x1, w1, x2, w2, b].map((t) => t.grad!.item()), [-1.5, 1, 0.5, 0, 0.5], 1e-14);
  });

  it('a variable used several times: b = a + a, c = a * a * a', async () => {
    // d(a + a)/da = 2; d(a^3)/da = 3 a^2 = 27 at a = 3; total 29.
    const a = leaf(3);
    const y = a.add(a).add(a.mul(a).mul(a));
    await y.backward();
    expect(y.item()).toBe(33);
    expect(a.grad!.item()).toBe(29);
  });

  it('division and powers: f = x / y + y * x^2 at x = 2, y = 4', async () => {
    // f = 0.5 + 16 = 16.5; df/dx = 1/y + 2 x y = 0.25 + 16 = 16.25;
    // df/dy = -x / y^2 + x^2 = -0.125 + 4 = 3.875 (all exact in binary).
    const x = leaf(2), y = leaf(4);
    const f = x.div(y).add(y.mul(x.pow(2)));
    await f.backward();
    expect(f.item()).toBe(16.5);
    expect(x.grad!.item()).toBe(16.25);
    expect(y.grad!.item()).toBe(3.875);
  });

  it('broadcast add + square + mean', async () => {
    // x = [[1,2,3],[4,5,6]], b = [1,0,-1]: x + b = [[2,2,2],[5,5,5]]; f = (3*4 + 3*25)/6 = 14.5.
    // df/dx = 2 (x + b) / 6 = [[2/3 x3], [5/3 x3]]; df/db_j = (2*2 + 2*5)/6 = 7/3.
    const x = leaf([[1, 2, 3], [4, 5, 6]]), b = leaf([1, 0, -1]);
    const f = x.add(b).square().mean();
    await f.backward();
    expect(f.item()).toBe(14.5);
    expectClose(arr(x.grad), [2 / 3, 2 / 3, 2 / 3, 5 / 3, 5 / 3, 5 / 3]);
    expectClose(arr(b.grad), [7 / 3, 7 / 3, 7 / 3]);
  });

  it('max splits ties evenly and relu has derivative 0 at 0', async () => {
    // max([1, 3, 3]) = 3 with the gradient split 0.5 / 0.5 between the tied entries.
    const x = leaf([1, 3, 3]);
    await x.max().backward();
    expect(arr(x.grad)).toEqual([0, 0.5, 0.5]);
    // relu'(x) = [0, 0, 1] at x = [-1, 0, 2].
    const z = leaf([-1, 0, 2]);
    await z.relu().sum().backward();
    expect(arr(z.grad)).toEqual([0, 0, 1]);
  });

  it('sigmoid at 0 and exp/log chain', async () => {
    // sigmoid'(0) = 1/4; d/dx log(exp(x) * 2) = 1.
    const x = leaf([0, 1.5]);
    const y = x.sigmoid().sum().add(x.exp().mul(2).log().sum());
    await y.backward();
    const s = 1 / (1 + Math.exp(-1.5));
    expectClose(arr(x.grad), [0.25 + 1, s * (1 - s) + 1], 1e-14);
  });
});

describe('requiresGrad propagation', () => {
  it('op outputs require grad iff an input does (and grad mode is on)', () => {
    const a = leaf([1, 2]);
    const c = T.tensor([3, 4], undefined, f64);
    expect(c.requiresGrad).toBe(false);
    expect(c.mul(2).requiresGrad).toBe(false);
    expect(c.mul(a).requiresGrad).toBe(true);
    expect(a.add(c).requiresGrad).toBe(true);
    expect(T.add(1, a).requiresGrad).toBe(true);
    expect(a.mul(c).isLeaf).toBe(false);
    expect(T.noGrad(() => a.mul(c)).requiresGrad).toBe(false);
    expect(a.detach().requiresGrad).toBe(false);
    expect(T.greater(a, c).requiresGrad).toBe(false);
    expect(a.cast('float32').requiresGrad).toBe(true);
  });

  it('requireGrad on a leaf toggles; on an op output it refuses to turn off', () => {
    const a = T.tensor([1, 2], undefined, f64);
    expect(a.requireGrad().requiresGrad).toBe(true);
    const b = a.mul(2);
    expect(() => b.requireGrad(false)).toThrow(/requireGrad: expected a leaf tensor/);
    expect(a.requireGrad(false).requiresGrad).toBe(false);
  });
});

describe('.grad accumulation and clearing', () => {
  it('accumulates across two backward calls, null clears, zeroGrad clears and frees', async () => {
    const x = leaf(3), w = leaf([1, 2]);
    await x.mul(x).backward(); // 2x = 6
    expect(x.grad!.item()).toBe(6);
    await x.mul(x).backward(); // accumulated: 12
    expect(x.grad!.item()).toBe(12);
    x.grad = null;
    await x.mul(x).backward();
    expect(x.grad!.item()).toBe(6);
    await w.mul(x).sum().backward(); // dw = x = [3, 3], dx += sum(w) = 3 -> 9
    expect(arr(w.grad)).toEqual([3, 3]);
    expect(x.grad!.item()).toBe(9);
    const oldGrad = x.grad!;
    const before = T.memory().numTensors;
    T.zeroGrad([x, w]);
    expect(x.grad).toBeNull();
    expect(w.grad).toBeNull();
    expect(oldGrad.isDisposed).toBe(true);
    expect(T.memory().numTensors).toBe(before - 2);
    T.zeroGrad(x); // a single tensor, already clear: no-op
    await x.mul(x).backward();
    expect(x.grad!.item()).toBe(6);
  });

  it('zeroGrad rejects what is not a tensor', () => {
    expect(() => T.zeroGrad([leaf(1), 5 as unknown as Tensor])).toThrow(/zeroGrad: expected parameter 1 to be a Tensor, received number/);
    expect(() => T.zeroGrad(null as unknown as Tensor[])).toThrow(/zeroGrad: expected a Tensor or an iterable of Tensors, received null/);
  });

  it('grad() leaves .grad untouched', async () => {
    const x = leaf([1, 2]);
    const [g] = await T.grad(x.mul(x).sum(), x);
    expect(arr(g)).toEqual([2, 4]);
    expect(x.grad).toBeNull();
  });
});

describe('edge cases of backward', () => {
  it('backward on a scalar leaf gives 1; grad of a tensor with respect to itself is the seed', async () => {
    const x = leaf(4);
    await x.backward();
    expect(x.grad!.item()).toBe(1);
    const v = leaf([1, 2]);
    const [g] = await T.grad(v, v, { gradOutputs: T.tensor([5, 6], undefined, f64) });
    expect(arr(g)).toEqual([5, 6]);
  });

  it('concurrent backward passes through built-in ops do not disturb each other', async () => {
    const x = leaf([1, 2]), y = leaf([0.5, -1]);
    await Promise.all([x.mul(x).exp().sum().backward(), y.mul(y).tanh().sum().backward()]);
    expectClose(arr(x.grad), [2 * Math.E, 4 * Math.exp(4)], 1e-14);
    expectClose(arr(y.grad), [1, -2].map((v, i) => v * (1 - Math.tanh([0.25, 1][i]) ** 2)), 1e-14);
  });

  it('a failed backward frees the gradients it had accumulated and releases the rest of the graph', async () => {
    const bad = T.customFunction({ forward: (_c, x: Tensor) => x.mul(2), backward: () => { throw new Error('vjp failed'); } });
    const x = leaf([1, 2]);
    const e = x.exp();
    const y = bad(e).sum();
    e.dispose();
    const before = T.memory();
    await expect(y.backward()).rejects.toThrow('vjp failed');
    // The graph's saved tensors are released with it (the part already run cannot be rerun).
    expect(T.memory().numTensors).toBeLessThan(before.numTensors);
    expect(x.grad).toBeNull();
    await expect(y.backward()).rejects.toThrow(/already freed/);
  });
});

describe('retainGraph', () => {
  it('a second backward through a freed graph throws a clear error', async () => {
    const x = leaf([1, 2]);
    const y = x.mul(x).sum();
    await y.backward();
    await expect(y.backward()).rejects.toThrow(/backward: the graph through '(sum|mul)' was already freed.*retainGraph: true/);
  });

  it('with retainGraph the second backward works and accumulates', async () => {
    const x = leaf([1, 2]);
    const y = x.mul(x).sum();
    await y.backward(undefined, { retainGraph: true });
    await y.backward();
    expect(arr(x.grad)).toEqual([4, 8]);
  });

  it('grad() frees the graph too unless retainGraph', async () => {
    const x = leaf([1, 2]);
    const y = x.exp().sum();
    await T.grad(y, x, { retainGraph: true });
    const [g] = await T.grad(y, x);
    expectClose(arr(g), [Math.E, Math.exp(2)], 1e-14);
    await expect(T.grad(y, x)).rejects.toThrow(/already freed/);
  });
});

describe('grad modes', () => {
  it('noGrad / enableGrad nest and restore the mode, also after a throw', async () => {
    const x = leaf([1]);
    expect(T.isGradEnabled()).toBe(true);
    T.noGrad(() => {
      expect(T.isGradEnabled()).toBe(false);
      expect(x.mul(2).requiresGrad).toBe(false);
      T.enableGrad(() => {
        expect(T.isGradEnabled()).toBe(true);
        expect(x.mul(2).requiresGrad).toBe(true);
        T.noGrad(() => expect(x.mul(2).requiresGrad).toBe(false));
        expect(T.isGradEnabled()).toBe(true);
      });
      expect(T.isGradEnabled()).toBe(false);
      expect(() => T.enableGrad(() => { throw new Error('boom'); })).toThrow('boom');
      expect(T.isGradEnabled()).toBe(false);
    });
    expect(T.isGradEnabled()).toBe(true);
    const r = await T.noGrad(async () => {
      await new Promise((res) => setTimeout(res, 1));
      return x.mul(3);
    });
    expect(r.requiresGrad).toBe(false);
    expect(T.isGradEnabled()).toBe(true);
  });
});

describe('grad()', () => {
  it('gradOutputs for a non-scalar output', async () => {
    // y = x * [1, 2, 3]; v^T dy/dx = v * [1, 2, 3].
    const x = leaf([5, 6, 7]);
    const y = x.mul(T.tensor([1, 2, 3], undefined, f64));
    const v = T.tensor([1, 10, 100], undefined, f64);
    const [g] = await T.grad(y, x, { gradOutputs: v });
    expect(arr(g)).toEqual([1, 20, 300]);
  });

  it('allowUnused returns null; without it the error names the input', async () => {
    const x = leaf([1, 2]), z = leaf([3]);
    const y = x.sum();
    const [gx, gz] = await T.grad(y, [x, z], { allowUnused: true, retainGraph: true });
    expect(arr(gx)).toEqual([1, 1]);
    expect(gz).toBeNull();
    await expect(T.grad(y, [x, z])).rejects.toThrow(/grad: input 1 \(shape \[1\]\) was not used.*allowUnused: true/);
  });

  it('an intermediate (non-leaf) input, alone and together with the leaf', async () => {
    // h = x^2, y = 3 sum(h) + sum(x): dy/dh = 3, dy/dx = 6x + 1.
    const x = leaf([1, 2, 3]);
    const h = x.mul(x);
    const y = h.mul(3).sum().add(x.sum());
    const [gh] = await T.grad(y, h, { retainGraph: true });
    expect(arr(gh)).toEqual([3, 3, 3]);
    const [gh2, gx] = await T.grad(y, [h, x]);
    expect(arr(gh2)).toEqual([3, 3, 3]);
    expect(arr(gx)).toEqual([7, 13, 19]);
  });

  it('duplicate inputs each get their own handle on the same gradient', async () => {
    const x = leaf([1, 2]);
    const [g1, g2] = await T.grad(x.mul(x).sum(), [x, x]);
    expect(g1).not.toBe(g2);
    expect(arr(g1)).toEqual([2, 4]);
    g1!.dispose();
    expect(arr(g2)).toEqual([2, 4]);
  });

  it('multiple outputs sum their contributions; gradOutputs may mix null and tensors', async () => {
    // y1 = sum(x^2) -> 2x; y2 = 3x with v = [1, -1] -> [3, -3].
    const x = leaf([1, 2]);
    const y1 = x.mul(x).sum(), y2 = x.mul(3);
    const [g] = await T.grad([y1, y2], x, { gradOutputs: [null, T.tensor([1, -1], undefined, f64)] });
    expect(arr(g)).toEqual([5, 1]);
  });

  it('an alias of a leaf sends its gradient to the leaf', async () => {
    const x = leaf([2]);
    const a = x.alias();
    const [g] = await T.grad(a.mul(a).sum(), x);
    expect(arr(g)).toEqual([4]);
  });
});

