/**
 * Solver options: the defaults (TorchDEQ's, in one place), which keys each built-in solver
 * accepts, and validation that names the solver, the option, what was expected and what was
 * received. Unknown keys throw with the list of valid ones (TorchDEQ silently drops them).
 */
import { checkKeys } from '../autograd/engine.js';
import type { SolverOptions, SolverStats, StopMode } from './types.js';
import { show } from '../utils/format.js';

/** Options after defaults; `memory` is resolved against `maxIter`. */
export interface ResolvedOptions {
  maxIter: number;
  tol: number;
  stopMode: StopMode;
  indexing: number[];
  tau: number;
  returnFinal: boolean;
  writer: ((stats: SolverStats) => void) | null;
  divergence: number;
  m: number;
  lam: number;
  memory: number;
  lineSearch: boolean;
  /** null: the backend's default (`defaultCheckEvery`). */
  checkEvery: number | null;
  /** Record one iteration's backend work and replay it (backends with `captureLoop`); 'off' runs every iteration's JS. */
  capture: CaptureMode;
}

/** `capture`: 'auto' records and replays the loop where the backend supports it (webgpu); 'off' never. */
export type CaptureMode = 'auto' | 'off';

/**
 * TorchDEQ's defaults (`divergence` is ours). `memory: 0` means "same as maxIter".
 * @example SOLVER_DEFAULTS.m // 6
 */
export const SOLVER_DEFAULTS: Readonly<ResolvedOptions> = Object.freeze({
  maxIter: 50,
  tol: 1e-3,
  stopMode: 'abs',
  indexing: [],
  tau: 1.0,
  returnFinal: false,
  writer: null,
  divergence: 1e4,
  m: 6,
  lam: 1e-4,
  memory: 0,
  lineSearch: false,
  checkEvery: null,
  capture: 'auto',
});

/**
 * `checkEvery` when the caller gives none: 1 on backends that read synchronously (every step
 * is tested, exactly TorchDEQ), `GPU_CHECK_EVERY` on backends that only read asynchronously.
 * GPU_CHECK_EVERY = 8 is the smallest value the issue allows, provisional: the checkEvery table
 * of `npm run bench -- --only deq_step --backend webgpu` is to pick it, and has not been run to
 * completion on a real GPU (nor on the CPU adapter of the saturated build machine; BENCHMARKS.md).
 */
export const GPU_CHECK_EVERY = 8;

/** The resolved `checkEvery` for a solve on a backend. */
export function defaultCheckEvery(o: ResolvedOptions, backend: { asyncOnly?: boolean }): number {
  return o.checkEvery ?? (backend.asyncOnly ? GPU_CHECK_EVERY : 1);
}

const COMMON = ['maxIter', 'tol', 'stopMode', 'indexing', 'returnFinal', 'writer', 'divergence', 'checkEvery', 'capture', 'offload'] as const;

/**
 * The option keys each built-in solver accepts.
 * @example SOLVER_KEYS.broyden.includes('lineSearch') // true
 */
export const SOLVER_KEYS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  fixed_point_iter: [...COMMON, 'tau'],
  simple_fixed_point_iter: ['maxIter', 'tol', 'stopMode', 'indexing', 'tau', 'writer', 'capture', 'offload'],
  anderson: [...COMMON, 'tau', 'm', 'lam'],
  broyden: [...COMMON, 'memory', 'lineSearch'],
  gmres: [...COMMON, 'restart'],
});

function fail(where: string, key: string, expected: string, got: unknown): never {
  const shown = show(got);
  throw new Error(`${where}: option '${key}' expected ${expected}, received ${shown}`);
}

function integer(where: string, key: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(where, key, `an integer >= ${min}`, v);
  return v;
}

function finiteAtLeast(where: string, key: string, v: unknown, min: number, strict: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (strict ? v <= min : v < min)) {
    fail(where, key, `a finite number ${strict ? '>' : '>='} ${min}`, v);
  }
  return v;
}

function bool(where: string, key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(where, key, 'a boolean', v);
  return v;
}

/**
 * Checks `options` against the keys `solver` accepts and fills in defaults.
 * @example resolveOptions('anderson', { m: 5 }).lam // 1e-4
 */
export function resolveOptions(solver: string, options: SolverOptions | undefined, keys: readonly string[] = SOLVER_KEYS[solver]): ResolvedOptions {
  const where = solver;
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    fail(where, 'options', 'an options object', options);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  checkKeys(where, o, keys);
  const get = <K extends keyof ResolvedOptions>(k: K): unknown => (o[k] === undefined ? SOLVER_DEFAULTS[k] : o[k]);
  const maxIter = integer(where, 'maxIter', get('maxIter'), 0);
  if (maxIter > Number.MAX_SAFE_INTEGER) fail(where, 'maxIter', 'an integer from 0 to 2^53 - 1 (a bound a loop counter can reach)', maxIter);
  const tol = finiteAtLeast(where, 'tol', get('tol'), 0, false);
  const stopMode = get('stopMode');
  if (stopMode !== 'abs' && stopMode !== 'rel') fail(where, 'stopMode', "'abs' or 'rel'", stopMode);
  const idx = get('indexing');
  if (!Array.isArray(idx) || idx.some((s) => typeof s !== 'number' || !Number.isInteger(s) || s < 1)) {
    fail(where, 'indexing', 'an array of step numbers (integers >= 1)', idx);
  }
  const tau = finiteAtLeast(where, 'tau', get('tau'), 0, true);
  const returnFinal = bool(where, 'returnFinal', get('returnFinal'));
  const writer = get('writer');
  if (writer !== null && typeof writer !== 'function') fail(where, 'writer', 'a function (stats) => void', writer);
  const divergence = get('divergence');
  if (typeof divergence !== 'number' || Number.isNaN(divergence) || divergence <= 1) {
    fail(where, 'divergence', 'a number > 1 (Infinity disables the check)', divergence);
  }
  const m = integer(where, 'm', get('m'), 2);
  const lam = finiteAtLeast(where, 'lam', get('lam'), 0, false);
  const memory = o.memory === undefined ? maxIter : integer(where, 'memory', o.memory, 1);
  const lineSearch = bool(where, 'lineSearch', get('lineSearch'));
  const checkEvery = o.checkEvery === undefined ? null : integer(where, 'checkEvery', o.checkEvery, 1);
  const capture = get('capture');
  if (capture !== 'auto' && capture !== 'off') fail(where, 'capture', "'auto' or 'off'", capture);
  return {
    maxIter, tol, stopMode, indexing: [...(idx as number[])], tau, returnFinal,
    writer: writer as ResolvedOptions['writer'], divergence, m, lam, memory: Math.max(memory, 1), lineSearch, checkEvery,
    capture: capture as CaptureMode,
  };
}
