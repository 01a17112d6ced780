/**
 * Double backward (createGraph) through matmul, add, mul, tanh, sigmoid and relu against
 * hand-derived second derivatives, and a Hessian-vector product against finite differences,
 * on the js reference backend and on the wasm backend.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { f64, leaf, arr, expectClose } from './helpers/autograd_setup.js';

for (const backend of ['js', 'wasm']) describe(`double backward (createGraph) on ${backend}`, () => {
  beforeAll(async () => {
    if (backend === 'wasm') expect((await T.init()).backend).toBe('wasm');
    T.setBackend(backend);
  });
  afterAll(() => T.setBackend('js'));
  it('tensors are created on the backend under test', () => {
    expect(leaf([1]).backend.name).toBe(backend);
  });

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
