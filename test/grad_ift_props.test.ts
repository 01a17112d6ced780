/**
 * IFT gradient properties beyond the oracle: central differences of the converged fixed point,
 * hook vs function variant, gmres vs fixed_point_iter as backward solver, several pending IFT
 * states before one backward (no shared hook slot), writer, retainGraph, memory, errors.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { backwardFactory, type BackwardFactoryOptions } from '../src/grad/index.js';
import { getSolver, registerSolver, listSolvers, type SolverStats } from '../src/solvers/index.js';
import { loadCase, flat, params as caseParams, type OracleCase } from './helpers/oracle.js';
import { makeCell, cellFor } from './helpers/cells.js';
import { gradSetup, oracleLoss, relErr, mat } from './helpers/grad_runs.js';

const arr = (t: Tensor): number[] => Array.from(t.dataSync());
const f64 = { dtype: 'float64' as const };

/** A tight forward solve of the case's cell (no graph). */
async function fixedPoint(f: (z: Tensor) => Tensor, c: OracleCase): Promise<Tensor> {
  const res = await getSolver('fixed_point_iter')((z: Tensor) => T.noGrad(() => f(z)), mat(c.z_init), { maxIter: 1000, tol: 1e-15 });
  return res.z;
}

/** IFT gradients of L = sum(z* c) for the case, with the given factory options, from a tight solve. */
async function iftGrads(c: OracleCase, opts: BackwardFactoryOptions): Promise<Record<string, number[]>> {
  const s = gradSetup(c);
  const z = await fixedPoint(s.f, c);
  const [y] = await backwardFactory({ gradType: 'ift', ...opts })(undefined, s.f, z);
  await oracleLoss([y], s.c, [1]).backward();
  return s.grads();
}

const TIGHT = { maxIter: 300, tol: 1e-14 };

describe('IFT vs finite differences of the converged fixed point', () => {
  for (const id of ['tanh8_fpi_abs', 'gated_fpi_abs', 'ln_fpi_abs']) {
    it(`${id}: directional derivatives along random directions of every parameter and x`, async () => {
      const c = loadCase(id);
      const g = await iftGrads(c, { bSolverKwargs: TIGHT });
      const base = caseParams(c, f64);
      const xv = mat(c.x);
      const loss = async (name: string, dir: number[], h: number): Promise<number> => {
        const move = (t: Tensor) => T.tensor(arr(t).map((v, i) => v + h * dir[i]), t.shape as number[], f64);
        const P = { ...base };
        if (name !== 'x') P[name] = move(base[name]);
        const f = makeCell(c.cell.type, P, name === 'x' ? move(xv) : xv, c.cell.constants);
        const z = await fixedPoint(f, c);
        return T.noGrad(() => z.mul(mat(c.loss.c)).sum().item());
      };
      let seed = 3;
      for (const name of Object.keys(g)) {
        const dir = Array.from(T.randn([g[name].length], { ...f64, seed: seed++ }).dataSync());
        const h = 1e-5;
        const fd = ((await loss(name, dir, h)) - (await loss(name, dir, -h))) / (2 * h);
        const an = g[name].reduce((a, v, i) => a + v * dir[i], 0);
        expect(Math.abs(fd - an), `${id} ${name}: fd ${fd} vs ift ${an}`).toBeLessThanOrEqual(2e-8 * Math.max(1, Math.abs(an)));
      }
    });
  }
});

describe('IFT variants and backward solvers against each other', () => {
  const c = loadCase('mlp2_fpi_abs');

  it('hook (J at z*) and function (J at f(z*)) variants agree at a converged fixed point, and match the exact gradient', async () => {
    const fn = await iftGrads(c, { hookIft: false, bSolverKwargs: TIGHT });
    const hook = await iftGrads(c, { hookIft: true, bSolverKwargs: TIGHT });
    for (const k of Object.keys(fn)) {
      expect(relErr(hook[k], fn[k]), k).toBeLessThanOrEqual(1e-12);
      expect(relErr(fn[k], flat(c.reference.ift_grads[k])), k).toBeLessThanOrEqual(1e-11);
    }
  });

  it('the variants differ where they should: at a poor estimate J is taken at different points', async () => {
    const s1 = gradSetup(c), s2 = gradSetup(c);
    const rough = mat(c.z_init); // z = 0, far from z*
    const [y1] = await backwardFactory({ gradType: 'ift', bSolverKwargs: TIGHT })(undefined, s1.f, rough);
    const [y2] = await backwardFactory({ gradType: 'ift', hookIft: true, bSolverKwargs: TIGHT })(undefined, s2.f, rough);
    expect(arr(y1)).toEqual(arr(y2)); // same output f(z)
    await oracleLoss([y1], s1.c, [1]).backward();
    await oracleLoss([y2], s2.c, [1]).backward();
    const g1 = s1.grads(), g2 = s2.grads();
    for (const k of ['U', 'W2', 'x']) expect(relErr(g1[k], g2[k]), k).toBeGreaterThan(1e-3);
  });

  it('gmres as backward solver matches fixed_point_iter (both variants, several cells)', async () => {
    for (const id of ['tanh16_fpi_abs', 'gated_fpi_abs', 'res_fpi_abs']) {
      const cc = loadCase(id);
      for (const hookIft of [false, true]) {
        const fpi = await iftGrads(cc, { hookIft, bSolver: 'fixed_point_iter', bSolverKwargs: TIGHT });
        const stats: SolverStats[] = [];
        const s = gradSetup(cc);
        const z = await fixedPoint(s.f, cc);
        const [y] = await backwardFactory({ gradType: 'ift', hookIft, bSolver: 'gmres', bSolverKwargs: { tol: 1e-13, maxIter: 100, restart: 10 } })(
          undefined, s.f, z, { writer: (st) => { stats.push(st); } });
        await oracleLoss([y], s.c, [1]).backward();
        const gm = s.grads();
        for (const k of Object.keys(fpi)) expect(relErr(gm[k], fpi[k]), `${id} ${hookIft} ${k}`).toBeLessThanOrEqual(1e-11);
        // gmres needs fewer J^T products than fixed-point iteration on the same system
        expect(Math.max(...arr(stats[0].nstep))).toBeLessThan(40);
        for (const t of Object.values(stats[0])) t.dispose();
      }
    }
  });

  it('every solver option passes through to the backward solver (anderson m/lam, fixed_point_iter tau)', async () => {
    const want = await iftGrads(c, { bSolverKwargs: TIGHT });
    const damped = await iftGrads(c, { bSolverKwargs: { ...TIGHT, maxIter: 600, tau: 0.5 } });
    const and = await iftGrads(c, { bSolver: 'anderson', bSolverKwargs: { maxIter: 60, tol: 1e-13, m: 4, lam: 1e-9 } });
    for (const k of Object.keys(want)) {
      expect(relErr(damped[k], want[k]), k).toBeLessThanOrEqual(1e-11);
      expect(relErr(and[k], want[k]), k).toBeLessThanOrEqual(1e-9);
    }
    await expect(iftGrads(c, { bSolverKwargs: { maxIter: 10, m: 3 } })).rejects.toThrow(/fixed_point_iter: unknown option 'm'; valid options are/);
  });
});

describe('float32', () => {
  it('IFT (both variants, fixed_point_iter and gmres) and phantom gradients match the float64 references at float32 tolerances', async () => {
    const c = loadCase('gated_fpi_abs');
    const run = async (opts: BackwardFactoryOptions, z0: number[][]): Promise<Record<string, number[]>> => {
      const cell = cellFor(c, { dtype: 'float32', requiresGrad: true });
      const cv = T.tensor(c.loss.c, undefined, { dtype: 'float32' });
      const outs = await backwardFactory(opts)(undefined, cell.f, T.tensor(z0, undefined, { dtype: 'float32' }));
      await oracleLoss(outs, cv, outs.map((_, i) => 0.8 ** (outs.length - 1 - i))).backward();
      const leaves: Record<string, Tensor> = { ...cell.params, x: cell.x };
      return Object.fromEntries(Object.entries(leaves).map(([k, t]) => [k, arr(t.grad!)]));
    };
    const b32 = { maxIter: 100, tol: 1e-6 };
    for (const opts of [{ bSolverKwargs: b32 }, { hookIft: true, bSolverKwargs: b32 }, { bSolver: 'gmres', bSolverKwargs: b32 }] as BackwardFactoryOptions[]) {
      const g = await run({ gradType: 'ift', ...opts }, c.reference.z_star);
      for (const [k, want] of Object.entries(c.reference.ift_grads)) expect(relErr(g[k], flat(want)), `${JSON.stringify(opts)} ${k}`).toBeLessThanOrEqual(1e-3);
    }
    const ph = c.reference.phantom['k5_tau1_suploc1-3'];
    const g = await run({ gradType: 5, tau: 1, supLoc: [1, 3] }, c.reference.z_star);
    for (const [k, want] of Object.entries(ph.grads)) expect(relErr(g[k], flat(want)), k).toBeLessThanOrEqual(1e-4);
  });
});

describe('IFT functor semantics', () => {
  const c = loadCase('tanh8_fpi_abs');

  for (const hookIft of [false, true]) {
    it(`${hookIft ? 'hook' : 'function'} variant: two pending IFT states before one backward keep both gradients`, async () => {
      // Alone: gradients of each state's loss; together: their sum (TorchDEQ's one-slot hook drops one).
      const produce = backwardFactory({ gradType: 'ift', hookIft, bSolverKwargs: TIGHT });
      const trainer = { name: 'layer' };
      const s = gradSetup(c);
      const z = await fixedPoint(s.f, c);
      const c2 = T.tensor(arr(s.c).map((v, i) => Math.cos(i) - v), s.c.shape as number[], f64);
      const alone = async (cv: Tensor) => {
        const [y] = await produce(trainer, s.f, z);
        await y.mul(cv).sum().backward();
        const g = s.grads();
        s.zeroGrads();
        return g;
      };
      const g1 = await alone(s.c), g2 = await alone(c2);
      let writes = 0;
      const [ya] = await produce(trainer, s.f, z, { writer: (st) => { writes++; for (const t of Object.values(st)) t.dispose(); } });
      const [yb] = await produce(trainer, s.f, z, { writer: (st) => { writes++; for (const t of Object.values(st)) t.dispose(); } });
      await ya.mul(s.c).sum().add(yb.mul(c2).sum()).backward();
      const both = s.grads();
      expect(writes).toBe(2);
      for (const k of Object.keys(both)) {
        const sum = g1[k].map((v, i) => v + g2[k][i]);
        expect(relErr(both[k], sum), k).toBeLessThanOrEqual(1e-13);
      }
      expect(Object.keys(trainer)).toEqual(['name']); // nothing stored on the trainer
    });

    it(`${hookIft ? 'hook' : 'function'} variant: retainGraph allows a second backward`, async () => {
      const s = gradSetup(c);
      const z = await fixedPoint(s.f, c);
      const [y] = await backwardFactory({ gradType: 'ift', hookIft, bSolverKwargs: TIGHT })(undefined, s.f, z);
      const L = y.mul(s.c).sum();
      await L.backward(undefined, { retainGraph: true });
      const once = s.grads();
      await L.backward();
      const twice = s.grads();
      for (const k of Object.keys(once)) expect(relErr(twice[k], once[k].map((v) => 2 * v)), k).toBeLessThanOrEqual(1e-14);
    });
  }

  it('a training step leaves no storage behind, without any tidy around it (every variant and backward solver)', async () => {
    const cl = loadCase('ln_fpi_abs');
    const s = gradSetup(cl);
    const z = mat(cl.reference.z_star);
    const configs: BackwardFactoryOptions[] = [
      { gradType: 3, tau: 0.5, supLoc: [1] }, { gradType: 'ift' }, { gradType: 'ift', hookIft: true },
      { gradType: 'ift', bSolver: 'gmres' }, { gradType: 'ift', hookIft: true, bSolver: 'anderson' }, { gradType: 'ift', bSolver: 'broyden' },
    ];
    for (const opts of configs) {
      const produce = backwardFactory(opts);
      const step = async (): Promise<void> => {
        const outs = await produce(undefined, s.f, z);
        const L = T.tidy(() => oracleLoss(outs, s.c, outs.map(() => 1)));
        await L.backward();
        s.zeroGrads();
        for (const t of outs) t.dispose();
        L.dispose();
      };
      await step();
      const before = T.memory();
      await step();
      const after = T.memory();
      expect(after.numBytes, JSON.stringify(opts)).toBe(before.numBytes);
      expect(after.numTensors, JSON.stringify(opts)).toBe(before.numTensors);
    }
  });

  it('peak memory of a training step does not grow with the forward iterations (IFT; phantom grows with k only)', async () => {
    const cl = loadCase('tanh16_fpi_abs');
    const s = gradSetup(cl);
    let peak = 0;
    const sample = () => { peak = Math.max(peak, T.memory().numBytes); };
    const f = (z: Tensor): Tensor => { const y = T.tidy(() => s.f(z)); sample(); return y; };
    if (!listSolvers().includes('test_sampling_fpi')) {
      registerSolver('test_sampling_fpi', (func, x0, o) => getSolver('fixed_point_iter')(async (g) => { const r = await func(g); sample(); return r; }, x0, o));
    }
    const stepPeak = async (opts: BackwardFactoryOptions, fMaxIter: number): Promise<number> => {
      const base = T.memory().numBytes;
      peak = base;
      const res = await getSolver('fixed_point_iter')((z: Tensor) => T.noGrad(() => f(z)), mat(cl.z_init), { maxIter: fMaxIter, tol: 0 });
      for (const t of Object.values(res.stats)) t.dispose();
      const outs = await backwardFactory(opts)(undefined, f, res.z);
      res.z.dispose();
      sample();
      const L = T.tidy(() => oracleLoss(outs, s.c, outs.map(() => 1)));
      await L.backward();
      sample();
      s.zeroGrads(); L.dispose();
      for (const t of outs) t.dispose();
      return peak - base;
    };
    const bk = { bSolver: 'test_sampling_fpi', bSolverKwargs: { maxIter: 30, tol: 1e-8 } };
    for (const opts of [{ gradType: 'ift', ...bk }, { gradType: 'ift', hookIft: true, ...bk }, { gradType: 3 }] as BackwardFactoryOptions[]) {
      const p5 = await stepPeak(opts, 5), p60 = await stepPeak(opts, 60);
      expect(p60, JSON.stringify(opts)).toBe(p5);
    }
    expect(await stepPeak({ gradType: 6 }, 5)).toBeGreaterThan(await stepPeak({ gradType: 3 }, 60));
  });

  it('treats zPred as detached and leaves it untouched', async () => {
    const s = gradSetup(c);
    const z = await fixedPoint(s.f, c);
    const zGraph = s.f(z); // carries a graph to every parameter
    const before = arr(zGraph);
    const [y] = await backwardFactory({ gradType: 'ift', bSolverKwargs: TIGHT })(undefined, s.f, zGraph);
    await y.mul(s.c).sum().backward();
    const got = s.grads();
    expect(arr(zGraph)).toEqual(before);
    const want = await iftGrads(c, { bSolverKwargs: TIGHT });
    for (const k of Object.keys(want)) expect(relErr(got[k], want[k]), k).toBeLessThanOrEqual(1e-12);
  });

  it('refuses createGraph (the implicit gradient is not differentiable again)', async () => {
    const s = gradSetup(c);
    const [y] = await backwardFactory({ gradType: 'ift' })(undefined, s.f, mat(c.reference.z_star));
    await expect(T.grad(y.mul(s.c).sum(), [s.params.W], { createGraph: true }))
      .rejects.toThrow(/iftGrad: expected a first-order backward, received createGraph: true/);
  });

  it('rejects unknown backward solvers at construction, listing the registered ones', () => {
    expect(() => backwardFactory({ gradType: 'ift', bSolver: 'newton' })).toThrow(/getSolver: unknown solver "newton"; registered solvers are .*'gmres'/);
    expect(() => backwardFactory({ gradType: 'ift', hookIft: 'yes' as never })).toThrow(/option 'hookIft' expected a boolean, received "yes"/);
    expect(() => backwardFactory({ gradType: 'ift', bSolverKwargs: 3 as never })).toThrow(/option 'bSolverKwargs' expected an object of solver options, received 3/);
  });
});
