/**
 * Every training run and the eval forward of every TorchDEQ oracle case, through `getDeq`
 * exactly as a TorchDEQ user calls `get_deq(...)` then `deq(f, z_init, solver_kwargs=...)`:
 * outputs, gradients of every parameter and x, training-solve info and backward-solve info,
 * in float64 against TorchDEQ's numbers with the oracle README's tolerances.
 */
import { describe, it, expect } from 'vitest';
import { getDeq, fromTorchDEQArgs, tidy, memory, type Tensor, type SolverStats } from '../src/index.js';
import { listCases, loadCase, flat, zInit, type OracleCase, type Run } from './helpers/oracle.js';
import { gradSetup, oracleLoss, relErr } from './helpers/grad_runs.js';

/** TorchDEQ solver kwargs (snake_case) -> ours. */
function solverKwargs(c: OracleCase): Record<string, unknown> {
  const map: Record<string, string> = { m: 'm', lam: 'lam', tau: 'tau', ls: 'lineSearch', LBFGS_thres: 'memory' };
  return Object.fromEntries(Object.entries(c.deq_config.solver_kwargs).map(([k, v]) => {
    if (!map[k]) throw new Error(`unmapped solver kwarg ${k}`);
    return [map[k], v];
  }));
}

const QUASI_NEWTON = ['anderson', 'broyden'];
/** The README's replication tolerance: 1e-10 for fixed-point/phantom paths, 1e-8 with anderson/broyden. */
function tolFor(c: OracleCase, run: Run): number {
  const kw = run.get_deq_kwargs as Record<string, unknown>;
  const fs = String(kw.f_solver ?? 'fixed_point_iter');
  const bs = String(kw.b_solver ?? 'fixed_point_iter');
  const usesIft = kw.ift === true || kw.hook_ift === true;
  return QUASI_NEWTON.includes(fs) || (usesIft && QUASI_NEWTON.includes(bs)) ? 1e-8 : 1e-10;
}

const flatOf = (t: Tensor): number[] => Array.from(t.dataSync());

/**
 * TorchDEQ bugs we fix change what some runs return (README "Differences from TorchDEQ"):
 * - indexing core, solver stopped before a sampled step (TorchDEQ issue #7): TorchDEQ returns
 *   fewer outputs; we serve unreached steps with the best estimate, so every functor runs.
 * - broyden in the indexing core samples one step early in TorchDEQ.
 */
function divergesFromTorchDEQ(c: OracleCase, run: Run, ours: number): string | null {
  const kw = run.get_deq_kwargs as Record<string, unknown>;
  if (kw.core !== 'indexing') return null;
  if (run.n_outputs !== undefined && run.n_outputs !== ours) return 'indexing core stopped early (TorchDEQ issue #7)';
  if (kw.f_solver === 'broyden' && (run.sampling_indexing ?? []).some((s) => s <= (run.info_train?.nstep[0] ?? 0))) {
    return 'broyden samples one step early in TorchDEQ';
  }
  return null;
}

async function trainRun(c: OracleCase, run: Run) {
  const deq = getDeq(fromTorchDEQArgs(run.get_deq_kwargs));
  const s = gradSetup(c);
  const backward: number[][] = [];
  const { zOut, info } = await deq.forward(s.f, zInit(c), {
    solverKwargs: solverKwargs(c),
    backwardWriter: (st) => {
      const stats = st as SolverStats;
      backward.push(flatOf(stats.absLowest));
      for (const t of Object.values(stats)) t.dispose();
    },
  });
  const weights = run.loss_weights ?? zOut.map(() => 1);
  const outputs = zOut.map(flatOf);
  const L = oracleLoss(zOut, s.c, weights.length === zOut.length ? weights : zOut.map((_, i) => 0.8 ** (zOut.length - 1 - i)));
  await L.backward();
  const grads = s.grads();
  s.zeroGrads();
  return { outputs, grads, info, backward, n: zOut.length };
}

const cases = listCases();

describe.each(cases)('oracle case %s through getDeq', (id) => {
  const c = loadCase(id);
  const runsOk = c.runs.filter((r) => !r.error);

  it('eval forward matches forward_eval', async () => {
    const kw = { ...c.deq_config.get_deq_kwargs, core: 'sliced' };
    const deq = getDeq(fromTorchDEQArgs(kw)).eval();
    const s = gradSetup(c);
    const { zOut, info } = await deq.forward(s.f, zInit(c), { solverKwargs: solverKwargs(c) });
    const fe = c.forward_eval;
    const tol = QUASI_NEWTON.includes(String(kw.f_solver ?? 'fixed_point_iter')) ? 1e-8 : 1e-10;
    expect(relErr(flatOf(zOut[0]), flat(fe.z))).toBeLessThanOrEqual(tol);
    const absLowest = flatOf(info.absLowest), nstep = flatOf(info.nstep);
    fe.info.abs_lowest.forEach((v, b) => {
      expect(Math.abs(absLowest[b] - v)).toBeLessThanOrEqual(1e-12 + 1e-6 * Math.abs(v));
      if (!fe.roundoff_limited[b]) expect(nstep[b]).toBe(fe.info.nstep[b]);
    });
    expect(flatOf(info.sradius)).toEqual([0]);
  });

  it.each(runsOk.map((r) => [r.name, r] as const))('training run %s', async (_name, run) => {
    const res = await trainRun(c, run);
    const why = divergesFromTorchDEQ(c, run, res.n);
    if (why === null) {
      expect(res.n).toBe(run.n_outputs);
      const tol = tolFor(c, run);
      res.outputs.forEach((o, i) => expect(relErr(o, flat(run.outputs![i]))).toBeLessThanOrEqual(tol));
      for (const [k, want] of Object.entries(run.grads!)) {
        expect(relErr(res.grads[k], flat(want)), `grad ${k}`).toBeLessThanOrEqual(tol);
      }
      // Training-solve info (sliced with several states: of the last segment).
      const it = run.info_train!;
      const nstep = flatOf(res.info.nstep), absLowest = flatOf(res.info.absLowest);
      it.nstep.forEach((v, b) => {
        if (!c.forward_eval.roundoff_limited[b]) expect(nstep[b]).toBe(v);
      });
      it.abs_lowest.forEach((v, b) => expect(Math.abs(absLowest[b] - v)).toBeLessThanOrEqual(1e-12 + 1e-6 * Math.abs(v)));
      // One backward-solve report per IFT functor, with TorchDEQ's step counts.
      expect(res.backward.length).toBe(run.backward_solver_info?.length ?? 0);
      res.backward.forEach((st, i) => {
        const want = run.backward_solver_info![i];
        expect(st.every((v, b) => Math.abs(v - want.abs_lowest[b]) <= 1e-12 + 1e-6 * want.abs_lowest[b])).toBe(true);
      });
    } else {
      // Our fix: the last output comes from the solver's best estimate and IFT still applies.
      expect(res.n).toBeGreaterThanOrEqual(run.n_outputs ?? 1);
      const last = res.outputs[res.outputs.length - 1];
      const sliced = c.runs.find((r) => r.name === (run.name.includes('ift') ? 'ift' : 'pg_k1_tau1'));
      if (run.name === 'ift_core_indexing' || run.name === 'pg_k1_core_indexing') {
        // One sampled state at the end: identical to the sliced core's run.
        expect(relErr(last, flat(sliced!.outputs![0]))).toBeLessThanOrEqual(tolFor(c, run));
        for (const [k, want] of Object.entries(sliced!.grads!)) {
          expect(relErr(res.grads[k], flat(want)), `grad ${k}`).toBeLessThanOrEqual(tolFor(c, run));
        }
      } else {
        expect(res.backward.length).toBe(run.get_deq_kwargs.ift ? 1 : 0);
        // TorchDEQ's single output is the first functor applied to the first sampled state it
        // reached (or to the final estimate): ours serves that functor the same state, unless
        // broyden's one-step-early sampling moved TorchDEQ's state.
        const reached = Math.max(...(run.info_train?.nstep ?? [0]));
        const shifted = run.get_deq_kwargs.f_solver === 'broyden' && (run.sampling_indexing ?? []).slice(0, -1).some((st) => st <= reached);
        if (!shifted) expect(relErr(res.outputs[0], flat(run.outputs![0]))).toBeLessThanOrEqual(tolFor(c, run));
      }
    }
  });

  const errorRuns = c.runs.filter((r) => r.error);
  it.each(errorRuns.map((r) => [r.name, r] as const))('run %s (TorchDEQ raises; ours works)', async (_name, run) => {
    // simple_fixed_point_iter as the backward solver: exactly bMaxIter adjoint steps.
    const res = await trainRun(c, run);
    expect(res.n).toBe(1);
    const ift = c.runs.find((r) => r.name === (run.get_deq_kwargs.hook_ift ? 'ift_hook' : 'ift'))!;
    expect(relErr(res.outputs[0], flat(ift.outputs![0]))).toBeLessThanOrEqual(1e-10);
    for (const [k, want] of Object.entries(ift.grads!)) {
      expect(relErr(res.grads[k], flat(want)), `grad ${k}`).toBeLessThanOrEqual(1e-6);
    }
  });
});

describe('getDeq options', () => {
  it('rejects unknown keys listing the valid ones (TorchDEQ issues #10, #12)', () => {
    expect(() => getDeq({ fMaxIters: 3 } as never)).toThrow(/getDeq: unknown option 'fMaxIters'; valid options are .*'fMaxIter'/);
    expect(() => getDeq({ core: 'nope' })).toThrow(/unknown core 'nope'; registered cores are 'sliced', 'indexing'/);
    expect(() => getDeq({ fSolver: 'newton' })).toThrow(/newton/);
    expect(() => getDeq({ grad: 0 })).toThrow(/option 'grad' expected a positive integer/);
    expect(() => fromTorchDEQArgs({ f_max_iters: 3 })).toThrow(/unknown TorchDEQ argument 'f_max_iters'/);
  });

  it('has TorchDEQ defaults', () => {
    const o = getDeq().options;
    expect(o).toMatchObject({ core: 'sliced', fSolver: 'fixed_point_iter', bSolver: 'fixed_point_iter', fMaxIter: 40, bMaxIter: 40, fTol: 1e-3, bTol: 1e-6, fStopMode: 'abs', bStopMode: 'abs', evalFactor: 1, ift: false, hookIft: false, grad: [1], tau: 1, supGap: -1, nStates: 1 });
  });

  it('does not leak memory across training steps', async () => {
    const c = loadCase('tanh8_anderson_abs');
    const run = c.runs.find((r) => r.name === 'ift')!;
    const step = () => tidy(async () => { await trainRun(c, run); });
    await step();
    const before = memory().numBytes;
    for (let i = 0; i < 3; i++) await step();
    expect(memory().numBytes).toBeLessThanOrEqual(before);
  });
});
