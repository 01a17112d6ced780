/**
 * Concurrency of the DEQ layer and the solvers: training forwards awaited together (sync and
 * async cells) give the same outputs and gradients as the same forwards run one after another;
 * an async `func` works in every solver and both DEQ cores; grad mode is never changed for
 * anyone else and no rejection goes unhandled.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectAsyncHealth } from './helpers/async_health.js';

const f64 = { dtype: 'float64' as const };
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
const arr = (t: Tensor): number[] => Array.from(t.dataSync());

// Any unhandled rejection in this file is a failure (vitest reports them too; this names the case).
expectAsyncHealth();

function cell(d: number, B: number, seed: number) {
  const W = T.randn([d, d], { ...f64, seed, std: 0.4 / Math.sqrt(d) }).requireGrad();
  const U = T.randn([d, d], { ...f64, seed: seed + 1, std: 0.5 / Math.sqrt(d) }).requireGrad();
  const xs = [0, 1, 2, 3].map((k) => T.randn([B, d], { ...f64, seed: seed + 10 + k }));
  const sync = (x: Tensor) => (z: Tensor): Tensor => T.tanh(T.linear(z, W).add(T.linear(x, U)));
  // An async cell: awaits a timer (a macrotask) in the middle of every call.
  const async = (x: Tensor) => async (z: Tensor): Promise<Tensor> => {
    const h = T.linear(z, W);
    await tick();
    return T.tanh(h.add(T.linear(x, U)));
  };
  return { W, U, xs, sync, async };
}

type Cell = ReturnType<typeof cell>;
const CONFIGS = [
  { core: 'indexing', fSolver: 'anderson', ift: true },
  { core: 'sliced', fSolver: 'broyden', grad: 2, nStates: 2 },
  { core: 'indexing', fSolver: 'fixed_point_iter', ift: true, hookIft: true },
  { core: 'sliced', fSolver: 'simple_fixed_point_iter', grad: 1 },
] as const;

/** Forward, a loss over every output, backward; returns the loss and [dW, dU]; grads cleared. */
async function lossAndGrads(c: Cell, out: T.DEQResult<Tensor>, k: number): Promise<number> {
  const target = T.randn(out.zOut[0].shape, { ...f64, seed: 100 + k });
  let loss: Tensor | null = null;
  for (const z of out.zOut) {
    const l = z.mul(target).sum();
    loss = loss ? loss.add(l) : l;
  }
  const v = loss!.item();
  await loss!.backward();
  return v;
}

describe('training forwards awaited together', () => {
  for (const cfg of CONFIGS) {
    for (const kind of ['sync', 'async'] as const) {
      it(`${cfg.core}/${cfg.fSolver}${'ift' in cfg ? (cfg as { hookIft?: boolean }).hookIft ? ' hookIft' : ' ift' : ' phantom'}, ${kind} cell: Promise.all of 4 forwards = 4 sequential ones`, async () => {
        const c = cell(5, 3, 7);
        const deq = T.getDeq({ ...cfg, fMaxIter: 12, fTol: 1e-12, bMaxIter: 30, bTol: 1e-12 });
        const fs = c.xs.map((x) => c[kind](x));
        const z0 = () => T.zeros([3, 5], f64);
        // Sequential reference.
        const seqLoss: number[] = [];
        for (let k = 0; k < 4; k++) seqLoss.push(await lossAndGrads(c, await deq.forward(fs[k], z0()), k));
        const seqW = arr(c.W.grad!), seqU = arr(c.U.grad!);
        T.zeroGrad([c.W, c.U]);
        // Concurrent forwards, then concurrent backwards.
        const outs = await Promise.all(fs.map((f) => deq.forward(f, z0())));
        for (const o of outs) for (const z of o.zOut) expect(z.requiresGrad).toBe(true);
        expect(T.isGradEnabled()).toBe(true);
        const parLoss = await Promise.all(outs.map((o, k) => lossAndGrads(c, o, k)));
        for (let k = 0; k < 4; k++) expect(parLoss[k]).toBeCloseTo(seqLoss[k], 12);
        const parW = arr(c.W.grad!), parU = arr(c.U.grad!);
        for (let i = 0; i < seqW.length; i++) {
          expect(parW[i]).toBeCloseTo(seqW[i], 10);
          expect(parU[i]).toBeCloseTo(seqU[i], 10);
        }
        expect(seqW.some((g) => Math.abs(g) > 1e-6)).toBe(true);
      });
    }
  }

  it('a training forward concurrent with an eval forward of another layer: each gets its own mode', async () => {
    const c = cell(4, 2, 3);
    const train = T.getDeq({ fSolver: 'anderson', fMaxIter: 10, ift: true });
    const evalDeq = T.getDeq({ fSolver: 'anderson', fMaxIter: 10 }).eval();
    const [a, b] = await Promise.all([train.forward(c.async(c.xs[0]), T.zeros([2, 4], f64)), evalDeq.forward(c.async(c.xs[1]), T.zeros([2, 4], f64))]);
    expect(a.zOut[0].requiresGrad).toBe(true);
    expect(b.zOut[0].requiresGrad).toBe(false);
  });

  it('a forward called inside a synchronous noGrad records nothing, even with an async cell', async () => {
    const c = cell(4, 2, 5);
    const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 10, ift: true });
    for (const kind of ['sync', 'async'] as const) {
      const out = await T.noGrad(() => deq.forward(c[kind](c.xs[0]), T.zeros([2, 4], f64)));
      expect(out.zOut[0].requiresGrad).toBe(false);
      expect(T.isGradEnabled()).toBe(true);
    }
  });
});

describe('async func in every solver', () => {
  const solvers = ['anderson', 'broyden', 'fixed_point_iter', 'simple_fixed_point_iter'];
  for (const name of solvers) {
    it(`${name}: an async func gives the sync func's result, also with 3 solves awaited together`, async () => {
      const c = cell(4, 2, 11);
      const solve = T.getSolver(name);
      const opts = { maxIter: 25, tol: 1e-12 };
      const ref = await solve(c.sync(c.xs[0]), T.zeros([2, 4], f64), opts);
      const [r1, r2, r3] = await Promise.all([0, 0, 0].map(() => solve(c.async(c.xs[0]), T.zeros([2, 4], f64), opts)));
      for (const r of [r1, r2, r3]) {
        const a = arr(r.z), b = arr(ref.z);
        for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 12);
        expect(r.status).toEqual(ref.status);
        expect(r.z.requiresGrad).toBe(false);
      }
    });

    it(`${name}: a rejection inside an async func reaches the caller only, and the solver frees its memory`, async () => {
      const solve = T.getSolver(name);
      const base = T.memory().numTensors;
      let calls = 0;
      const bad = async (z: Tensor): Promise<Tensor> => {
        await tick();
        if (++calls === 3) throw new Error('cell failed');
        // What an async func creates after an await is tidied by a tidy of its own (README).
        return T.tidy(() => z.mul(0.5).add(1));
      };
      await expect(solve(bad, T.zeros([2, 3], f64), { maxIter: 10, tol: 1e-12 })).rejects.toThrow('cell failed');
      const notTensor = async (): Promise<Tensor> => { await tick(); return 5 as unknown as Tensor; };
      await expect(solve(notTensor, T.zeros([2, 3], f64), { maxIter: 10 })).rejects.toThrow(/func/);
      expect(T.memory().numTensors).toBeLessThanOrEqual(base + 2); // the two zeros() above
    });
  }

  it('gmres (affine func): async = sync', async () => {
    const A = T.randn([3, 3], { ...f64, seed: 4, std: 0.2 });
    const b = T.randn([2, 3], { ...f64, seed: 5 });
    const f = (g: Tensor): Tensor => T.matmul(g, A).add(b);
    const af = async (g: Tensor): Promise<Tensor> => { const h = T.matmul(g, A); await tick(); return h.add(b); };
    const ref = await T.gmres(f, T.zeros([2, 3], f64), { maxIter: 20, tol: 1e-12 });
    const got = await T.gmres(af, T.zeros([2, 3], f64), { maxIter: 20, tol: 1e-12 });
    const x = arr(got.z), y = arr(ref.z);
    for (let i = 0; i < x.length; i++) expect(x[i]).toBeCloseTo(y[i], 12);
  });
});

describe('async func in both DEQ cores', () => {
  for (const core of ['indexing', 'sliced'] as const) {
    for (const gradKind of ['ift', 'hookIft', 'phantom'] as const) {
      it(`${core} core, ${gradKind}: an async cell trains to the sync cell's gradients; eval works`, async () => {
        const c = cell(5, 2, 21);
        const g = gradKind === 'phantom' ? { grad: 3, tau: 0.7 } : { ift: true, hookIft: gradKind === 'hookIft' };
        const deq = T.getDeq({ core, fSolver: 'anderson', fMaxIter: 15, fTol: 1e-12, bTol: 1e-12, bMaxIter: 40, ...g });
        const grads = async (kind: 'sync' | 'async'): Promise<number[]> => {
          const out = await deq.forward(c[kind](c.xs[0]), T.zeros([2, 5], f64));
          await lossAndGrads(c, out, 0);
          const r = [...arr(c.W.grad!), ...arr(c.U.grad!)];
          T.zeroGrad([c.W, c.U]);
          return r;
        };
        const a = await grads('sync'), b = await grads('async');
        for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i], 10);
        deq.eval();
        const e1 = await deq.forward(c.sync(c.xs[0]), T.zeros([2, 5], f64), { sradiusMode: true });
        const e2 = await deq.forward(c.async(c.xs[0]), T.zeros([2, 5], f64), { sradiusMode: true });
        expect(arr(e2.zOut[0])).toEqual(arr(e1.zOut[0]));
        expect(arr(e2.info.sradius)[0]).toBeCloseTo(arr(e1.info.sradius)[0], 10);
        deq.train();
      });
    }
  }

  it('multi-tensor states with an async cell', async () => {
    const c = cell(4, 2, 31);
    const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 12, ift: true, fTol: 1e-12, bTol: 1e-12, bMaxIter: 40 });
    const f = async ([a, b]: Tensor[]): Promise<Tensor[]> => {
      await tick();
      const y = c.sync(c.xs[0])(T.concat([a, b], 1));
      return [T.sliceAxis(y, 1, 0, 1), T.sliceAxis(y, 1, 1, 4)];
    };
    const out = await deq.forward(f, [T.zeros([2, 1], f64), T.zeros([2, 3], f64)]);
    expect(out.zOut[0].length).toBe(2);
    await T.concat(out.zOut[0], 1).sum().backward();
    const asyncW = arr(c.W.grad!);
    T.zeroGrad([c.W, c.U]);
    const ref = await deq.forward(c.sync(c.xs[0]), T.zeros([2, 4], f64));
    await ref.zOut[0].sum().backward();
    const refW = arr(c.W.grad!);
    for (let i = 0; i < refW.length; i++) expect(asyncW[i]).toBeCloseTo(refW[i], 10);
    T.zeroGrad([c.W, c.U]);
  });

  it('an async cell that rejects: the forward rejects with its error, nothing stray, the layer still works', async () => {
    const c = cell(4, 2, 41);
    for (const cfg of [{ core: 'indexing', ift: true }, { core: 'sliced', grad: 2 }] as const) {
      const deq = T.getDeq({ ...cfg, fSolver: 'anderson', fMaxIter: 8, fTol: 1e-15 });
      let n = 0;
      const counting = async (z: Tensor): Promise<Tensor> => { await tick(); n++; return c.sync(c.xs[0])(z); };
      await deq.forward(counting, T.zeros([2, 4], f64));
      const calls = n;
      expect(calls).toBeGreaterThan(5);
      n = 0;
      const failing = async (z: Tensor): Promise<Tensor> => { await tick(); if (++n > 4) throw new Error('boom in cell'); return c.sync(c.xs[0])(z); };
      await expect(deq.forward(failing, T.zeros([2, 4], f64))).rejects.toThrow('boom in cell');
      // Fails in the gradient functor (its last call, after the solve) too.
      n = 0;
      const lateFail = async (z: Tensor): Promise<Tensor> => { await tick(); if (++n === calls) throw new Error('late boom'); return c.sync(c.xs[0])(z); };
      await expect(deq.forward(lateFail, T.zeros([2, 4], f64))).rejects.toThrow('late boom');
      const wrong = async (): Promise<Tensor[]> => { await tick(); return [T.zeros([2, 4], f64)]; };
      await expect(deq.forward(wrong as unknown as (z: Tensor) => Promise<Tensor>, T.zeros([2, 4], f64))).rejects.toThrow(/expected the function to return a Tensor like zInit, received an array/);
      const ok = await deq.forward(c.async(c.xs[0]), T.zeros([2, 4], f64));
      expect(ok.zOut[0].requiresGrad).toBe(true);
    }
  });
});
