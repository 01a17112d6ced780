/**
 * `checkEvery` and the device-side bookkeeping (Backend.trackStep) on the CPU backends: a solve
 * with checkEvery > 1 keeps its traces, lowest residuals, steps and best iterate on the backend
 * and reads the stop flag only at check points; since the device freezes the bookkeeping when
 * the stop test passes, the result equals the step-by-step (checkEvery 1, host-tracked) solve
 * exactly in float64: z, nstep, traces, lowest values, status, trajectory. Covers an early stop,
 * tol 0, returnFinal, NaN and diverging samples, rel mode, Broyden's no-progress stop.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor, SolverFunc, SolverOptions, SolverResult } from '../src/index.js';
import { BACKENDS } from './helpers/backends.js';
import { prng } from './helpers/ref.js';
import { solverStatus } from '../src/solvers/status.js';

const TRACKING = ['fixed_point_iter', 'anderson', 'broyden', 'gmres'];

function problem(d: number, B: number, seed: number, dtype: 'float32' | 'float64', backend: string): SolverFunc<Tensor> {
  const u = prng(seed);
  const r = (): number => u() - 0.5;
  const o = { dtype, backend };
  const A = T.tensor(Array.from({ length: d * d }, () => r() * 1.6 / Math.sqrt(d)), [d, d], o);
  const b = T.tensor(Array.from({ length: B * d }, () => r() * 2), [B, d], o);
  T.keep(A);
  T.keep(b);
  return (z) => T.tanh(T.add(T.matmul(z, A), b));
}

async function snapshot(res: SolverResult<Tensor>): Promise<Record<string, number[] | string[]>> {
  const s = res.stats;
  return {
    z: Array.from(await res.z.data()),
    absLowest: Array.from(await s.absLowest.data()),
    relLowest: Array.from(await s.relLowest.data()),
    absTrace: Array.from(await s.absTrace.data()),
    relTrace: Array.from(await s.relTrace.data()),
    nstep: Array.from(await s.nstep.data()),
    sradius: Array.from(await s.sradius.data()),
    status: await solverStatus(res),
    traj: (await Promise.all(res.trajectory.map(async (t) => Array.from(await t.data())))).flat(),
  };
}

const CASES: [string, SolverOptions][] = [
  ['an early stop', { maxIter: 40, tol: 1e-5 }],
  ['tol 0', { maxIter: 17, tol: 0 }],
  ['rel mode', { maxIter: 30, tol: 1e-4, stopMode: 'rel' }],
  ['returnFinal', { maxIter: 12, tol: 1e-2, returnFinal: true }],
  ['indexing past the stop', { maxIter: 40, tol: 1e-3, indexing: [2, 5, 9, 14, 30, 39] }],
];

describe('checkEvery > 1 (bookkeeping on the backend) equals the step-by-step solve', () => {
  for (const be of BACKENDS) {
    for (const name of TRACKING) {
      for (const [label, opts] of CASES) {
        it(`${be} ${name}: ${label}`, async () => {
          const f = problem(7, 5, 11, 'float64', be);
          const x0 = T.zeros([5, 7], { dtype: 'float64', backend: be });
          const solver = T.getSolver(name);
          const ref = await snapshot(await solver(f, x0, { ...opts, checkEvery: 1 }));
          for (const k of [2, 3, 8]) {
            const got = await snapshot(await solver(f, x0, { ...opts, checkEvery: k }));
            expect(got, `checkEvery ${k}`).toEqual(ref);
          }
        });
      }
    }
  }

  // With checkEvery > 1 Broyden's line search runs on the backend too (Backend.armijoStage, a
  // fixed number of trials): the same steps as the host search, so the same solve exactly.
  for (const be of BACKENDS) {
    for (const [label, opts] of CASES) {
      it(`${be} broyden lineSearch: ${label}`, async () => {
        const f = problem(7, 5, 23, 'float64', be);
        const x0 = T.zeros([5, 7], { dtype: 'float64', backend: be });
        const ref = await snapshot(await T.broyden(f, x0, { ...opts, lineSearch: true, checkEvery: 1 }));
        for (const k of [2, 5]) {
          const got = await snapshot(await T.broyden(f, x0, { ...opts, lineSearch: true, checkEvery: k }));
          expect(got, `checkEvery ${k}`).toEqual(ref);
        }
      });
    }
  }

  it('a batch whose samples turn NaN or diverge stops as step by step, statuses included', async () => {
    for (const name of TRACKING) {
      const x0 = T.tensor([[0.5], [1], [2]], undefined, { dtype: 'float64' });
      // Sample 0 converges, sample 1 becomes NaN after a few steps, sample 2 blows up.
      let calls = 0;
      const f = (z: Tensor): Tensor => {
        calls++;
        const mask = T.tensor([[0], [calls > 3 ? NaN : 0], [0]], undefined, { dtype: 'float64' });
        const grow = T.tensor([[0.5], [0.5], [3]], undefined, { dtype: 'float64' });
        return T.add(T.mul(z, grow), mask);
      };
      calls = 0;
      const ref = await snapshot(await T.getSolver(name)(f, x0, { maxIter: 25, tol: 1e-6, checkEvery: 1 }));
      calls = 0;
      const got = await snapshot(await T.getSolver(name)(f, x0, { maxIter: 25, tol: 1e-6, checkEvery: 4 }));
      expect(got, name).toEqual(ref);
      // Plain iteration cannot leave the growing sample's path (Anderson and Broyden solve it).
      if (name === 'fixed_point_iter') expect(ref.status, name).toEqual(['converged', 'nan', 'diverged']);
    }
  });

  it("broyden's no-progress stop happens at the same step", async () => {
    // A map Broyden cannot improve on past a floor: f(z) = z + c (never converges, flat residuals).
    const x0 = T.tensor([[0, 0], [1, 1]], undefined, { dtype: 'float64' });
    const f = (z: Tensor): Tensor => T.add(z, T.tensor([[1e-7, 1e-7], [1.2e-7, 1e-7]], undefined, { dtype: 'float64' }));
    const a = await T.broyden(f, x0, { maxIter: 60, tol: 1e-7, checkEvery: 1 });
    const b = await T.broyden(f, x0, { maxIter: 60, tol: 1e-7, checkEvery: 5 });
    expect(await snapshot(b)).toEqual(await snapshot(a));
  });

  it('reads the stop flag at most ceil(maxIter / checkEvery) + 1 times, never with tol 0', async () => {
    const be = T.getBackend();
    const orig = be.readAsync.bind(be);
    let reads = 0;
    be.readAsync = (s) => { reads++; return orig(s); };
    try {
      const f = problem(6, 4, 3, 'float64', be.name);
      const x0 = T.zeros([4, 6], { dtype: 'float64' });
      for (const name of TRACKING) {
        for (const [tol, k] of [[0, 4], [1e-9, 4], [1e-9, 1 + 6], [1e-3, 3]] as const) {
          reads = 0;
          await T.getSolver(name)(f, x0, { maxIter: 30, tol, checkEvery: k });
          if (tol === 0) expect(reads, `${name} tol 0`).toBe(0);
          else expect(reads, `${name} tol ${tol} checkEvery ${k}`).toBeLessThanOrEqual(Math.ceil(30 / k) + 1);
        }
      }
    } finally {
      be.readAsync = orig;
    }
  });

  it('checkEvery is validated and rejected by simple_fixed_point_iter', async () => {
    const x0 = T.zeros([1, 1], { dtype: 'float64' });
    await expect(T.anderson((z) => T.cos(z), x0, { checkEvery: 0 })).rejects.toThrow(/anderson: option 'checkEvery' expected an integer >= 1, received 0/);
    await expect(T.simpleFixedPointIter((z) => T.cos(z), x0, { checkEvery: 2 })).rejects.toThrow(/simple_fixed_point_iter: unknown option 'checkEvery'/);
  });
});
