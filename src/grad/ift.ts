/**
 * Implicit-function-theorem (IFT) gradients for a fixed point z* = f(z*): the returned state
 * behaves like one more application of f, and its backward replaces "backprop through the
 * solver" by the adjoint fixed point g = J^T g + v, solved by any registered solver.
 *
 * Two variants with the same result up to where J is taken:
 * - `iftGrad` (function variant): J at f(zPred), by re-evaluating f inside backward, so
 *   nothing beyond the graph of one f application is kept between forward and backward.
 * - `hookIftGrad`: J at zPred, reusing the forward graph of f(zPred) (no extra f evaluation).
 * Every call builds its own graph node: any number of IFT states can be pending before one
 * backward.
 *
 * Reference: Bai, Kolter, Koltun, "Deep Equilibrium Models" (NeurIPS 2019), Section 3.1.
 */
import { solverStatus } from '../solvers/status.js';
import type { Tensor } from '../tensor.js';
import { peekNextTensorId } from '../tensor.js';
import { tidyCall, keep } from '../scope.js';
import { customFunction, pullbackNow, vjpOf, type Pullback } from '../autograd/custom.js';
import { grad, isGradEnabled, withMode } from '../autograd/engine.js';
import { add } from '../ops/arith.js';
import { zerosLike } from '../creation.js';
import { getSolver, SOLVER_DEFAULTS, type Solver, type SolverOptions, type SolverResult, type SolveStatus } from '../solvers/index.js';
import { applyChecked } from './phantom.js';

/**
 * Options for a backward solver: the common solver options plus any a registered solver adds (gmres: `restart`).
 * @example const kw: SolverKwargs = { maxIter: 50, tol: 1e-8, restart: 10 };
 */
export type SolverKwargs = SolverOptions & { [key: string]: unknown };

/**
 * Receives the stats of every backward (adjoint) solve and owns those tensors (dispose them when done).
 * @example const writer: BackwardWriter = (s) => { log.push(s.nstep.toArray()); Object.values(s).forEach((t) => t.dispose()); };
 */
export type BackwardWriter = (stats: SolverResult['stats']) => void;

/**
 * Settings of one IFT functor (validated by `backwardFactory`).
 * @example const s: IftSettings = { bSolver: 'anderson', bSolverKwargs: { maxIter: 40, tol: 1e-6 } };
 */
export interface IftSettings {
  /** Registered solver name (or a solver function) for the adjoint fixed point. */
  bSolver: string | Solver;
  /** Options passed unchanged to the solver (`maxIter`, `tol`, `stopMode`, `m`, ...). */
  bSolverKwargs: SolverKwargs;
  /** Called with the solve's stats during backward; it owns those tensors (dispose them when done). */
  writer?: BackwardWriter;
  /** What a solve that does not converge does (default 'warn'). */
  bFailure?: BackwardFailureMode;
  /** Each backward solve appends its outcome here. */
  bStats?: BackwardSolveInfo[];
}

/**
 * What a backward (adjoint) solve that does not converge does: `'warn'` (default) prints one
 * `console.warn` per solve naming the status and the residual, `'error'` makes the backward
 * reject with that message, `'ignore'` says nothing (the stats still reach `bStats`).
 * @example const mode: BackwardFailureMode = 'error';
 */
export type BackwardFailureMode = 'warn' | 'error' | 'ignore';

/** The accepted `bFailure` values, for validation. */
export const BACKWARD_FAILURE_MODES: readonly BackwardFailureMode[] = ['warn', 'error', 'ignore'];

/**
 * The outcome of one backward (adjoint) solve as plain numbers (no tensors to free): appended
 * to the `bStats` array of the gradient functor call (a DEQ forward's `info.bStats`).
 * @example const last = info.bStats.at(-1); if (last && !last.converged) console.log(last.status, last.absLowest);
 */
export interface BackwardSolveInfo {
  /** 'iftGrad' or 'hookIftGrad'. */
  where: string;
  /** Whether every sample converged (with tol 0, a fixed iteration count, ending at maxIter counts as converged). */
  converged: boolean;
  /** Per-sample status of the adjoint solve. */
  status: SolveStatus[];
  /** Per-sample step of the lowest residual. */
  nstep: number[];
  /** Per-sample lowest absolute residual ||g - J^T g - v||. */
  absLowest: number[];
  /** Per-sample lowest relative residual. */
  relLowest: number[];
}

/** J^T-products for the adjoint solve: maps g to J^T g (a promise only when the pass needs one). */
type Jvp = (g: Tensor) => Tensor | Promise<Tensor>;

/**
 * Solves g = J^T g + v from g = 0 with the configured solver and returns g (a new tensor).
 * Everything else created on the way is freed before returning (explicitly: no scope is held
 * across the solver's awaits, so concurrent work is never swept into it).
 */
async function adjointSolve(where: string, jtv: Jvp, v: Tensor, s: IftSettings): Promise<Tensor> {
  const solver = typeof s.bSolver === 'function' ? s.bSolver : getSolver(s.bSolver);
  const plusV = (jg: Tensor): Tensor => {
    if (jg.storage.refs === 1 && !jg.requiresGrad && jg.dtype === v.dtype && jg.size === v.size) {
      // J^T g is ours alone: add v into it instead of allocating the sum.
      jg.backend.axpby(1, jg.storage, 1, v.storage, jg.storage);
      return jg;
    }
    const r = add(jg, v);
    jg.dispose();
    return r;
  };
  // Synchronous when J^T g is: the solver then runs without a microtask per iteration.
  const func = (g: Tensor): Tensor | Promise<Tensor> => {
    const jg = jtv(g);
    return jg instanceof Promise ? jg.then(plusV) : plusV(jg);
  };
  const g0 = zerosLike(v);
  let res: SolverResult;
  try {
    res = await solver(func, g0, s.bSolverKwargs as SolverOptions);
  } finally {
    g0.dispose();
  }
  for (const t of res.trajectory) if (t !== res.z) t.dispose();
  let report: string | null;
  try {
    report = await reportSolve(where, res, s);
  } catch (e) {
    res.z.dispose();
    for (const t of Object.values(res.stats)) t.dispose();
    throw e;
  }
  if (report !== null) {
    res.z.dispose();
    for (const t of Object.values(res.stats)) t.dispose();
    throw new Error(report);
  }
  if (s.writer) {
    // The writer owns the stats it receives; without one they are freed here.
    for (const t of Object.values(res.stats)) keep(t);
    s.writer(res.stats);
  } else {
    for (const t of Object.values(res.stats)) t.dispose();
  }
  return res.z;
}

/**
 * Records the solve's outcome in `s.bStats` and, when a sample did not converge, warns (once
 * for this solve) or returns the error message for `bFailure: 'error'` (null: go on).
 */
async function reportSolve(where: string, res: SolverResult, s: IftSettings): Promise<string | null> {
  const mode = s.bFailure ?? 'warn';
  if (mode === 'ignore' && !s.bStats) return null;
  // Read from the device when the solve kept its bookkeeping there (webgpu).
  const status = await solverStatus(res);
  // tol 0 asks for exactly maxIter iterations (TorchDEQ's fixed-iteration regime): ending there
  // is what was asked for, not a failure; a non-finite or diverged sample still is.
  const fixed = tol0(s.bSolverKwargs);
  const converged = status.every((st) => st === 'converged' || (fixed && st === 'maxIter'));
  if (converged && !s.bStats) return null;
  if (!converged && mode === 'ignore' && !s.bStats) return null;
  const [abs, rel, nstep] = await Promise.all([res.stats.absLowest.data(), res.stats.relLowest.data(), res.stats.nstep.data()]);
  const info: BackwardSolveInfo = {
    where, converged, status: [...status],
    nstep: Array.from(nstep), absLowest: Array.from(abs), relLowest: Array.from(rel),
  };
  s.bStats?.push(info);
  if (converged || mode === 'ignore') return null;
  const message = failureMessage(info, s.bSolverKwargs);
  if (mode === 'error') return message;
  console.warn(message);
  return null;
}

/** "iftGrad: the backward solve did not converge: ..." naming the statuses and the worst residual. */
function failureMessage(info: BackwardSolveInfo, kw: SolverKwargs): string {
  const counts = new Map<string, number>();
  for (const st of info.status) if (st !== 'converged' && !(tol0(kw) && st === 'maxIter')) counts.set(st, (counts.get(st) ?? 0) + 1);
  const statuses = [...counts].map(([st, n]) => `${st} for ${n} of ${info.status.length} sample${info.status.length > 1 ? 's' : ''}`).join(', ');
  const stopMode = kw.stopMode ?? 'abs';
  const res = stopMode === 'rel' ? info.relLowest : info.absLowest;
  let worst = 0;
  for (let b = 0; b < res.length; b++) if (info.status[b] !== 'converged' && !(res[b] <= worst)) worst = res[b];
  const tol = kw.tol ?? SOLVER_DEFAULTS.tol;
  return `${info.where}: the backward (adjoint) solve did not converge: status ${statuses}; lowest ${stopMode} residual ${fmtNum(worst)} (tol ${fmtNum(tol)}), so the gradient is inaccurate. `
    + "Raise bMaxIter (bSolverKwargs.maxIter), loosen bTol, or try bSolver 'anderson'; the adjoint iteration g = J^T g + v diverges when the spectral radius of J is >= 1. "
    + "Pass bFailure: 'error' to make this an error or 'ignore' to silence it.";
}

/** Whether the backward solve runs a fixed number of iterations (tol 0). */
function tol0(kw: SolverKwargs): boolean {
  return (kw.tol ?? SOLVER_DEFAULTS.tol) === 0;
}

function fmtNum(v: number): string {
  return Number.isFinite(v) ? v.toExponential(2) : String(v);
}

/** Drops our handles on tensors this call created (never one handed in from outside). */
function disposeOwn(firstId: number, ...ts: Tensor[]): void {
  for (const t of ts) if (t.id >= firstId) t.dispose();
}

/** Throws for a `createGraph` backward (grad mode on during the backward's synchronous part). */
function firstOrderOnly(where: string): void {
  if (isGradEnabled()) {
    throw new Error(`${where}: expected a first-order backward, received createGraph: true (the implicit gradient is not differentiable again; use a phantom gradient for double backward)`);
  }
}

/** A state map, synchronous or async. */
type StateMap = (z: Tensor) => Tensor | Promise<Tensor>;

/**
 * IFT gradient, function variant: returns `[y]` with `y = func(zPred)` (zPred detached). In
 * backward, with incoming v, it solves g = J^T g + v with J = df/dz at y (f is evaluated
 * again inside backward) and sends g through `y = func(zPred)` to every parameter and input.
 * `func` may be async.
 * @example
 * const [y] = await iftGrad(f, zStar, { bSolver: 'fixed_point_iter', bSolverKwargs: { maxIter: 100, tol: 1e-10 } });
 * await y.mul(c).sum().backward();
 */
export async function iftGrad(func: StateMap, zPred: Tensor, s: IftSettings): Promise<Tensor[]> {
  const where = 'iftGrad';
  zPred.assertLive(`${where} (zPred)`);
  const record = isGradEnabled();
  const firstId = peekNextTensorId();
  const z = zPred.detach();
  // func's intermediates are freed here; the graph keeps its own handles on what backward needs.
  let y: Tensor;
  try {
    const r = tidyCall(() => applyChecked(where, func, z));
    y = r instanceof Promise ? await r : r;
  } catch (e) {
    z.dispose();
    throw e;
  }
  const node = customFunction<[Tensor]>({
    name: where,
    forward: (ctx, t) => { ctx.save(t); return t; },
    backward: async (ctx, v) => {
      firstOrderOnly(where);
      const [yv] = ctx.saved;
      const pullback = await pullbackOf(where, func, yv);
      try {
        const first = (gs: Tensor[]): Tensor => gs[0];
        const jtv: Jvp = (w) => {
          const r = pullbackNow(pullback, w);
          return r instanceof Promise ? r.then(first) : first(r);
        };
        return [await adjointSolve(where, jtv, v, s)];
      } finally {
        pullback.dispose();
      }
    },
  });
  const out = withMode(record, () => node(y));
  disposeOwn(firstId, z, y);
  return [out];
}

/** The pullback of `func` at `at` (J^T products), for a synchronous or async func. */
async function pullbackOf(where: string, func: StateMap, at: Tensor): Promise<Pullback> {
  const r = vjpOf((u: Tensor) => applyChecked(where, func, u), at);
  const [y, pullback] = r instanceof Promise ? await r : r;
  y.dispose();
  return pullback;
}

/**
 * IFT gradient, hook variant (TorchDEQ's Omega(1)-memory `hook_ift`: one graph of f, no
 * re-evaluation in backward): returns `[y]` with `y = func(zPred)`; in backward it solves
 * g = J^T g + v with J = df/dz at zPred by reusing the graph of `y`, then sends g through that
 * graph to the parameters and inputs. `func` may be async.
 * @example
 * const [y] = await hookIftGrad(f, zStar, { bSolver: 'anderson', bSolverKwargs: { maxIter: 50 } });
 */
export async function hookIftGrad(func: StateMap, zPred: Tensor, s: IftSettings): Promise<Tensor[]> {
  const where = 'hookIftGrad';
  zPred.assertLive(`${where} (zPred)`);
  const record = isGradEnabled();
  const firstId = peekNextTensorId();
  const leaf = zPred.detach();
  leaf.requiresGrad = true;
  // z reaches `leaf` through a node that passes nothing on: the graph of f(z) can be
  // differentiated with respect to z, but no backward ever writes `leaf.grad`.
  const z = withMode(true, () => customFunction<[Tensor]>({
    name: `${where} (state)`,
    forward: (_ctx, t) => t,
    backward: () => [null],
  })(leaf));
  let y: Tensor;
  try {
    const r = tidyCall(() => withMode(true, () => applyChecked(where, func, z)));
    y = r instanceof Promise ? await r : r;
  } catch (e) {
    disposeOwn(firstId, leaf, z);
    throw e;
  }
  const node = customFunction<[Tensor]>({
    name: where,
    forward: (ctx, t) => { ctx.save(t, z); return t; },
    backward: async (ctx, v) => {
      firstOrderOnly(where);
      const [yv, zv] = ctx.saved;
      const jtv = async (w: Tensor): Promise<Tensor> => {
        const [gz] = await grad([yv], [zv], { gradOutputs: [w], retainGraph: true, allowUnused: true });
        return gz ?? zerosLike(w);
      };
      return [await adjointSolve(where, jtv, v, s)];
    },
  });
  const out = withMode(record, () => node(y));
  disposeOwn(firstId, leaf, z, y);
  return [out];
}
