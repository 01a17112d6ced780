/**
 * Memory on the error paths and for large bounds: a failed solve, DEQ forward or backward
 * frees everything it allocated (checked with `memory()` at many failure points, also inside
 * `tidy`), solver traces are as wide as the steps actually run (a huge `maxIter` costs
 * nothing), and a bound that cannot be met is a clear error naming the option.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { rejectsWith } from './helpers/throws.js';

const f64 = { dtype: 'float64' as const };
const SOLVERS = ['fixed_point_iter', 'simple_fixed_point_iter', 'anderson', 'broyden'] as const;

/** A contraction z -> tanh(W z + u) on (2, 3), counting calls; throws at call `failAt`. */
function cell(failAt = Infinity): { f: (z: T.Tensor) => T.Tensor; W: T.Tensor; u: T.Tensor; dispose: () => void } {
  const W = T.tensor([[0.5, -0.2, 0.1], [0.3, 0.4, -0.3], [-0.1, 0.2, 0.6]], undefined, f64);
  const u = T.tensor([[1, 0, -1], [0.5, 0.5, 0.5]], undefined, f64);
  let calls = 0;
  const f = (z: T.Tensor): T.Tensor => {
    if (++calls >= failAt) throw new Error(`boom at call ${calls}`);
    return T.tanh(T.add(T.linear(z, W), u));
  };
  return { f, W, u, dispose: () => { W.dispose(); u.dispose(); } };
}

const live = (): number => T.memory().numTensors;

describe('solver traces grow with the steps run', () => {
  // (simple_fixed_point_iter runs exactly maxIter steps by design: not here)
  for (const name of ['fixed_point_iter', 'anderson', 'broyden', 'gmres'] as const) {
    it(`${name}: maxIter 1e7 and 1e9 give traces as wide as the steps run, nothing leaks`, async () => {
      const c = cell();
      const before = live();
      for (const maxIter of [1e7, 1e9]) {
        const z0 = T.zeros([2, 3], f64);
        const solve = name === 'gmres'
          ? T.gmres((g: T.Tensor) => T.add(T.mul(g, 0.5), 1), z0, { maxIter, tol: 1e-10 })
          : T.getSolver(name)(c.f, z0, { maxIter, tol: 1e-10, ...(name === 'broyden' ? { memory: 30 } : {}) });
        const res = await solve;
        const width = res.stats.absTrace.shape[1];
        expect(width).toBeLessThan(200);
        expect(res.stats.relTrace.shape).toEqual([2, width]);
        expect(width).toBeGreaterThan(1);
        expect(res.status).toEqual(['converged', 'converged']);
        for (const t of [z0, res.z, ...Object.values(res.stats)]) t.dispose();
      }
      expect(live()).toBe(before);
      c.dispose();
    });
  }

  it('a maxIter beyond 2^53 - 1 is a clear error naming maxIter; broyden history that cannot fit names memory', async () => {
    const c = cell();
    const z0 = T.zeros([2, 3], f64);
    const before = live();
    for (const name of [...SOLVERS, 'gmres']) {
      await rejectsWith(T.getSolver(name)(c.f, z0, { maxIter: 2 ** 60 }), new RegExp(`^${name}:`), /maxIter/, /received 1152921504606847000/);
    }
    await rejectsWith(T.getSolver('broyden')(c.f, z0, { maxIter: 1e9 }), /^broyden: option 'memory'/, /maxIter/, /needs .*GiB/);
    await rejectsWith(T.anderson(c.f, z0, { m: 1e9 }), /^anderson: option 'm' \(1000000000\)/, /needs .*GiB/, /holds at most/);
    expect(live()).toBe(before);
    // The library still works.
    const ok = await T.anderson(c.f, z0, { maxIter: 50, tol: 1e-6 });
    expect(ok.status).toEqual(['converged', 'converged']);
    for (const t of [z0, ok.z, ...Object.values(ok.stats)]) t.dispose();
    c.dispose();
  });
});

describe('error paths free what they allocated', () => {
  for (const name of [...SOLVERS, 'gmres']) {
    it(`${name}: a throwing writer leaves nothing alive`, async () => {
      const c = cell();
      const z0 = T.zeros([2, 3], f64);
      const before = live();
      await rejectsWith(T.getSolver(name)(c.f, z0, { maxIter: 20, indexing: [1, 2], writer: () => { throw new Error('writer says no'); } }), /writer says no/);
      expect(live()).toBe(before);
      for (const inTidy of [false, true]) {
        const run = () => T.getSolver(name)(c.f, z0, { maxIter: 20, writer: () => { throw new Error('no'); } });
        await rejectsWith(inTidy ? T.tidy(run) : run(), /no/);
        expect(live()).toBe(before);
      }
      z0.dispose();
      c.dispose();
    });

    it(`${name}: func throwing at any step (with indexing snapshots) leaves nothing alive`, async () => {
      const before = live();
      for (const failAt of [1, 2, 3, 5, 8, 13]) {
        const c = cell(failAt);
        const z0 = T.zeros([2, 3], f64);
        const mid = live();
        await rejectsWith(T.getSolver(name)(c.f, z0, { maxIter: 30, tol: 0, indexing: [1, 2, 3, 4] }), /boom/);
        expect(live(), `failure at call ${failAt}`).toBe(mid);
        z0.dispose();
        c.dispose();
      }
      expect(live()).toBe(before);
    });
  }

  it('a DEQ forward that fails (func throws, bad solver kwargs) leaves nothing alive, in and out of tidy', async () => {
    const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 20, fTol: 1e-14, ift: true });
    const W = T.tensor([[0.5, -0.2], [0.3, 0.4]], undefined, { ...f64, requiresGrad: true });
    const before = live();
    for (const failAt of [1, 2, 3, 4]) {
      for (const inTidy of [false, true]) {
        let calls = 0;
        const f = (z: T.Tensor): T.Tensor => { if (++calls >= failAt) throw new Error('boom'); return T.tanh(T.linear(z, W)); };
        const z0 = T.zeros([2, 2], f64);
        const run = () => deq.forward(f, z0);
        await rejectsWith(inTidy ? T.tidy(run) : run(), /boom/);
        z0.dispose();
        expect(live(), `failAt ${failAt}, tidy ${inTidy}`).toBe(before);
      }
    }
    const z0 = T.zeros([2, 2], f64);
    await rejectsWith(deq.forward((z: T.Tensor) => z, z0, { solverKwargs: { fMaxIter: NaN } }), /fMaxIter/, /NaN/);
    await rejectsWith(deq.forward((z: T.Tensor) => z, [z0, z0] as never, { solverKwargs: { m: 1e9 } }), /^anderson: option 'm'/);
    z0.dispose();
    expect(live()).toBe(before);
    W.dispose();
  });

  it('a DEQ forward that succeeds leaves only its outputs and their graph; after backward nothing', async () => {
    const W = T.tensor([[0.5, -0.2], [0.3, 0.4]], undefined, { ...f64, requiresGrad: true });
    for (const [opts, training] of [[{ ift: true }, true], [{ grad: 3 }, true], [{ core: 'indexing', indexing: [2, 5], ift: true }, true], [{ nStates: 2, grad: 2 }, true], [{}, false]] as const) {
      const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 20, ...opts } as T.DEQOptions);
      if (!training) deq.eval();
      const z0 = T.zeros([2, 2], f64);
      const before = live();
      const { zOut, info } = await deq.forward((z: T.Tensor) => T.tanh(T.linear(z, W)), z0);
      for (const t of Object.values(info).filter((t): t is T.Tensor => t instanceof T.Tensor)) t.dispose();
      if (training) {
        const loss = T.tidy(() => T.sum(T.stack(zOut.map((z) => T.sum(z)))));
        await loss.backward();
        loss.dispose();
        W.grad?.dispose();
        W.grad = null;
      }
      for (const t of zOut) t.dispose();
      expect(live(), JSON.stringify(opts)).toBe(before);
      z0.dispose();
    }
    W.dispose();
  });

  it('a func that throws inside an IFT backward leaves nothing alive (also inside tidy)', async () => {
    const W = T.tensor([[0.5, -0.2], [0.3, 0.4]], undefined, { ...f64, requiresGrad: true });
    for (const inTidy of [false, true]) {
      for (const failAfter of [0]) { // the IFT backward evaluates func once (then reuses its graph)
        const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 20, ift: true, bMaxIter: 20, bTol: 1e-14 });
        let armed = false, calls = 0;
        const f = (z: T.Tensor): T.Tensor => {
          if (armed && calls++ >= failAfter) throw new Error('boom in backward');
          return T.tanh(T.linear(z, W));
        };
        const z0 = T.zeros([2, 2], f64);
        const before = live();
        const { zOut, info } = await deq.forward(f, z0);
        const loss = T.tidy(() => T.sum(T.square(zOut[zOut.length - 1])));
        armed = true;
        const run = () => loss.backward();
        await rejectsWith(inTidy ? T.tidy(run) : run(), /boom in backward/);
        // The failed pass released the graph (its first part was already consumed).
        await rejectsWith(loss.backward(), /already freed/);
        W.grad?.dispose();
        W.grad = null;
        for (const t of [...zOut, ...Object.values(info).filter((t): t is T.Tensor => t instanceof T.Tensor), loss]) t.dispose();
        expect(live(), `failAfter ${failAfter}, tidy ${inTidy}`).toBe(before);
        z0.dispose();
      }
    }
    W.dispose();
  });
});
