/**
 * IFT gradients through `backwardFactory({ gradType: 'ift' })` (function and hook variants):
 * every IFT run of the TorchDEQ oracle (outputs, gradients, backward-solve stats), the exact
 * implicit gradient, TorchDEQ's crashing `*_bsimple_ERROR` runs, the phantom runs that need a
 * training solve of their own, finite differences of the converged fixed point, variants and
 * backward solvers (gmres) against each other.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { backwardFactory, type BackwardFactoryOptions } from '../src/grad/index.js';
import { getSolver, type SolverStats } from '../src/solvers/index.js';
import { listCases, loadCase, flat, solverName, type OracleCase, type Run } from './helpers/oracle.js';
import { gradSetup, oracleLoss, weightsFor, relErr, worstRel, mat, phantomOf, trainSolveIsEvalSolve } from './helpers/grad_runs.js';

const arr = (t: Tensor): number[] => Array.from(t.dataSync());
const cases = listCases().map(loadCase);

/** TorchDEQ's backward settings: only max_iter, tol and stop_mode reach its backward solver. */
function bKwargs(c: OracleCase) {
  const r = c.deq_config.resolved;
  return { maxIter: r.b_max_iter, tol: r.b_tol, stopMode: r.b_stop_mode };
}

/** The run's backward solver name (TorchDEQ default fixed_point_iter). */
function bSolverOf(run: Run): string {
  return String((run.get_deq_kwargs as Record<string, unknown>).b_solver ?? 'fixed_point_iter');
}

/** The training solve's estimate: forward_eval.z when it is the same solve, else our own solve. */
async function trainingEstimate(c: OracleCase): Promise<number[][]> {
  if (!('eval_factor' in c.deq_config.get_deq_kwargs)) return c.forward_eval.z;
  const r = c.deq_config.resolved;
  const { f } = gradSetup(c);
  const sk = c.deq_config.solver_kwargs;
  const res = await getSolver(solverName(r.f_solver))((z: Tensor) => T.noGrad(() => f(z)), mat(c.z_init),
    { maxIter: r.f_max_iter, tol: r.f_tol, stopMode: r.f_stop_mode, ...('tau' in sk ? { tau: Number(sk.tau) } : {}) });
  return res.z.toArray() as number[][];
}

interface Outcome { outs: number[][]; grads: Record<string, number[]>; stats: SolverStats[]; }

async function runFunctor(c: OracleCase, z0: number[][], opts: BackwardFactoryOptions): Promise<Outcome> {
  const s = gradSetup(c);
  const stats: SolverStats[] = [];
  const outs = await backwardFactory(opts)(undefined, s.f, mat(z0), { writer: (st) => { stats.push(st); } });
  await oracleLoss(outs, s.c, weightsFor(outs.length)).backward();
  return { outs: outs.map(arr), grads: s.grads(), stats };
}

const IFT_RUN = /^ift(_hook)?(_banderson|_bbroyden|_core_indexing)?$/;

describe('IFT vs the TorchDEQ oracle (float64)', () => {
  it('every IFT run: output, gradients (TorchDEQ and exact), backward-solve stats', async () => {
    const seen = new Map<string, number>();
    const worst = new Map<string, number>();
    for (const c of cases) {
      const z0 = await trainingEstimate(c);
      for (const run of c.runs) {
        if (!IFT_RUN.test(run.name)) continue;
        if (!trainSolveIsEvalSolve(c, run) && !('eval_factor' in c.deq_config.get_deq_kwargs)) continue;
        const kw = run.get_deq_kwargs as Record<string, unknown>;
        const bSolver = bSolverOf(run);
        const r = await runFunctor(c, z0, { gradType: 'ift', hookIft: Boolean(kw.hook_ift), bSolver, bSolverKwargs: bKwargs(c) });
        const tag = `${c.case_id} ${run.name}`;
        // output: f(z_s)
        const eo = relErr(r.outs[0], flat(run.outputs![0]));
        if (eo > 1e-12) throw new Error(`${tag}: output rel err ${eo}`);
        // gradients vs TorchDEQ (README: 1e-10 for fixed_point_iter, 1e-8 for anderson/broyden backward solves)
        const tol = bSolver === 'fixed_point_iter' ? 1e-10 : 1e-8;
        const g = worstRel(r.grads, run.grads!);
        if (!(g.err <= tol)) throw new Error(`${tag}: grad '${g.key}' rel err ${g.err} > ${tol}`);
        worst.set(bSolver, Math.max(worst.get(bSolver) ?? 0, g.err));
        // vs the exact implicit gradient: within 10x TorchDEQ's own deviation, or 1e-9
        for (const [k, want] of Object.entries(c.reference.ift_grads)) {
          const e = relErr(r.grads[k], flat(want));
          const allowed = Math.max(1e-9, 10 * run.max_rel_diff_vs_reference![k]);
          if (!(e <= allowed)) throw new Error(`${tag}: '${k}' vs exact IFT gradient rel err ${e} > ${allowed}`);
        }
        // one backward solve, with TorchDEQ's step count and lowest residual
        expect(r.stats.length, tag).toBe(1);
        const info = run.backward_solver_info![0];
        const st = r.stats[0];
        expect(arr(st.nstep), tag).toEqual(info.nstep);
        expect(st.absTrace.shape[1], tag).toBeLessThanOrEqual(info.trace_len); // ours: the steps run, TorchDEQ's: padded
        const dl = Math.max(...arr(st.absLowest).map((v, b) => Math.abs(v - info.abs_lowest[b])));
        if (dl > 1e-12) throw new Error(`${tag}: backward abs_lowest differs by ${dl}`);
        seen.set(run.name, (seen.get(run.name) ?? 0) + 1);
      }
    }
    // every such run of the 43 cases (the 2 broyden ift_core_indexing runs sample a different
    // solver step: that is the DEQ core's business, tested with the cores)
    expect(Object.fromEntries(seen)).toEqual({
      ift: 43, ift_hook: 41, ift_banderson: 37, ift_hook_banderson: 5, ift_bbroyden: 37, ift_hook_bbroyden: 5, ift_core_indexing: 4,
    });
    expect(worst.get('fixed_point_iter')!).toBeLessThanOrEqual(1e-10);
  });

  it('the *_bsimple_ERROR runs (TorchDEQ raises TypeError in backward) work and give the implicit gradient', async () => {
    let n = 0;
    for (const c of cases) {
      for (const run of c.runs) {
        if (!run.name.endsWith('_bsimple_ERROR')) continue;
        expect(run.error, run.name).toMatch(/TypeError/);
        const hook = run.name.startsWith('ift_hook');
        const twin = c.runs.find((q) => q.name === (hook ? 'ift_hook' : 'ift'))!;
        const r = await runFunctor(c, c.forward_eval.z, { gradType: 'ift', hookIft: hook, bSolver: 'simple_fixed_point_iter', bSolverKwargs: bKwargs(c) });
        // simple_fixed_point_iter runs all b_max_iter steps: at least as accurate as TorchDEQ's fixed_point_iter backward
        const g = worstRel(r.grads, twin.grads!);
        if (!(g.err <= 1e-9)) throw new Error(`${c.case_id} ${run.name}: grad '${g.key}' vs ${twin.name} rel err ${g.err}`);
        for (const [k, want] of Object.entries(c.reference.ift_grads)) {
          const e = relErr(r.grads[k], flat(want));
          expect(e, `${c.case_id} ${run.name} ${k}`).toBeLessThanOrEqual(Math.max(1e-9, 10 * twin.max_rel_diff_vs_reference![k]));
        }
        expect(arr(r.stats[0].nstep)).toEqual(new Array(c.cell.dims.B).fill(bKwargs(c).maxIter));
        n++;
      }
    }
    expect(n).toBe(4);
  });

  it('phantom runs whose training solve differs from the eval solve (eval_factor): our own training solve', async () => {
    const c = loadCase('tanh8_fpi_evalfactor2');
    const z0 = await trainingEstimate(c);
    let n = 0;
    for (const run of c.runs) {
      if (!(run.name.startsWith('pg_') || run.name === 'default_grad')) continue;
      const { k, tau, supGap, supLoc } = phantomOf(run);
      const r = await runFunctor(c, z0, { gradType: k, tau, supGap, supLoc });
      r.outs.forEach((o, i) => expect(relErr(o, flat(run.outputs![i])), run.name).toBeLessThanOrEqual(1e-12));
      const g = worstRel(r.grads, run.grads!);
      expect(g.err, `${run.name} ${g.key}`).toBeLessThanOrEqual(1e-10);
      n++;
    }
    expect(n).toBe(3);
  });
});
