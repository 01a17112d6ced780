/**
 * Autograd hardening: hand-derived gradients, requiresGrad propagation, `.grad` accumulation and
 * clearing, retainGraph, grad modes, `grad()` options, customFunction, vjp, and double backward.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';

const f64 = { dtype: 'float64' as const };
const leaf = (v: number | number[] | number[][], shape?: number[]): Tensor =>
  T.tensor(v, shape, { ...f64, requiresGrad: true });
const arr = (t: Tensor | null | undefined): number[] => Array.from(t!.dataSync());

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Math.abs(got[i] - want[i]) > tol * Math.max(1, Math.abs(want[i]))) {
      throw new Error(`element ${i}: got ${got[i]}, want ${want[i]} (tol ${tol}); got [${Array.from(got)}], want [${Array.from(want)}]`);
    }
  }
}

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

  it('a failed backward frees the gradients it had accumulated', async () => {
    const bad = T.customFunction({ forward: (_c, x: Tensor) => x.mul(2), backward: () => { throw new Error('vjp failed'); } });
    const x = leaf([1, 2]);
    const y = bad(x.exp()).sum();
    const before = T.memory();
    await expect(y.backward()).rejects.toThrow('vjp failed');
    expect(T.memory().numTensors).toBe(before.numTensors);
    expect(x.grad).toBeNull();
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
});

// ---- double backward -------------------------------------------------------------------------

describe('double backward (createGraph)', () => {
  const xs = [-1.5, -0.3, 0, 0.7, 2];

  it('tanh: d2/dx2 sum(tanh x) = -2 tanh x (1 - tanh^2 x)', async () => {
    const x = leaf(xs);
    const [g] = await T.grad(x.tanh().sum(), x, { createGraph: true });
    expect(g!.requiresGrad).toBe(true);
    expectClose(arr(g), xs.map((v) => 1 - Math.tanh(v) ** 2), 1e-14);
    const [h] = await T.grad(g!.sum(), x);
    expectClose(arr(h), xs.map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)), 1e-14);
  });

  it('sigmoid: s\'\' = s (1 - s)(1 - 2 s)', async () => {
    const x = leaf(xs);
    const [g] = await T.grad(x.sigmoid().sum(), x, { createGraph: true });
    const [h] = await T.grad(g!.sum(), x);
    const sg = (v: number): number => 1 / (1 + Math.exp(-v));
    expectClose(arr(h), xs.map((v) => sg(v) * (1 - sg(v)) * (1 - 2 * sg(v))), 1e-14);
  });

  it('relu: d2/dx2 sum(relu(x) * x) = 2 step(x)', async () => {
    // f' = relu(x) + x step(x) = 2 x step(x), f'' = 2 step(x) (step(0) = 0).
    const x = leaf(xs);
    const [g] = await T.grad(x.relu().mul(x).sum(), x, { createGraph: true });
    expectClose(arr(g), xs.map((v) => (v > 0 ? 2 * v : 0)));
    const [h] = await T.grad(g!.sum(), x);
    expect(arr(h)).toEqual(xs.map((v) => (v > 0 ? 2 : 0)));
  });

  it('add + mul with broadcasting: mixed partials of sum((x + y)^2 * x)', async () => {
    // f = sum_ij (x_ij + y_j)^2 x_ij. df/dx_ij = 2 (x + y) x + (x + y)^2.
    // d/dy_j sum_ij df/dx_ij = sum_i [2 x_ij + 2 (x_ij + y_j)] = sum_i (4 x_ij + 2 y_j).
    const X = [[1, 2, -1], [0.5, 3, 2]], Y = [0.25, -1, 2];
    const x = leaf(X), y = leaf(Y);
    const [gx] = await T.grad(x.add(y).mul(x.add(y)).mul(x).sum(), x, { createGraph: true });
    expectClose(arr(gx), X.flatMap((r) => r.map((v, j) => 2 * (v + Y[j]) * v + (v + Y[j]) ** 2)));
    const [gy] = await T.grad(gx!.sum(), y);
    expectClose(arr(gy), Y.map((yj, j) => 4 * (X[0][j] + X[1][j]) + 2 * 2 * yj));
  });

  it('matmul: f(X) = ||A X||^2, Hessian-vector product 2 A^T A V, and mixed d2f/dA dX', async () => {
    // grad_X = 2 A^T A X; <grad_X, V> differentiated again w.r.t. X gives 2 A^T A V.
    const Av = [[1, 2], [3, -1], [0, 2]], Xv = [[0.5, -1], [2, 1]], Vv = [[1, 0], [-1, 2]];
    const A = leaf(Av), X = leaf(Xv), V = T.tensor(Vv, undefined, f64);
    const f = A.matmul(X).square().sum();
    const [gX] = await T.grad(f, X, { createGraph: true });
    const AtA = matMul(transposeM(Av), Av);
    expectClose(arr(gX), matMul(AtA, Xv).flat().map((v) => 2 * v));
    const [hv, hA] = await T.grad(gX!.mul(V).sum(), [X, A]);
    expectClose(arr(hv), matMul(AtA, Vv).flat().map((v) => 2 * v));
    // d/dA <2 A^T A X, V> = 2 A (X V^T + V X^T).
    const XVt = matMul(Xv, transposeM(Vv)), VXt = matMul(Vv, transposeM(Xv));
    const S = XVt.map((r, i) => r.map((v, j) => v + VXt[i][j]));
    expectClose(arr(hA), matMul(Av, S).flat().map((v) => 2 * v));
  });

  it('Hessian-vector product of a small MLP matches float64 central differences of the gradient', async () => {
    // loss(W1, b1, W2) = mean((sigmoid(tanh(x W1^T + b1) W2^T) - t)^2).
    const x = T.randn([5, 3], { ...f64, seed: 11 });
    const tgt = T.rand([5, 2], { ...f64, seed: 12 });
    const p0 = [T.randn([4, 3], { ...f64, seed: 13 }), T.randn([4], { ...f64, seed: 14 }), T.randn([2, 4], { ...f64, seed: 15 })];
    const v = [T.randn([4, 3], { ...f64, seed: 16 }), T.randn([4], { ...f64, seed: 17 }), T.randn([2, 4], { ...f64, seed: 18 })];
    const loss = (ps: Tensor[]): Tensor => T.linear(T.linear(x, ps[0], ps[1]).tanh(), ps[2]).sigmoid().sub(tgt).square().mean();

    const params = p0.map((p) => p.detach().requireGrad());
    const gs = await T.grad(loss(params), params, { createGraph: true });
    let dot: Tensor = gs[0]!.mul(v[0]).sum();
    for (let i = 1; i < 3; i++) dot = dot.add(gs[i]!.mul(v[i]).sum());
    const hv = await T.grad(dot, params);

    const eps = 1e-5;
    const gradAt = async (sign: number): Promise<number[][]> => {
      const ps = p0.map((p, i) => p.add(v[i].mul(sign * eps)).requireGrad());
      const g = await T.grad(loss(ps), ps);
      return g.map(arr);
    };
    const gp = await gradAt(1), gm = await gradAt(-1);
    let maxErr = 0, maxAbs = 0;
    for (let i = 0; i < 3; i++) {
      const h = arr(hv[i]);
      h.forEach((val, j) => {
        const fd = (gp[i][j] - gm[i][j]) / (2 * eps);
        maxErr = Math.max(maxErr, Math.abs(val - fd));
        maxAbs = Math.max(maxAbs, Math.abs(fd));
      });
    }
    expect(maxAbs).toBeGreaterThan(1e-3); // the check is not vacuous
    expect(maxErr).toBeLessThan(1e-7);
  });
});

function matMul(a: number[][], b: number[][]): number[][] {
  return a.map((r) => b[0].map((_, j) => r.reduce((s, v, k) => s + v * b[k][j], 0)));
}
function transposeM(a: number[][]): number[][] {
  return a[0].map((_, j) => a.map((r) => r[j]));
}
