/**
 * The `torchdeq` namespace: TorchDEQ's public API under its exact names and keyword arguments,
 * so a port from Python is mostly renaming (`import { torchdeq } from 'tsdeq'`). A thin adapter:
 * every function maps its snake_case arguments onto the camelCase implementation and calls it;
 * nothing here computes anything itself. Python keyword arguments become one object of the same
 * names (`backward_factory({ grad_type: 5, sup_gap: 2 })`); positional arguments stay positional
 * where TorchDEQ's are (`jac_reg(f0, z0, vecs)`, `power_method(f0, z0, n_iters)`).
 *
 * Where TorchDEQ ignores keys, so does this adapter, and only there: `backward_factory`'s extra
 * `**grad_factory_kwargs` (TorchDEQ documents that they are ignored) and, in `get_deq(args)` and
 * `apply_norm(model, { args })`, the other entries of a whole argparse dict (a training script's
 * `lr`, `epochs`, ...). A key that looks like a misspelt TorchDEQ name still throws with a hint.
 * Solver kwargs, norm kwargs and everything else are checked as in the camelCase API.
 */
import type { Tensor } from './tensor.js';
import { full, zeros } from './creation.js';
import { concat } from './ops/index_ops.js';
import { checkKeys, didYouMean } from './autograd/engine.js';
import { findBackend } from './backend/registry.js';
import { getSolver as getSolverImpl, registerSolver as registerSolverImpl, type Solver, type SolverOptions, type SolverResult, type SolverState, type SolverStats } from './solvers/index.js';
import { backwardFactory, type GradFunctor } from './grad/index.js';
import { getDeq, registerDeq, resetDeq, type DEQClass } from './deq/registry.js';
import type { DEQBase } from './deq/core.js';
import { DEQ_DEFAULTS, fromTorchDEQArgs, TORCHDEQ_ARG_NAMES } from './deq/options.js';
import { applyNorm, registerNorm, registerNormModule, removeNorm, resetNorm, type NormClass, type NormOptions, type ModuleClass } from './norm/index.js';
import { jacReg, powerMethod, fpCorrection, registerWeightFunc, type WeightFunc } from './loss/index.js';
import { mixedInit } from './utils/mixed_init.js';
import { memGc } from './utils/mem_gc.js';
import * as D from './dropout/index.js';
import type { AnyModule } from './nn/module.js';

type Kwargs = Record<string, unknown>;

function kwargsOf(where: string, v: unknown): Kwargs {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`${where}: expected keyword arguments as an object, received ${Array.isArray(v) ? 'an array' : typeof v}`);
  return v as Kwargs;
}

/** Drops null/undefined (Python's None = the default). */
function given(o: Kwargs): Kwargs {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

/** Renames keys by `names` (snake -> camel); unknown keys throw with a hint. */
function rename(where: string, o: Kwargs, names: Readonly<Record<string, string>>): Kwargs {
  checkKeys(where, o, Object.keys(names));
  const out: Kwargs = {};
  for (const [k, v] of Object.entries(given(o))) out[names[k]] = v;
  return out;
}

// ---- solvers ----------------------------------------------------------------------------

/** TorchDEQ's solver kwargs and ours. */
const SOLVER_NAMES: Readonly<Record<string, string>> = {
  max_iter: 'maxIter', tol: 'tol', stop_mode: 'stopMode', indexing: 'indexing', tau: 'tau', return_final: 'returnFinal',
  m: 'm', lam: 'lam', LBFGS_thres: 'memory', ls: 'lineSearch',
};
const SOLVER_CAMEL = Object.fromEntries(Object.entries(SOLVER_NAMES).map(([k, v]) => [v, k]));

/** TorchDEQ's solver statistics (`info`): the same tensors under TorchDEQ's keys. */
export interface SolverInfo {
  abs_lowest: Tensor;
  rel_lowest: Tensor;
  abs_trace: Tensor;
  rel_trace: Tensor;
  nstep: Tensor;
  sradius: Tensor;
}

/** A solver with TorchDEQ's signature: `(func, x0, kwargs) -> [z, indexing_list, info]`. */
export type TorchSolver = <S extends SolverState>(func: (z: S) => S | Promise<S>, x0: S, kwargs?: Kwargs) => Promise<[S, S[], SolverInfo]>;

function infoOf(s: SolverStats): SolverInfo {
  return { abs_lowest: s.absLowest, rel_lowest: s.relLowest, abs_trace: s.absTrace, rel_trace: s.relTrace, nstep: s.nstep, sradius: s.sradius };
}

/** A registered solver with TorchDEQ's signature (kwargs in snake_case, result as a tuple). */
function torchStyle(name: string): TorchSolver {
  const where = `torchdeq.${name}`;
  return async (func, x0, kwargs) => {
    const r = await getSolverImpl(name)(func, x0, rename(where, kwargsOf(where, kwargs), SOLVER_NAMES) as SolverOptions);
    return [r.z, r.trajectory, infoOf(r.stats)];
  };
}

/** A TorchDEQ-style solver function (or one of ours) as one of ours. */
function fromTorchSolver(where: string, fn: unknown): Solver {
  if (typeof fn !== 'function') throw new Error(`${where}: expected a solver function, received ${fn === null ? 'null' : typeof fn}`);
  return (async (func: (z: SolverState) => SolverState, x0: SolverState, opts: SolverOptions = {}) => {
    const kw: Kwargs = {};
    for (const [k, v] of Object.entries(opts)) if (SOLVER_CAMEL[k] !== undefined && v !== undefined) kw[SOLVER_CAMEL[k]] = v;
    const r = await (fn as (f: unknown, x: unknown, k: Kwargs) => unknown)(func, x0, kw);
    if (!Array.isArray(r)) return r as SolverResult; // one of ours
    const [z, trajectory, info] = r as [SolverState, SolverState[], Partial<SolverInfo> | undefined];
    const first = (Array.isArray(z) ? z[0] : z) as Tensor;
    const B = first.shape[0] ?? 1;
    const like = { dtype: first.dtype, backend: first.backend };
    const i = info ?? {};
    const stats: SolverStats = {
      absLowest: i.abs_lowest ?? zeros([B], like), relLowest: i.rel_lowest ?? zeros([B], like),
      absTrace: i.abs_trace ?? zeros([B, 1], like), relTrace: i.rel_trace ?? zeros([B, 1], like),
      nstep: i.nstep ?? zeros([B], like), sradius: i.sradius ?? zeros([1], like),
    };
    return { z, trajectory: trajectory ?? [], stats, status: new Array(B).fill('maxIter') };
  }) as Solver;
}

/** TorchDEQ's `anderson_solver(func, x0, { max_iter, tol, stop_mode, indexing, m, lam, tau, return_final })`. */
export const anderson_solver: TorchSolver = torchStyle('anderson');
/** TorchDEQ's `broyden_solver(func, x0, { max_iter, tol, stop_mode, indexing, LBFGS_thres, ls, return_final })`. */
export const broyden_solver: TorchSolver = torchStyle('broyden');
/** TorchDEQ's `fixed_point_iter(func, x0, { max_iter, tol, stop_mode, indexing, tau, return_final })`. */
export const fixed_point_iter: TorchSolver = torchStyle('fixed_point_iter');
/** TorchDEQ's `simple_fixed_point_iter(func, x0, { max_iter, tau, indexing })`. */
export const simple_fixed_point_iter: TorchSolver = torchStyle('simple_fixed_point_iter');

/** TorchDEQ's `get_solver(key)`: the registered solver with TorchDEQ's signature. @example get_solver('anderson') */
export function get_solver(key: string): TorchSolver {
  getSolverImpl(key); // unknown keys throw, listing the registered ones
  return torchStyle(key);
}

/**
 * TorchDEQ's `register_solver(solver_type, solver)`: `solver` has TorchDEQ's signature
 * `(func, x0, kwargs) => [z, indexing_list, info]` (or is one of ours); `get_deq({ f_solver })`
 * and `b_solver` can then name it.
 */
export function register_solver(solver_type: string, solver: unknown): void {
  registerSolverImpl(solver_type, fromTorchSolver('torchdeq.register_solver', solver));
}

/**
 * TorchDEQ's `solver_stat_from_final_step(z, fz, nstep=0)`: the stats of a solve judged by its
 * last step only (abs = ||f(z) - z|| per sample, rel = abs / (||f(z)|| + 1e-8), one-column traces,
 * sradius -1), composed from tensor ops. `z` and `fz` may be lists (multi-tensor states).
 * @example const info = torchdeq.solver_stat_from_final_step(z, f(z), 10);
 */
export function solver_stat_from_final_step(z: Tensor | Tensor[], fz: Tensor | Tensor[], nstep = 0): SolverInfo {
  const flat = (t: Tensor | Tensor[]): Tensor => (Array.isArray(t) ? concat(t.map((x) => x.reshape([x.shape[0], -1])), 1) : t.reshape([t.shape[0], -1]));
  const Z = flat(z), F = flat(fz);
  const abs = F.sub(Z).square().sum(1).sqrt();
  const rel = abs.div(F.square().sum(1).sqrt().add(1e-8));
  const like = { dtype: Z.dtype, backend: Z.backend };
  return {
    abs_lowest: abs, rel_lowest: rel, abs_trace: abs.unsqueeze(1), rel_trace: rel.unsqueeze(1),
    nstep: full([Z.shape[0]], nstep, like), sradius: full([1], -1, like),
  };
}

// ---- gradients -------------------------------------------------------------------------

/** TorchDEQ's `backward_factory` keyword arguments. */
export interface BackwardFactoryKwargs {
  grad_type?: 'ift' | number;
  hook_ift?: boolean;
  /** null (the default solver), a registered name, or a solver function (TorchDEQ's signature or ours). */
  b_solver?: string | TorchSolver | Solver | null;
  b_solver_kwargs?: Kwargs | null;
  sup_gap?: number;
  sup_loc?: number[] | null;
  tau?: number;
  /** Extra `**grad_factory_kwargs` are ignored, as TorchDEQ documents. */
  [grad_factory_kwargs: string]: unknown;
}

/**
 * TorchDEQ's `backward_factory(grad_type='ift', hook_ift=False, b_solver=None,
 * b_solver_kwargs=dict(), sup_gap=-1, sup_loc=None, tau=1.0, **grad_factory_kwargs)`.
 * @example const produce = torchdeq.backward_factory({ grad_type: 'ift', b_solver: 'anderson', b_solver_kwargs: { max_iter: 40, tol: 1e-8 } });
 */
export function backward_factory(kwargs: BackwardFactoryKwargs = {}): GradFunctor {
  const where = 'torchdeq.backward_factory';
  const o = given(kwargsOf(where, kwargs));
  const bSolver = typeof o.b_solver === 'function' ? fromTorchSolver(where, o.b_solver) : o.b_solver;
  return backwardFactory({
    gradType: o.grad_type as 'ift' | number | undefined,
    hookIft: o.hook_ift as boolean | undefined,
    bSolver: bSolver as string | Solver | undefined,
    bSolverKwargs: rename(`${where} (b_solver_kwargs)`, kwargsOf(`${where} (b_solver_kwargs)`, o.b_solver_kwargs), SOLVER_NAMES),
    supGap: o.sup_gap as number | undefined,
    supLoc: o.sup_loc as number[] | undefined,
    tau: o.tau as number | undefined,
  });
}

// ---- DEQ cores -------------------------------------------------------------------------

/** Entries of TorchDEQ's `add_deq_args` that `get_deq` does not read (norms, regularisation, monitoring). */
const NON_CORE_ARGS: Readonly<Kwargs> = {
  norm_type: 'weight_norm', norm_no_scale: false, norm_clip: false, norm_clip_value: 1.0, norm_target_norm: 1.0,
  sn_n_power_iters: 1, gamma: 0.8, jac_loss_weight: 0.0, jac_loss_freq: 0.0, jac_incremental: 0, sradius_mode: false,
};

/**
 * The dict TorchDEQ's `add_deq_args(parser)` gives after parsing: every DEQ argument with its
 * default, overridden by `overrides` (other keys pass through, as in an argparse namespace).
 * @example const args = torchdeq.add_deq_args({ f_solver: 'anderson', ift: true });
 */
export function add_deq_args(overrides: Kwargs = {}): Kwargs {
  const core: Kwargs = {};
  for (const [snake, camel] of Object.entries(TORCHDEQ_ARG_NAMES)) {
    const v = DEQ_DEFAULTS[camel];
    core[snake] = Array.isArray(v) ? [...v] : v;
  }
  return { ...core, ...NON_CORE_ARGS, ...kwargsOf('torchdeq.add_deq_args', overrides) };
}

/** Keys of a whole argparse dict that are neither TorchDEQ's nor ignorable (a near miss of a TorchDEQ name). */
function checkArgs(where: string, args: Kwargs, known: readonly string[]): void {
  for (const k of Object.keys(args)) {
    if (known.includes(k)) continue;
    const hint = didYouMean([k], known);
    if (hint) throw new Error(`${where}: unknown argument '${k}'${hint} (other entries of an argparse dict are ignored, as in TorchDEQ)`);
  }
}

/**
 * TorchDEQ's `get_deq(args=None, **kwargs)`: `args` is the whole argparse dict (as
 * `add_deq_args` makes it, norm/jac/sradius entries and the script's own entries included,
 * which the core does not read), `kwargs` override it. Returns the DEQ core (an `nn.Module`).
 * @example const deq = torchdeq.get_deq({ core: 'sliced', f_solver: 'anderson', f_max_iter: 30, ift: true });
 */
export function get_deq(args: Kwargs | null = null, kwargs: Kwargs = {}): DEQBase {
  const where = 'torchdeq.get_deq';
  const all = { ...kwargsOf(where, args), ...kwargsOf(where, kwargs) };
  const coreNames = Object.keys(TORCHDEQ_ARG_NAMES);
  checkArgs(where, all, [...coreNames, ...Object.keys(NON_CORE_ARGS)]);
  return getDeq(fromTorchDEQArgs(Object.fromEntries(Object.entries(all).filter(([k]) => coreNames.includes(k)))));
}

/** TorchDEQ's `register_deq(deq_type, core)`. */
export function register_deq(deq_type: string, core: DEQClass): void {
  registerDeq(deq_type, core);
}

/** TorchDEQ's `reset_deq(model)`: reset norms and dropout masks before a training step. */
export const reset_deq = resetDeq;

// ---- norms -----------------------------------------------------------------------------

const NORM_NAMES: Readonly<Record<string, string>> = {
  names: 'names', dims: 'dims', learn_scale: 'learnScale', target_norm: 'targetNorm', clip: 'clip', clip_value: 'clipValue',
  n_power_iterations: 'nPowerIterations', eps: 'eps',
};

/** TorchDEQ's `apply_norm` keyword arguments (the norm's own kwargs plus the filters and `args`). */
export interface ApplyNormKwargs {
  norm_type?: string;
  prefix_filter_out?: string | string[] | null;
  filter_out?: string | string[] | null;
  /** A whole argparse dict: norm_type, norm_no_scale, norm_target_norm, norm_clip, norm_clip_value, sn_n_power_iters win over the kwargs. */
  args?: Kwargs | null;
  names?: string | string[];
  dims?: number | number[];
  learn_scale?: boolean;
  target_norm?: number;
  clip?: boolean;
  clip_value?: number;
  n_power_iterations?: number;
  eps?: number;
}

/**
 * TorchDEQ's `apply_norm(model, norm_type='weight_norm', prefix_filter_out=None,
 * filter_out=None, args=None, **norm_kwargs)`; `args` entries win (TorchDEQ's priority).
 * Returns the names of the normalised modules.
 * @example torchdeq.apply_norm(model, { args: torchdeq.add_deq_args({ norm_type: 'spectral_norm' }) })
 */
export function apply_norm(model: AnyModule, normTypeOrKwargs?: string | ApplyNormKwargs, kwargs: ApplyNormKwargs = {}): string[] {
  const where = 'torchdeq.apply_norm';
  const kw = typeof normTypeOrKwargs === 'string' ? { ...kwargsOf(where, kwargs), norm_type: normTypeOrKwargs } : kwargsOf(where, normTypeOrKwargs);
  const { norm_type, prefix_filter_out, filter_out, args, ...normKwargs } = kw as ApplyNormKwargs & Kwargs;
  const a = given(kwargsOf(`${where} (args)`, args));
  checkArgs(`${where} (args)`, a, [...Object.keys(TORCHDEQ_ARG_NAMES), ...Object.keys(NON_CORE_ARGS)]);
  const opts = rename(where, normKwargs, NORM_NAMES) as NormOptions & Kwargs;
  const normType = (a.norm_type ?? norm_type ?? 'weight_norm') as string;
  if (a.norm_no_scale !== undefined) opts.learnScale = !a.norm_no_scale;
  if (a.norm_target_norm !== undefined) opts.targetNorm = a.norm_target_norm as number;
  if (a.norm_clip !== undefined) opts.clip = a.norm_clip as boolean;
  if (a.norm_clip_value !== undefined) opts.clipValue = a.norm_clip_value as number;
  if (a.sn_n_power_iters !== undefined && normType === 'spectral_norm') opts.nPowerIterations = a.sn_n_power_iters as number;
  if (normType === 'none') return [];
  const out: NormOptions = { ...opts, normType };
  if (prefix_filter_out != null) out.prefixFilterOut = prefix_filter_out;
  if (filter_out != null) out.filterOut = filter_out;
  return applyNorm(model, out);
}

/** TorchDEQ's `reset_norm(model)`. */
export const reset_norm = resetNorm;
/** TorchDEQ's `remove_norm(model)`. */
export const remove_norm = removeNorm;

/** TorchDEQ's `register_norm(norm_type, norm_class)` (a tsdeq `NormClass`). */
export function register_norm(norm_type: string, norm_class: NormClass<any>): void {
  registerNorm(norm_type, norm_class);
}

/** TorchDEQ's `register_norm_module(module_class, norm_type, names='weight', dims=0)`. */
export function register_norm_module(module_class: ModuleClass, norm_type: string, names: string | string[] = 'weight', dims: number | number[] = 0): void {
  registerNormModule(module_class, norm_type, names, dims);
}

// ---- losses and utilities ----------------------------------------------------------------

/**
 * TorchDEQ's `jac_reg(f0, z0, vecs=1, create_graph=True)`.
 * @example const r = await torchdeq.jac_reg(f0, z0, 1);
 */
export function jac_reg(f0: Tensor, z0: Tensor, vecs: number | { vecs?: number; create_graph?: boolean } = 1, create_graph = true): Promise<Tensor> {
  if (typeof vecs === 'object' && vecs !== null) {
    const o = rename('torchdeq.jac_reg', vecs as Kwargs, { vecs: 'vecs', create_graph: 'createGraph' });
    return jacReg(f0, z0, o);
  }
  return jacReg(f0, z0, { vecs, createGraph: create_graph });
}

/**
 * TorchDEQ's `power_method(f0, z0, n_iters=100)`: resolves to `[eigenvector, eigenvalue]`.
 * @example const [v, rho] = await torchdeq.power_method(f0, z0, 100);
 */
export async function power_method(f0: Tensor, z0: Tensor, n_iters = 100): Promise<[Tensor, Tensor]> {
  const r = await powerMethod(f0, z0, { nIters: n_iters });
  return [r.eigenvector, r.eigenvalue];
}

/**
 * TorchDEQ's `fp_correction(crit, args, weight_func='exp', return_loss_values=False,
 * **kwargs)` (kwargs go to the weight function: gamma, bias, c). With return_loss_values it
 * resolves to `[loss, loss_values]`.
 * @example const loss = torchdeq.fp_correction(crit, [zOut, y], { gamma: 0.8 });
 */
export function fp_correction(crit: (...a: any[]) => Tensor, args: readonly unknown[],
  kwargs: { weight_func?: string; return_loss_values?: boolean; [weight_kwargs: string]: unknown } = {}): Tensor | Promise<[Tensor, number[]]> {
  const { weight_func, return_loss_values, ...weightArgs } = kwargsOf('torchdeq.fp_correction', kwargs);
  const opts = { weightFunc: (weight_func as string | undefined) ?? 'exp', weightArgs: weightArgs as Record<string, number> };
  if (return_loss_values === true) {
    return fpCorrection(crit, args, { ...opts, returnLossValues: true }).then((r) => [r.loss, r.lossValues]);
  }
  return fpCorrection(crit, args, opts);
}

/** TorchDEQ's `register_weight_func(name, func)`; `func(n, k, kwargs)`. */
export function register_weight_func(name: string, func: WeightFunc): void {
  registerWeightFunc(name, func);
}

/** TorchDEQ's `mixed_init(z_shape, device=None)`; `device` is a backend name. */
export function mixed_init(z_shape: readonly number[], device: string | null = null): Tensor {
  if (device === null) return mixedInit(z_shape);
  const backend = findBackend(device);
  if (!backend) throw new Error(`torchdeq.mixed_init: unknown device '${device}'; expected a registered backend name`);
  return mixedInit(z_shape, { backend });
}

/** TorchDEQ's `mem_gc(func, in_args=None)`. */
export function mem_gc(func: Parameters<typeof memGc>[0], in_args: Tensor[] | null = null): Tensor {
  return memGc(func, in_args ?? []);
}

// ---- dropout (TorchDEQ's constructor arguments: dropout=0.5, token_first=True) -------------

export const VariationalDropout = D.VariationalDropout;
/** TorchDEQ's `VariationalDropout1d(dropout=0.5, token_first=True)`. */
export class VariationalDropout1d extends D.VariationalDropout1d {
  constructor(dropout = 0.5, token_first = true, opts: D.VariationalDropoutOptions = {}) { super(dropout, { ...opts, tokenFirst: token_first }); }
}
/** TorchDEQ's `VariationalDropout2d(dropout=0.5, token_first=True)`. */
export class VariationalDropout2d extends D.VariationalDropout2d {
  constructor(dropout = 0.5, token_first = true, opts: D.VariationalDropoutOptions = {}) { super(dropout, { ...opts, tokenFirst: token_first }); }
}
/** TorchDEQ's `VariationalDropout3d(dropout=0.5, token_first=True)`. */
export class VariationalDropout3d extends D.VariationalDropout3d {
  constructor(dropout = 0.5, token_first = true, opts: D.VariationalDropoutOptions = {}) { super(dropout, { ...opts, tokenFirst: token_first }); }
}
/** TorchDEQ's `VariationalDropToken1d(dropout=0.5, token_first=True)`. */
export class VariationalDropToken1d extends D.VariationalDropToken1d {
  constructor(dropout = 0.5, token_first = true, opts: D.VariationalDropoutOptions = {}) { super(dropout, { ...opts, tokenFirst: token_first }); }
}
/** TorchDEQ's `VariationalDropToken2d(dropout=0.5, token_first=True)`. */
export class VariationalDropToken2d extends D.VariationalDropToken2d {
  constructor(dropout = 0.5, token_first = true, opts: D.VariationalDropoutOptions = {}) { super(dropout, { ...opts, tokenFirst: token_first }); }
}
/** TorchDEQ's `VariationalDropToken3d(dropout=0.5, token_first=True)`. */
export class VariationalDropToken3d extends D.VariationalDropToken3d {
  constructor(dropout = 0.5, token_first = true, opts: D.VariationalDropoutOptions = {}) { super(dropout, { ...opts, tokenFirst: token_first }); }
}
/** TorchDEQ's `reset_dropout(model)`. */
export const reset_dropout = D.resetDropout;
