import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import { Rng } from '../src/random.js';

const f64 = { dtype: 'float64' as const };

/** Row-major (rows, cols) matrix of deterministic values. */
function mat(rows: number, cols: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: rows * cols }, () => r.normal());
}

/** Hand loop: v (B, out) times W (out, in), returns sum of squares of v W. */
function sqNormVW(v: number[], W: number[], B: number, out: number, inn: number): number {
  let s = 0;
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < inn; j++) {
      let acc = 0;
      for (let i = 0; i < out; i++) acc += v[b * out + i] * W[i * inn + j];
      s += acc * acc;
    }
  }
  return s;
}

describe('jacReg', () => {
  const B = 2, IN = 3, OUT = 3;
  const Wv = mat(OUT, IN, 11);

  it('equals a hand loop over the same probe vectors for f = z W^T (fixed seed)', async () => {
    const W = T.tensor(Wv, [OUT, IN], f64);
    const z = T.randn([B, IN], { ...f64, seed: 5 }).requireGrad();
    const f = T.linear(z, W);
    const vecs = 4;
    const got = (await T.jacReg(f, z, { vecs, seed: 42, createGraph: false })).item();
    const rng = new Rng(42);
    let want = 0;
    for (let k = 0; k < vecs; k++) {
      const v = Array.from({ length: B * OUT }, () => rng.normal());
      want += sqNormVW(v, Wv, B, OUT, IN);
    }
    want /= vecs * B * IN;
    expect(got).toBeCloseTo(want, 12);
  });

  it('is close to ||W||_F^2 / in (its expectation) with many probes', async () => {
    const W = T.tensor(Wv, [OUT, IN], f64);
    const z = T.zeros([B, IN], f64).requireGrad();
    const f = T.linear(z, W);
    const got = (await T.jacReg(f, z, { vecs: 400, seed: 1, createGraph: false })).item();
    // ||J||_F^2 = B ||W||_F^2 and numel(z) = B * IN.
    const exact = Wv.reduce((a, w) => a + w * w, 0) / IN;
    expect(Math.abs(got - exact) / exact).toBeLessThan(0.08);
  });

  it('parameter gradient matches central differences (tanh layer, double backward)', async () => {
    const x = T.tensor(mat(B, IN, 3), [B, IN], f64);
    const bv = [0.1, -0.2, 0.3];
    const value = async (w: number[], track: boolean): Promise<[number, T.Tensor | null]> => {
      const W = T.tensor(w, [OUT, IN], { ...f64, requiresGrad: track });
      const bias = T.tensor(bv, [OUT], f64);
      const z = T.tensor(mat(B, IN, 9), [B, IN], f64).requireGrad();
      const f = T.linear(z, W, bias).add(x).tanh();
      const r = await T.jacReg(f, z, { vecs: 2, seed: 7 });
      if (!track) return [r.item(), null];
      const [g] = await T.grad(r, W);
      return [r.item(), g];
    };
    const [, g] = await value(Wv, true);
    const gv = g!.dataSync();
    for (let i = 0; i < Wv.length; i++) {
      const h = 1e-6;
      const wp = [...Wv]; wp[i] += h;
      const wm = [...Wv]; wm[i] -= h;
      const fd = ((await value(wp, false))[0] - (await value(wm, false))[0]) / (2 * h);
      expect(gv[i]).toBeCloseTo(fd, 7);
    }
  });

  it('keeps the caller graph so the task loss can still backprop', async () => {
    const W = T.tensor(Wv, [OUT, IN], { ...f64, requiresGrad: true });
    const z = T.ones([B, IN], f64).requireGrad();
    const f = T.linear(z, W);
    const reg = await T.jacReg(f, z, { seed: 3 });
    const loss = f.sum().add(reg);
    await loss.backward();
    expect(W.grad!.shape).toEqual([OUT, IN]);
  });

  it('rejects bad input with named errors', async () => {
    const z = T.ones([2, 2], f64).requireGrad();
    const f = z.mul(2);
    await expect(T.jacReg(f, z, { vec: 2 } as never)).rejects.toThrow(/jacReg: unknown option 'vec'; valid options are 'vecs', 'createGraph', 'seed'/);
    await expect(T.jacReg(f, z, { vecs: 0 })).rejects.toThrow(/jacReg: expected option 'vecs' to be a positive integer, received 0/);
    const w = T.ones([2, 2], f64);
    await expect(T.jacReg(f, w, {})).rejects.toThrow(/jacReg: expected z0 to require grad/);
    const other = T.ones([2, 2], f64).requireGrad();
    await expect(T.jacReg(f, other, {})).rejects.toThrow(/jacReg: expected f0 \(shape \[2, 2\]\) to be computed from z0/);
  });
});

describe('powerMethod', () => {
  it('finds the dominant eigenvalue of a symmetric matrix (Rayleigh quotient)', async () => {
    // A = Q diag(3, -1, 0.5) Q^T with Q a rotation: spectral radius 3.
    const c = Math.cos(0.7), s = Math.sin(0.7);
    const Q = [[c, -s, 0], [s, c, 0], [0, 0, 1]];
    const d = [3, -1, 0.5];
    const A: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      let a = 0;
      for (let k = 0; k < 3; k++) a += Q[i][k] * d[k] * Q[j][k];
      A.push(a);
    }
    const W = T.tensor(A, [3, 3], f64);
    const z = T.randn([2, 3], { ...f64, seed: 2 }).requireGrad();
    const { eigenvalue, eigenvector } = await T.powerMethod(T.linear(z, W), z, { nIters: 60, seed: 4 });
    expect(eigenvalue.shape).toEqual([2]);
    for (const e of eigenvalue.toArray() as number[]) expect(e).toBeCloseTo(3, 10);
    // The eigenvector is +-Q[:,0] for each batch entry.
    const ev = eigenvector.toArray() as number[][];
    for (const row of ev) {
      const dot = row[0] * Q[0][0] + row[1] * Q[1][0] + row[2] * Q[2][0];
      expect(Math.abs(dot)).toBeCloseTo(1, 10);
    }
  });

  it('estimates |lambda| of a non-symmetric matrix with a negative dominant eigenvalue', async () => {
    // Upper triangular: eigenvalues -2 and 0.5.
    const W = T.tensor([[-2, 1], [0, 0.5]], undefined, f64);
    const z = T.zeros([1, 2], f64).requireGrad();
    const { eigenvalue, eigenvector } = await T.powerMethod(T.linear(z, W), z, { nIters: 80, seed: 9 });
    expect(eigenvalue.item()).toBeCloseTo(2, 10);
    // Left eigenvector u: u^T A = -2 u^T -> u = (1, -1/2.5) normalised.
    const u = eigenvector.dataSync();
    const ratio = u[1] / u[0];
    expect(ratio).toBeCloseTo(-0.4, 10);
  });

  it('rejects a non-square Jacobian and unknown options', async () => {
    const z = T.ones([2, 3], f64).requireGrad();
    await expect(T.powerMethod(z.sum(1), z)).rejects.toThrow(/powerMethod: expected f0 and z0 of the same size/);
    await expect(T.powerMethod(z.mul(2), z, { iters: 3 } as never)).rejects.toThrow(/powerMethod: unknown option 'iters'; valid options are 'nIters', 'seed'/);
  });
});
