import { show } from '../utils/format.js';
/**
 * DEQ core options: TorchDEQ's `get_deq` arguments in camelCase, with its defaults, validated
 * in one place. Unknown keys throw (TorchDEQ silently ignores them: its issues #10 and #12).
 */

import { checkOffload, type OffloadMode } from '../offload/offload.js';
import { didYouMean } from '../autograd/engine.js';
import { BACKWARD_FAILURE_MODES, type BackwardFailureMode } from '../grad/ift.js';
import type { CaptureMode } from '../solvers/options.js';

export type StopMode = 'abs' | 'rel';

export interface DEQOptions {
  /** Registered core name: 'sliced' (default) or 'indexing'. */
  core?: string;
  /** Forward solver name (default 'fixed_point_iter'). */
  fSolver?: string;
  /** Backward (IFT adjoint) solver name (default 'fixed_point_iter'). */
  bSolver?: string;
  /** Forward solver iterations in training (default 40; 0 skips the solve: the result is the initial state, as TorchDEQ). */
  fMaxIter?: number;
  /** Backward solver iterations (default 40). */
  bMaxIter?: number;
  /** Forward stopping tolerance (default 1e-3). */
  fTol?: number;
  /** Backward stopping tolerance (default 1e-6). */
  bTol?: number;
  fStopMode?: StopMode;
  bStopMode?: StopMode;
  /** Eval-mode iterations = floor(fMaxIter * evalFactor) unless evalFMaxIter > 0 (default 1). */
  evalFactor?: number;
  /** Exact eval-mode iterations when > 0 (default 0). */
  evalFMaxIter?: number;
  /**
   * What an IFT backward solve that does not converge does: 'warn' (default; one console.warn
   * per backward solve naming the status and the residual), 'error' (the backward rejects) or
   * 'ignore'. Not a TorchDEQ option (TorchDEQ is silent). Per call: `forward`'s `bFailure`.
   */
  bFailure?: BackwardFailureMode;
  /** Use implicit differentiation for the last sampled state (default false). */
  ift?: boolean;
  /** IFT reusing the forward graph at z* (implies ift; default false). */
  hookIft?: boolean;
  /** Phantom-gradient steps: one k for every sampled state, or one per state (default 1). */
  grad?: number | number[];
  /** Phantom-gradient damping (default 1). */
  tau?: number;
  /** Return every supGap-th phantom state when > 0 (default -1). */
  supGap?: number;
  /** Phantom steps whose states are returned (default []). */
  supLoc?: number[];
  /** Sample this many states evenly over the solve (default 1). */
  nStates?: number;
  /** Solver steps at which states are sampled (default []). */
  indexing?: number[];
  /**
   * Where the solves and their backward run for a model on a CPU backend (not a TorchDEQ
   * option): 'none' (where the state is), 'webgpu' (always on the GPU: the state and every
   * tensor func touches move there through a differentiable copy, parameter copies are cached
   * until the parameter changes, gradients land on the model's own tensors), or 'auto'
   * (default: 'webgpu' only on a hardware GPU adapter and for a float32 state of at least
   * OFFLOAD_AUTO_MIN_ELEMENTS (B x D) elements, a provisional crossover; otherwise 'none').
   * Per call: `solverKwargs.offload`.
   */
  offload?: OffloadMode;
  /**
   * Record once, replay, for the forward and the IFT backward solves (not a TorchDEQ option):
   * 'auto' (default: on webgpu, a solve traces its iterations and replays their GPU work without
   * running `func`'s JS again, see SolverOptions.capture) or 'off' (func's JS runs every
   * iteration). On CPU backends 'auto' changes nothing. Per call: `solverKwargs.capture`.
   */
  capture?: CaptureMode;
}

export type ResolvedDEQOptions = Required<DEQOptions> & { grad: number[] };

/**
 * The defaults of every DEQ option (TorchDEQ's `get_deq` defaults), in one place.
 * @example DEQ_DEFAULTS.fMaxIter // 40
 */
export const DEQ_DEFAULTS: Readonly<ResolvedDEQOptions> = Object.freeze({
  core: 'sliced',
  fSolver: 'fixed_point_iter',
  bSolver: 'fixed_point_iter',
  fMaxIter: 40,
  bMaxIter: 40,
  fTol: 1e-3,
  bTol: 1e-6,
  fStopMode: 'abs' as StopMode,
  bStopMode: 'abs' as StopMode,
  evalFactor: 1.0,
  evalFMaxIter: 0,
  bFailure: 'warn' as BackwardFailureMode,
  ift: false,
  hookIft: false,
  grad: [1],
  tau: 1.0,
  supGap: -1,
  supLoc: [] as number[],
  nStates: 1,
  indexing: [] as number[],
  offload: 'auto' as OffloadMode,
  capture: 'auto' as CaptureMode,
});

export const DEQ_KEYS = Object.keys(DEQ_DEFAULTS) as (keyof DEQOptions)[];

function fail(key: string, expected: string, got: unknown): never {
  throw new Error(`getDeq: option '${key}' expected ${expected}, received ${show(got)}`);
}

const posInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
const nonNegInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;

/** Validates user options and fills in defaults. */
export function resolveDEQOptions(opts: DEQOptions = {}): ResolvedDEQOptions {
  if (typeof opts !== 'object' || opts === null) fail('options', 'an object', opts);
  const bad = Object.keys(opts).filter((k) => !(DEQ_KEYS as string[]).includes(k));
  if (bad.length) {
    throw new Error(`getDeq: unknown option${bad.length > 1 ? 's' : ''} ${bad.map((k) => `'${k}'`).join(', ')}; valid options are ${DEQ_KEYS.map((k) => `'${k}'`).join(', ')}${didYouMean(bad, DEQ_KEYS)}`);
  }
  const o = { ...DEQ_DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as ResolvedDEQOptions & { grad: number | number[] };
  for (const k of ['core', 'fSolver', 'bSolver'] as const) if (typeof o[k] !== 'string') fail(k, 'a string', o[k]);
  checkOffload('getDeq', o.offload);
  if (o.capture !== 'auto' && o.capture !== 'off') fail('capture', "'auto' or 'off'", o.capture);
  for (const k of ['bMaxIter', 'nStates'] as const) if (!posInt(o[k])) fail(k, 'a positive integer', o[k]);
  if (!nonNegInt(o.fMaxIter)) fail('fMaxIter', 'a non-negative integer (0 skips the solve)', o.fMaxIter);
  if (!nonNegInt(o.evalFMaxIter)) fail('evalFMaxIter', 'a non-negative integer', o.evalFMaxIter);
  for (const k of ['fTol', 'bTol', 'evalFactor', 'tau'] as const) {
    if (typeof o[k] !== 'number' || !(o[k] >= 0) || !Number.isFinite(o[k])) fail(k, 'a finite non-negative number', o[k]);
  }
  for (const k of ['fStopMode', 'bStopMode'] as const) if (o[k] !== 'abs' && o[k] !== 'rel') fail(k, "'abs' or 'rel'", o[k]);
  for (const k of ['ift', 'hookIft'] as const) if (typeof o[k] !== 'boolean') fail(k, 'a boolean', o[k]);
  if (!BACKWARD_FAILURE_MODES.includes(o.bFailure)) fail('bFailure', BACKWARD_FAILURE_MODES.map((m) => `'${m}'`).join(', ').replace(/, ([^,]*)$/, ' or $1'), o.bFailure);
  if (!Number.isInteger(o.supGap)) fail('supGap', 'an integer', o.supGap);
  const grad = typeof o.grad === 'number' ? [o.grad] : o.grad;
  if (!Array.isArray(grad) || grad.length === 0 || !grad.every(posInt)) fail('grad', 'a positive integer or a non-empty array of them', o.grad);
  if (!Array.isArray(o.supLoc) || !o.supLoc.every(posInt)) fail('supLoc', 'an array of positive integers', o.supLoc);
  if (!Array.isArray(o.indexing) || !o.indexing.every(posInt)) fail('indexing', 'an array of positive integers', o.indexing);
  return { ...o, grad: [...grad], supLoc: [...o.supLoc], indexing: [...o.indexing] };
}

/** TorchDEQ's `get_deq` argument names mapped to ours. @example TORCHDEQ_ARG_NAMES.f_max_iter // 'fMaxIter' */
export const TORCHDEQ_ARG_NAMES: Readonly<Record<string, keyof DEQOptions>> = {
  core: 'core', f_solver: 'fSolver', b_solver: 'bSolver', f_max_iter: 'fMaxIter', b_max_iter: 'bMaxIter',
  f_tol: 'fTol', b_tol: 'bTol', f_stop_mode: 'fStopMode', b_stop_mode: 'bStopMode', eval_factor: 'evalFactor',
  eval_f_max_iter: 'evalFMaxIter', ift: 'ift', hook_ift: 'hookIft', grad: 'grad', tau: 'tau', sup_gap: 'supGap',
  sup_loc: 'supLoc', n_states: 'nStates', indexing: 'indexing',
};

/**
 * Maps a snake_case TorchDEQ config (the kwargs of `torchdeq.get_deq`) to our options.
 * `None` values (null) mean "default", as in TorchDEQ. Unknown keys throw.
 * @example getDeq(fromTorchDEQArgs({ f_solver: 'anderson', f_max_iter: 30, ift: true }))
 */
export function fromTorchDEQArgs(args: Record<string, unknown>): DEQOptions {
  if (typeof args !== 'object' || args === null) {
    throw new Error(`fromTorchDEQArgs: expected an object of TorchDEQ arguments, received ${show(args)}`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    const key = TORCHDEQ_ARG_NAMES[k];
    if (!key) {
      throw new Error(`fromTorchDEQArgs: unknown TorchDEQ argument '${k}'; known arguments are ${Object.keys(TORCHDEQ_ARG_NAMES).map((s) => `'${s}'`).join(', ')}`);
    }
    if (v === null || v === undefined) continue;
    out[key] = v;
  }
  return out as DEQOptions;
}

/** The eval-mode iteration count (TorchDEQ: eval_f_max_iter if > 0 else int(f_max_iter * eval_factor)). */
export function evalMaxIter(o: ResolvedDEQOptions): number {
  return o.evalFMaxIter > 0 ? o.evalFMaxIter : Math.trunc(o.fMaxIter * o.evalFactor);
}
