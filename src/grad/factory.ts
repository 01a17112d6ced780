/**
 * `backwardFactory`: turns gradient options into a gradient functor, the value a DEQ core
 * calls on each sampled solver estimate. The core never branches on the gradient kind.
 *
 * References: Bai, Kolter, Koltun, "Deep Equilibrium Models" (NeurIPS 2019) for implicit
 * (IFT) gradients; Geng et al., "On Training Implicit Models" (NeurIPS 2021) for phantom
 * gradients; Fung et al., "JFB: Jacobian-Free Backpropagation for Implicit Networks"
 * (AAAI 2022) for the one-step gradient (k = 1, tau = 1).
 */
import type { Tensor } from '../tensor.js';
import { getSolver, type Solver } from '../solvers/index.js';
import { checkKeys } from '../autograd/engine.js';
import { phantomGrad, type PhantomSettings } from './phantom.js';
import { iftGrad, hookIftGrad, BACKWARD_FAILURE_MODES, type BackwardWriter, type BackwardFailureMode, type BackwardSolveInfo, type IftSettings, type SolverKwargs } from './ift.js';
import { show } from '../utils/format.js';

/**
 * What a gradient functor receives besides the state: where backward-solve stats go.
 * @example await produce(layer, f, zStar, { writer: (stats) => console.log(stats.nstep.toArray()) });
 */
export interface GradFunctorOptions {
  /** Called with the stats of every IFT backward solve (ignored by phantom gradients). */
  writer?: BackwardWriter;
  /** IFT: what a backward solve that does not converge does, for this call (default: the factory's `bFailure`). */
  bFailure?: BackwardFailureMode;
  /** IFT: each backward solve appends its outcome (status, residuals) to this array. */
  bStats?: BackwardSolveInfo[];
}

const FUNCTOR_KEYS = ['writer', 'bFailure', 'bStats'];

/**
 * A gradient functor: maps a (detached) solver estimate `zPred` of the fixed point of `func`
 * to the states that carry gradients (`func` may be async). `trainer` is the module that owns
 * the layer (may be `undefined`); no state is stored on it.
 * @example const produce: GradFunctor = backwardFactory({ gradType: 2 }); const outs = await produce(undefined, f, zStar);
 */
export type GradFunctor = (trainer: unknown, func: (z: Tensor) => Tensor | Promise<Tensor>, zPred: Tensor,
  opts?: GradFunctorOptions) => Promise<Tensor[]>;

/**
 * Options of `backwardFactory` (TorchDEQ's `backward_factory` arguments in camelCase).
 * @example const opts: BackwardFactoryOptions = { gradType: 5, tau: 0.5, supGap: 2 };
 */
export interface BackwardFactoryOptions {
  /** 'ift' (implicit gradient) or a positive integer k (phantom gradient with k steps). Default 'ift'. */
  gradType?: 'ift' | number;
  /** IFT only: take J at zPred reusing the forward graph (default false: J at f(zPred)). */
  hookIft?: boolean;
  /** IFT only: the solver for the adjoint system, a registered name or a solver function (default 'fixed_point_iter'). */
  bSolver?: string | Solver;
  /** IFT only: options passed unchanged to the backward solver, e.g. `{ maxIter, tol, stopMode, m, restart }` (default {}). */
  bSolverKwargs?: SolverKwargs;
  /**
   * IFT only: what a backward solve that does not converge (status other than 'converged')
   * does: 'warn' (default; one console.warn per solve naming the status and the residual),
   * 'error' (the backward rejects with that message) or 'ignore'.
   */
  bFailure?: BackwardFailureMode;
  /** Phantom only: return every supGap-th state when > 0 (default -1). */
  supGap?: number;
  /** Phantom only: steps whose states are returned, then the final state (default []). */
  supLoc?: readonly number[];
  /** Phantom only: damping of the unrolled steps (default 1). */
  tau?: number;
}

/**
 * The defaults of `backwardFactory`, in one place.
 * @example BACKWARD_FACTORY_DEFAULTS.bSolver // 'fixed_point_iter'
 */
export const BACKWARD_FACTORY_DEFAULTS = Object.freeze({
  gradType: 'ift' as 'ift' | number,
  hookIft: false,
  bSolver: 'fixed_point_iter' as string | Solver,
  bSolverKwargs: Object.freeze({}) as SolverKwargs,
  bFailure: 'warn' as BackwardFailureMode,
  supGap: -1,
  supLoc: Object.freeze([]) as readonly number[],
  tau: 1.0,
});

function fail(key: string, expected: string, got: unknown): never {
  const shown = show(got);
  throw new Error(`backwardFactory: option '${key}' expected ${expected}, received ${shown}`);
}

/** The most steps a phantom gradient unrolls (each records a graph node per op of func). */
const MAX_PHANTOM_STEPS = 2 ** 20;

const isPosInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/** Validates a functor call's options; returns them (empty when none were given). */
function checkFunctorOpts(opts: GradFunctorOptions | undefined): GradFunctorOptions {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null) {
    throw new Error(`gradient functor: expected an options object { writer, bFailure, bStats }, received ${opts === null ? 'null' : typeof opts}`);
  }
  checkKeys('gradient functor', opts, FUNCTOR_KEYS);
  if (opts.writer !== undefined && typeof opts.writer !== 'function') {
    throw new Error(`gradient functor: option 'writer' expected a function, received ${typeof opts.writer}`);
  }
  if (opts.bFailure !== undefined) checkFailureMode('gradient functor', opts.bFailure);
  if (opts.bStats !== undefined && !Array.isArray(opts.bStats)) {
    throw new Error(`gradient functor: option 'bStats' expected an array to append to, received ${opts.bStats === null ? 'null' : typeof opts.bStats}`);
  }
  return opts;
}

/** Throws unless `v` is one of 'warn', 'error', 'ignore'. */
export function checkFailureMode(where: string, v: unknown): asserts v is BackwardFailureMode {
  if (!BACKWARD_FAILURE_MODES.includes(v as BackwardFailureMode)) {
    let shown: string;
    try { shown = typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v); } catch { shown = String(v); }
    throw new Error(`${where}: option 'bFailure' expected one of ${BACKWARD_FAILURE_MODES.map((m) => `'${m}'`).join(', ')}, received ${shown}`);
  }
}

function checkCall(func: unknown, zPred: unknown): void {
  if (typeof func !== 'function') {
    throw new Error(`gradient functor: expected func to be a function (z) => Tensor, received ${func === null ? 'null' : typeof func}`);
  }
  if (!zPred || typeof zPred !== 'object' || !('storage' in zPred)) {
    throw new Error(`gradient functor: expected zPred to be a Tensor, received ${zPred === null ? 'null' : typeof zPred}`);
  }
}

/**
 * Builds a gradient functor `(trainer, func, zPred, { writer, bFailure, bStats }?) => Promise<Tensor[]>`.
 *
 * - `gradType: 'ift'` (default): returns `[f(zPred)]`; its backward solves the adjoint fixed
 *   point g = J^T g + v with `bSolver` / `bSolverKwargs` (every solver option passes through)
 *   and sends g through f(zPred). `hookIft: false` takes J at f(zPred) by re-evaluating f
 *   inside backward; `hookIft: true` takes J at zPred from the forward graph. A backward solve
 *   that does not converge warns (default), rejects or stays silent (`bFailure`), and its
 *   outcome is appended to the call's `bStats` array.
 * - `gradType: k` (positive integer): phantom gradient, k steps z <- tau f(z) + (1 - tau) z
 *   from zPred with the graph recorded; `supGap > 0` returns every supGap-th state, a
 *   non-empty `supLoc` the listed states then the final one, otherwise the final state.
 *
 * `zPred` is always treated as detached. Unknown option keys throw, with a hint for
 * TorchDEQ's snake_case names (`torchdeq.backward_factory` takes those, and ignores extras as
 * TorchDEQ documents).
 * @example
 * const produce = backwardFactory({ gradType: 'ift', bSolver: 'anderson', bSolverKwargs: { maxIter: 50, tol: 1e-8 } });
 * const [z] = await produce(undefined, (z) => tanh(linear(z, W).add(inj)), zStar);
 * await z.mul(target).sum().backward();
 */
export function backwardFactory(options: BackwardFactoryOptions = {}): GradFunctor {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new Error(`backwardFactory: expected an options object, received ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  checkKeys('backwardFactory', options, Object.keys(BACKWARD_FACTORY_DEFAULTS));
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...BACKWARD_FACTORY_DEFAULTS, ...defined } as typeof BACKWARD_FACTORY_DEFAULTS;
  if (o.gradType !== 'ift' && !(isPosInt(o.gradType) && o.gradType <= MAX_PHANTOM_STEPS)) {
    fail('gradType', `'ift' or a positive integer k up to ${MAX_PHANTOM_STEPS} (phantom gradient with k unrolled steps)`, o.gradType);
  }
  if (typeof o.hookIft !== 'boolean') fail('hookIft', 'a boolean', o.hookIft);
  if (typeof o.tau !== 'number' || !Number.isFinite(o.tau) || o.tau < 0) fail('tau', 'a finite number >= 0', o.tau);
  if (!Number.isInteger(o.supGap)) fail('supGap', 'an integer (<= 0 to disable)', o.supGap);
  if (!Array.isArray(o.supLoc) || !o.supLoc.every(isPosInt)) fail('supLoc', 'an array of positive integers', o.supLoc);
  if (typeof o.bSolver !== 'string' && typeof o.bSolver !== 'function') fail('bSolver', 'a registered solver name or a solver function', o.bSolver);
  if (typeof o.bSolverKwargs !== 'object' || o.bSolverKwargs === null || Array.isArray(o.bSolverKwargs)) {
    fail('bSolverKwargs', 'an object of solver options', o.bSolverKwargs);
  }
  checkFailureMode('backwardFactory', o.bFailure);

  if (o.gradType === 'ift') {
    if (typeof o.bSolver === 'string') getSolver(o.bSolver); // unknown names fail here, listing the registered ones
    const variant = o.hookIft ? hookIftGrad : iftGrad;
    const bSolverKwargs = { ...o.bSolverKwargs };
    return async (_trainer, func, zPred, opts) => {
      const { writer, bFailure, bStats } = checkFunctorOpts(opts);
      checkCall(func, zPred);
      const s: IftSettings = { bSolver: o.bSolver, bSolverKwargs, writer, bFailure: bFailure ?? o.bFailure, bStats };
      return variant(func, zPred, s);
    };
  }

  const k = o.gradType;
  if (o.supGap > k) fail('supGap', `a value <= gradType (${k}) so that some state is returned`, o.supGap);
  const outside = o.supLoc.filter((i) => i > k);
  if (o.supGap <= 0 && outside.length) fail('supLoc', `steps between 1 and gradType (${k})`, o.supLoc);
  const s: PhantomSettings = { k, tau: o.tau, supGap: o.supGap, supLoc: [...o.supLoc] };
  return async (_trainer, func, zPred, opts) => {
    checkFunctorOpts(opts);
    checkCall(func, zPred);
    return phantomGrad(func, zPred, s);
  };
}
