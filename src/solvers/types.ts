/**
 * The shapes shared by every fixed-point solver: what a solver receives (a function, a start
 * state, options) and what it returns (`{ z, trajectory, stats, status }`, TorchDEQ's
 * `(z, indexing_list, info)` plus a per-sample status).
 */
import type { Tensor } from '../tensor.js';

/**
 * A solver state: one tensor of shape (B, ...) or several (multi-tensor states), each (B, ...).
 * @example const state: SolverState = [zeros([8, 16]), zeros([8, 4, 4])];
 */
export type SolverState = Tensor | Tensor[];

/**
 * The map whose fixed point is sought. It receives a state shaped like `x0` and returns one of
 * the same shape(s) and dtype; it may be async (the IFT backward solve calls a VJP pullback).
 * It is called under `noGrad`, and the tensors it creates are freed after each call except
 * what it returns, which the solver consumes (and frees if it was created during the call).
 * For an async func this covers its synchronous part: what it runs after an `await` runs in
 * the grad mode and tidy scope current then (wrap it in `tidy` to free it per call; a graph it
 * records on the result is released). The tensor it receives is only valid during the call
 * (clone it to keep it).
 * @example const func: SolverFunc = (z) => tanh(linear(z, w, b));
 */
export type SolverFunc<S extends SolverState = Tensor> = (z: S) => S | Promise<S>;

/**
 * Residual measured by the stop test: `abs = ||f(z) - z||`, `rel = abs / (||f(z)|| + 1e-9)`.
 * @example const mode: StopMode = 'rel';
 */
export type StopMode = 'abs' | 'rel';

/**
 * Per-sample outcome (TorchDEQ has no equivalent):
 * - `converged`: the returned state's stop-mode residual is below `tol`;
 * - `nan`: a NaN residual appeared (the returned state is the best finite one, if any);
 * - `diverged`: the residual became infinite or grew past `divergence` times its first value
 *   (floored at 1e-8 (||f(z)|| + 1));
 * - `maxIter`: none of the above (ran out of iterations, or Broyden's no-progress stop).
 * @example const allDone = res.status.every((s: SolveStatus) => s === 'converged');
 */
export type SolveStatus = 'converged' | 'maxIter' | 'diverged' | 'nan';

/**
 * Solver statistics with TorchDEQ's keys in camelCase, as tensors of the state's dtype.
 * @example const worst = Math.max(...res.stats.absLowest.dataSync());
 */
export interface SolverStats {
  /** (B) lowest absolute residual seen per sample. */
  absLowest: Tensor;
  /** (B) lowest relative residual seen per sample. */
  relLowest: Tensor;
  /** (B, N) absolute residual per recorded step; column 0 is the 1e8 sentinel. */
  absTrace: Tensor;
  /** (B, N) relative residual per recorded step; column 0 is the 1e8 sentinel. */
  relTrace: Tensor;
  /** (B) step (number of f calls, Broyden: number of updates) at which the stop-mode lowest occurred. */
  nstep: Tensor;
  /** [1] spectral radius estimate: -1 (not computed by solvers; DEQ cores may fill it). */
  sradius: Tensor;
}

/**
 * Options every built-in solver understands (each solver accepts a subset; see its docs and
 * `SOLVER_KEYS`). Unknown keys throw.
 * @example const opts: SolverOptions = { maxIter: 30, tol: 1e-6, stopMode: 'rel', m: 5 };
 */
export interface SolverOptions {
  /** Maximum number of iterations (default 50). */
  maxIter?: number;
  /** Stop when every sample's stop-mode residual is below `tol` (strict; default 1e-3). */
  tol?: number;
  /** Which residual the stop test and the best-iterate choice use (default 'abs'). */
  stopMode?: StopMode;
  /** Steps (1-based) whose best-so-far state is appended to `trajectory` (default []). */
  indexing?: number[];
  /** Damping: `z <- tau f(z) + (1 - tau) z` (default 1; not for broyden). */
  tau?: number;
  /** Run every step and return the last iterate instead of the best one (default false). */
  returnFinal?: boolean;
  /** Called with the stats at the end of the solve. */
  writer?: (stats: SolverStats) => void;
  /**
   * A sample whose absolute residual exceeds `divergence` times its first recorded residual
   * (or becomes infinite) is marked `diverged` and stops counting for the stop test
   * (default 1e4; `Infinity` disables the check). Not a TorchDEQ option.
   */
  divergence?: number;
  /**
   * Test for the stop every `checkEvery` steps (an integer >= 1). Default: 1 on CPU backends
   * (every step, exactly TorchDEQ); 8 on webgpu, where the bookkeeping (traces, lowest
   * residuals, best iterate) stays on the GPU and the stop test reads a few bytes at most once
   * every `checkEvery` steps, while the following steps are already queued. With a value > 1
   * the solve runs up to about 2 checkEvery - 1 more steps than needed, but the device freezes
   * the bookkeeping at the step where the stop test passed, so `z`, `nstep` and the traces are
   * those of a step-by-step solve. Not a TorchDEQ option.
   */
  checkEvery?: number;
  /**
   * Record once, replay (default 'auto'): on a backend that can (webgpu), the solver traces its
   * iterations and, once two periods of them issued the same GPU work, replays that work for the
   * remaining iterations without running their JS, `func` included, many iterations per submit.
   * Like `jax.jit` and CUDA graphs, a replayed `func`'s JS side effects (counters, logging) do
   * not happen again; a `func` that reads data, awaits, allocates differently or issues other
   * work from one call to the next is detected and runs every iteration as usual. 'off' runs
   * every iteration's JS. On CPU backends 'auto' changes nothing. anderson, fixed_point_iter and
   * simple_fixed_point_iter capture; broyden and gmres do not yet. Not a TorchDEQ option.
   */
  capture?: 'auto' | 'off';
  /**
   * Run the solve on the GPU for a state on a CPU backend: 'webgpu' always (float32, after
   * `await init({ gpu })`), 'auto' with getDeq's rule (a hardware adapter and B x D at or above
   * the crossover), 'none' (the default) never. x0 and every CPU tensor func touches are
   * uploaded (each once per version), the result (z, trajectory, stats) comes back to x0's
   * backend with its status read, and `writer` gets the stats there. func must be synchronous.
   * Not a TorchDEQ option.
   */
  offload?: 'none' | 'auto' | 'webgpu';
  /** anderson: history size (default 6). */
  m?: number;
  /** anderson: ridge added to the Gram matrix (absolute, default 1e-4). */
  lam?: number;
  /** broyden: number of stored rank-one updates (TorchDEQ's `LBFGS_thres`; default maxIter). */
  memory?: number;
  /** broyden: Armijo line search on the whole batch (TorchDEQ's `ls`; default false). */
  lineSearch?: boolean;
}

/**
 * What a solver returns.
 * @example const { z, stats, status } = await getSolver('anderson')(func, z0, { tol: 1e-6 });
 */
export interface SolverResult<S extends SolverState = Tensor> {
  /** The best iterate per sample in the stop mode (or the last with `returnFinal`), shaped like x0. */
  z: S;
  /**
   * The best-so-far states at the `indexing` steps that were reached (the final best if none
   * was); simple_fixed_point_iter records its iterates and has no fallback, like TorchDEQ.
   */
  trajectory: S[];
  stats: SolverStats;
  /** One entry per sample. */
  status: SolveStatus[];
}

/**
 * A fixed-point solver: finds z with `func(z) = z` from `x0`.
 * @example
 * const res = await getSolver('anderson')((z) => cos(z), zeros([1, 1], { dtype: 'float64' }), { tol: 1e-10 });
 */
export type Solver = <S extends SolverState>(func: SolverFunc<S>, x0: S, options?: SolverOptions) => Promise<SolverResult<S>>;
