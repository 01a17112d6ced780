/**
 * Every oracle case: our solver, called directly with the case's eval-mode settings, against
 * what TorchDEQ returned (`forward_eval`) in float64 with the oracle README's tolerances, and
 * against the exact fixed point (`reference.z_star`) in float32.
 */
import { padLike } from './helpers/trace.js';
import { describe, it, expect } from 'vitest';
import { getSolver, type SolverOptions, type SolverResult } from '../src/index.js';
import { listCases, loadCase, zInit, flat, solverName, type OracleCase } from './helpers/oracle.js';
import { cellFor } from './helpers/cells.js';
import { BACKENDS, backendOf } from './helpers/backends.js';

/** The solver options TorchDEQ's eval forward used (`deq_config`), camelCased. */
export function evalOptions(c: OracleCase): SolverOptions {
  const r = c.deq_config.resolved;
  const o: SolverOptions = { maxIter: r.eval_f_max_iter, tol: r.f_tol, stopMode: r.f_stop_mode };
  const kw = c.deq_config.solver_kwargs;
  if (kw.m !== undefined) o.m = kw.m as number;
  if (kw.lam !== undefined) o.lam = kw.lam as number;
  if (kw.tau !== undefined) o.tau = kw.tau as number;
  if (kw.ls !== undefined) o.lineSearch = kw.ls as boolean;
  return o;
}

async function solveCase(c: OracleCase, dtype: 'float32' | 'float64', backendName: string): Promise<SolverResult & { calls: number }> {
  const backend = backendOf(backendName);
  const { f } = cellFor(c, { dtype, backend });
  const solver = getSolver(solverName(c.deq_config.resolved.f_solver));
  let calls = 0;
  const res = await solver((z) => { calls++; return f(z); }, zInit(c, { dtype, backend }), evalOptions(c));
  expect(res.z.backend).toBe(backend);
  return { ...res, calls };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const relMax = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  maxAbs(a, b) / Math.max(...Array.from(b, Math.abs));

for (const backend of BACKENDS) describe(`solvers against TorchDEQ forward_eval (float64, ${backend})`, () => {
  for (const id of listCases()) {
    it(id, async () => {
      const c = loadCase(id);
      const fe = c.forward_eval;
      const name = solverName(c.deq_config.resolved.f_solver);
      const res = await solveCase(c, 'float64', backend);
      const zTol = name === 'anderson' || name === 'broyden' ? 1e-8 : 1e-10;
      expect(relMax(res.z.dataSync(), flat(fe.z))).toBeLessThan(zTol);
      expect(maxAbs(res.stats.absLowest.dataSync(), fe.info.abs_lowest)).toBeLessThan(1e-12);
      expect(maxAbs(res.stats.relLowest.dataSync(), fe.info.rel_lowest)).toBeLessThan(1e-12);
      // Ours stop at the steps run; TorchDEQ's padding of the rest (lowest residual) is applied to compare.
      const width = fe.info.abs_trace[0].length;
      expect(res.stats.absTrace.shape[0]).toBe(c.cell.dims.B);
      expect(res.stats.relTrace.shape).toEqual(res.stats.absTrace.shape);
      expect(maxAbs(padLike(res.stats.absTrace, res.stats.absLowest, width), flat(fe.info.abs_trace))).toBeLessThan(1e-12);
      expect(maxAbs(padLike(res.stats.relTrace, res.stats.relLowest, width), flat(fe.info.rel_trace))).toBeLessThan(1e-12);
      if (name !== 'simple_fixed_point_iter') {
        const at = res.stats.absTrace.toArray() as number[][];
        for (const row of at) expect(row[0]).toBe(1e8);
      }
      const nstep = Array.from(res.stats.nstep.dataSync());
      fe.info.nstep.forEach((n, b) => {
        if (!fe.roundoff_limited[b]) expect(nstep[b]).toBe(n);
      });
      expect(res.stats.sradius.toArray()).toEqual([-1]);
      expect(res.calls).toBe(fe.counts.f_calls_nograd);
      const tol = c.deq_config.resolved.f_tol;
      const lowest = Array.from((c.deq_config.resolved.f_stop_mode === 'abs' ? res.stats.absLowest : res.stats.relLowest).dataSync());
      expect(res.status).toEqual(lowest.map((v) => (v < tol ? 'converged' : 'maxIter')));
    });
  }
});

for (const backend of BACKENDS) describe(`solvers against the exact fixed point (float32, ${backend})`, () => {
  for (const id of listCases()) {
    it(id, async () => {
      const c = loadCase(id);
      const res = await solveCase(c, 'float32', backend);
      expect(res.z.dtype).toBe('float32');
      // TorchDEQ's own distance to z* (float64) bounds what the algorithm can reach; float32 adds ~1e-6.
      const bound = Math.max(1e-5, 2 * c.forward_eval.max_abs_err_vs_reference_z);
      expect(maxAbs(res.z.dataSync(), flat(c.reference.z_star))).toBeLessThan(bound);
    });
  }
});
