/**
 * DEQ cores: the layer a TorchDEQ user calls as `deq(f, zInit)`. One base class owns the
 * solve, the gradient functors (from `backwardFactory`), train/eval and multi-tensor states;
 * the two registered cores differ only in how the training trajectory is sampled:
 * - 'sliced': the solve is cut into segments; each segment's estimate goes through its
 *   gradient functor and the functor's output (with its graph) starts the next segment.
 * - 'indexing': one solve; the solver hands back its best estimate at the sampled steps and
 *   the gradient functors are applied beside the solve.
 *
 * References: Bai, Kolter, Koltun, "Deep Equilibrium Models" (NeurIPS 2019); Geng et al.,
 * "On Training Implicit Models" (NeurIPS 2021); Geng & Kolter, "TorchDEQ" (2023).
 */
import { Tensor } from '../tensor.js';
import { zeros } from '../creation.js';
import { Module } from '../nn/module.js';
import { withMode, isGradEnabled, isPromiseLike, releaseFrom, didYouMean } from '../autograd/engine.js';
import { peekNextTensorId } from '../tensor.js';
import { getSolver, type SolverOptions, type SolverResult } from '../solvers/index.js';
import { SOLVER_KEYS, type CaptureMode } from '../solvers/options.js';
import { backwardFactory, checkFailureMode, type BackwardFailureMode, type BackwardSolveInfo, type BackwardWriter, type GradFunctor } from '../grad/index.js';
import { powerMethod } from '../loss/index.js';
import { resolveDEQOptions, evalMaxIter, type DEQOptions, type ResolvedDEQOptions } from './options.js';
import { packer, type StatePacker } from './pack.js';
import { OffloadCache, checkOffload, offloadFunc, offloadTarget, type OffloadMode } from '../offload/offload.js';
import { findBackend } from '../backend/registry.js';
import { toAsync } from '../ops/transfer.js';
import type { Backend } from '../backend/backend.js';
import { show } from '../utils/format.js';

/**
 * What `forward` returns: the sampled states (training) or `[z*]` (eval), and the solver
 * stats. `info.bStats` starts empty and receives the outcome of each IFT backward solve run
 * through these outputs (status and residuals as plain numbers; no writer needed).
 */
export interface DEQResult<Z> {
  zOut: Z[];
  info: SolverResult['stats'] & { sradius: Tensor; bStats: BackwardSolveInfo[] };
}

export interface DEQForwardOptions {
  /**
   * Per-call solver options overriding the defaults (`fMaxIter` here overrides the iteration
   * count; 0 skips the solve, as deq-zoo's deq-inr does after its first step; `offload`
   * overrides the core's `offload` option for this call).
   */
  solverKwargs?: Partial<SolverOptions> & { fMaxIter?: number; offload?: OffloadMode };
  /** In eval mode, estimate the spectral radius at z* with 100 power iterations. */
  sradiusMode?: boolean;
  /** Called with the stats of every IFT backward solve (it owns those tensors). */
  backwardWriter?: BackwardWriter;
  /** What an IFT backward solve through these outputs that does not converge does (default: the layer's `bFailure`). */
  bFailure?: BackwardFailureMode;
}

const FORWARD_KEYS = ['solverKwargs', 'sradiusMode', 'backwardWriter', 'bFailure'];

type ZLike = Tensor | Tensor[];

/** The packed map z -> f(z) the solver and the gradient functors see (async when the user's func is). */
type StateFunc = (z: Tensor) => Tensor | Promise<Tensor>;

/**
 * Runs the gradient functor `i` on a sampled state with the grad mode captured when `forward`
 * was called (per call, never a process-wide flag held across an await).
 */
type FunctorCall = (i: number, f: StateFunc, zPred: Tensor) => Promise<Tensor[]>;

/**
 * The base of DEQ cores. A DEQ core is an `nn.Module` (as TorchDEQ's `DEQBase` is a
 * `torch.nn.Module`) without tensors of its own: register it in a model
 * (`this.registerModule('deq', getDeq(...))`) and `model.train()` / `model.eval()` reach it.
 * Training mode samples states with gradient functors; eval mode runs one solve of
 * `evalFMaxIter` steps under `noGrad` (no graph kept) and returns `[z*]`.
 */
export abstract class DEQBase extends Module<[func: (z: any) => any, zInit: any, opts?: DEQForwardOptions], Promise<DEQResult<any>>> {
  readonly options: ResolvedDEQOptions;
  /** Sampling plan for training: segment lengths (sliced) or cumulative steps (indexing). */
  readonly samplePlan: number[];
  protected readonly produceGrad: GradFunctor[];

  constructor(opts: DEQOptions = {}) {
    super();
    this.options = resolveDEQOptions(opts);
    getSolver(this.options.fSolver); // fail early on unknown names
    getSolver(this.options.bSolver);
    this.samplePlan = this.plan(this.options.fMaxIter);
    const o = this.options;
    const grads = o.grad.length === 1 ? this.samplePlan.map(() => o.grad[0]) : o.grad;
    if (grads.length !== this.samplePlan.length) {
      throw new Error(`getDeq: option 'grad' expected 1 or ${this.samplePlan.length} values (one per sampled state), received ${o.grad.length}`);
    }
    this.produceGrad = grads.map((k) => backwardFactory({ gradType: k, tau: o.tau, supGap: o.supGap, supLoc: o.supLoc }));
    if (o.ift || o.hookIft) {
      this.produceGrad[this.produceGrad.length - 1] = backwardFactory({
        gradType: 'ift', hookIft: o.hookIft, bSolver: o.bSolver,
        bSolverKwargs: { maxIter: o.bMaxIter, tol: o.bTol, stopMode: o.bStopMode, ...captureKwarg(o.bSolver, o.capture) }, bFailure: o.bFailure,
      });
    }
  }

  /** The sampling plan for a training solve of `fMaxIter` steps. */
  protected abstract plan(fMaxIter: number): number[];

  /** Training-mode solve(s) and gradient functors; returns the functors' outputs and the last stats. */
  protected abstract trainForward(func: StateFunc, z0: Tensor, plan: number[],
    solverKwargs: Partial<SolverOptions>, call: FunctorCall): Promise<{ zOut: Tensor[]; stats: SolverResult['stats'] }>;


  /**
   * Solves z = func(z) from `zInit` and attaches gradients.
   * @example
   * const deq = getDeq({ fSolver: 'anderson', fMaxIter: 30, ift: true });
   * const { zOut, info } = await deq.forward((z) => tanh(linear(z, W).add(inj)), zeros([B, d]));
   */
  async forward<Z extends ZLike>(func: (z: Z) => Z | Promise<Z>, zInit: Z, opts: DEQForwardOptions = {}): Promise<DEQResult<Z>> {
    // The caller's grad mode, captured now: everything this call records uses it.
    const record = isGradEnabled();
    for (const k of Object.keys(opts)) {
      if (!FORWARD_KEYS.includes(k)) {
        throw new Error(`deq.forward: unknown option '${k}'; valid options are ${FORWARD_KEYS.map((v) => `'${v}'`).join(', ')}${didYouMean([k], FORWARD_KEYS)}`);
      }
    }
    if (typeof func !== 'function') throw new Error(`deq.forward: expected func to be a function, received ${typeof func}`);
    const pk: StatePacker = packer('deq.forward', zInit);
    const f: StateFunc = (z) => {
      const r = func(pk.unpack(z) as Z);
      return isPromiseLike(r) ? Promise.resolve(r).then((v) => pk.pack(v)) : pk.pack(r);
    };
    const { fMaxIter, ...solverKwargs } = { ...(opts.solverKwargs ?? {}) };
    if (fMaxIter !== undefined && !(Number.isInteger(fMaxIter) && fMaxIter >= 0)) {
      throw new Error(`deq.forward: solverKwargs.fMaxIter expected a non-negative integer (0 skips the solve), received ${show(fMaxIter)}`);
    }
    if (opts.backwardWriter !== undefined && typeof opts.backwardWriter !== 'function') {
      throw new Error(`deq.forward: option 'backwardWriter' expected a function (stats) => void, received ${typeof opts.backwardWriter}`);
    }
    if (opts.sradiusMode !== undefined && typeof opts.sradiusMode !== 'boolean') {
      throw new Error(`deq.forward: option 'sradiusMode' expected a boolean, received ${show(opts.sradiusMode)}`);
    }
    if (opts.bFailure !== undefined) checkFailureMode('deq.forward', opts.bFailure);
    const bStats: BackwardSolveInfo[] = [];
    if ('maxIter' in solverKwargs) {
      throw new Error("deq.forward: solverKwargs.maxIter is set by the DEQ core; pass solverKwargs.fMaxIter to override the iteration count");
    }
    const z0 = pk.pack(zInit);
    const { offload, ...kwargs } = solverKwargs as Partial<SolverOptions> & { offload?: unknown };
    const mode = offload === undefined ? this.options.offload : checkOffload('deq.forward (solverKwargs)', offload);
    const gpu = offloadTarget('deq.forward', mode, z0, findBackend);
    if (gpu) {
      // The solve and its backward on the GPU; the outputs come back through differentiable copies.
      const cache = this.offloadCache(gpu);
      const z0g = cache.copyOf(z0);
      if (z0 !== zInit) z0.dispose();
      const res = await this.run(offloadFunc('deq.forward', cache, f), z0g, fMaxIter, kwargs, opts, record, bStats);
      z0g.dispose();
      const home = { backend: z0.backend, dtype: z0.dtype };
      const back = async (t: Tensor): Promise<Tensor> => {
        const h = await toAsync(t, home);
        t.dispose();
        return h;
      };
      const zOut = await Promise.all(res.zOut.map((z) => toAsync(z, home)));
      const info = {} as DEQResult<Z>['info'];
      // Tensors come home; plain values (bStats, filled by the backward later) stay as they are.
      for (const [k, t] of Object.entries(res.info)) (info as unknown as Record<string, unknown>)[k] = t instanceof Tensor ? await back(t) : t;
      return { zOut: zOut.map((z) => pk.unpack(z) as Z), info };
    }
    let res: { zOut: Tensor[]; info: DEQResult<Tensor>['info'] };
    try {
      res = await this.run(f, z0, fMaxIter, kwargs, opts, record, bStats);
    } finally {
      if (z0 !== zInit) z0.dispose(); // also when the forward fails
    }
    return { zOut: res.zOut.map((z) => unpackOwned(pk, z) as Z), info: res.info };
  }

  /** GPU copies of the tensors func touches, kept across calls (see src/offload/offload.ts). */
  private offloadCaches = new Map<Backend, OffloadCache>();
  private offloadCache(gpu: Backend): OffloadCache {
    let c = this.offloadCaches.get(gpu);
    if (!c) this.offloadCaches.set(gpu, (c = new OffloadCache(gpu)));
    return c;
  }

  /** The solve(s) and gradient functors on packed states; z0 is left to the caller. */
  private async run(f: StateFunc, z0: Tensor, fMaxIter: number | undefined, solverKwargs: Partial<SolverOptions>,
    opts: DEQForwardOptions, record: boolean, bStats: BackwardSolveInfo[]): Promise<{ zOut: Tensor[]; info: DEQResult<Tensor>['info'] }> {
    if (this.training) {
      const plan = fMaxIter !== undefined ? this.plan(fMaxIter) : this.samplePlan;
      const firstEpoch = peekNextTensorId();
      const writer = opts.backwardWriter;
      const fopts = opts.bFailure !== undefined ? { writer, bStats, bFailure: opts.bFailure } : { writer, bStats };
      const call: FunctorCall = (i, fn, zPred) => withMode(record, () => this.produceGrad[i](this, fn, zPred, fopts));
      let { zOut, stats } = await this.trainForward(f, z0, plan, solverKwargs, call);
      // Under noGrad nothing is recorded, even by an async func's later part.
      if (!record) zOut = zOut.map((z) => dropGraph(z, firstEpoch));
      stats.sradius.dispose(); // replaced below
      return { zOut, info: { ...stats, sradius: zeros([1], { dtype: z0.dtype, backend: z0.backend }), bStats } };
    }
    const res = await this.solve(f, z0, fMaxIter ?? evalMaxIter(this.options), solverKwargs);
    let sradius: Tensor;
    if (opts.sradiusMode) {
      const zs = res.z.detach().requireGrad();
      let f0 = withMode(true, () => f(zs));
      if (f0 instanceof Promise) f0 = await f0;
      const pm = await powerMethod(f0, zs, { nIters: 100 });
      pm.eigenvector.dispose();
      f0.dispose();
      zs.dispose();
      sradius = pm.eigenvalue;
    } else {
      sradius = zeros([1], { dtype: res.z.dtype, backend: res.z.backend });
    }
    res.stats.sradius.dispose(); // replaced by the one computed here
    for (const t of res.trajectory) disposeAll(Array.isArray(t) ? t : [t]);
    return { zOut: [res.z], info: { ...res.stats, sradius, bStats } };
  }

  /** One no-grad solve with the forward solver and this layer's tolerances. */
  protected async solve(f: StateFunc, z0: Tensor, maxIter: number,
    solverKwargs: Partial<SolverOptions>, indexing?: number[]): Promise<SolverResult> {
    const o = this.options;
    const solver = getSolver(o.fSolver);
    const opts: Partial<SolverOptions> = { tol: o.fTol, stopMode: o.fStopMode, ...captureKwarg(o.fSolver, o.capture), ...solverKwargs, maxIter };
    // Steps below 1 (a plan for fMaxIter 0) are never reached; their states are the start state.
    if (indexing) opts.indexing = indexing.filter((i) => i >= 1);
    // Solvers call func under noGrad themselves (its synchronous part; see SolverFunc).
    const start = z0.detach();
    try {
      return await solver(f, start, opts);
    } finally {
      start.dispose();
    }
  }

  /** Runs gradient functor `i` on a detached handle of `z` (the functor detaches it again), freeing the handle. */
  protected async functor(call: FunctorCall, i: number, f: StateFunc, z: Tensor): Promise<Tensor[]> {
    const zs = z.detach();
    try {
      return await call(i, f, zs);
    } finally {
      zs.dispose();
    }
  }
}

/**
 * TorchDEQ's DEQSliced: segments of the solve, each followed by its gradient functor.
 * @example const deq = getDeq({ core: 'sliced', nStates: 2, grad: 2 });
 */
export class DEQSliced extends DEQBase {
  protected plan(fMaxIter: number): number[] {
    const o = this.options;
    if (o.nStates > 1) return Array.from({ length: o.nStates }, () => Math.trunc(fMaxIter / o.nStates));
    const cuts = [0, ...o.indexing, fMaxIter];
    return cuts.slice(1).map((c, i) => c - cuts[i]);
  }

  protected async trainForward(f: StateFunc, z0: Tensor, plan: number[],
    solverKwargs: Partial<SolverOptions>, call: FunctorCall) {
    const zOut: Tensor[] = [];
    let z = z0;
    let stats: SolverResult['stats'] | undefined;
    try {
      for (let i = 0; i < plan.length; i++) {
        const res = await this.solve(f, z, plan[i], solverKwargs);
        if (stats) disposeAll(Object.values(stats)); // only the last segment's stats are returned
        stats = res.stats;
        try {
          zOut.push(...(await this.functor(call, i, f, res.z)));
        } finally {
          disposeAll([res.z, ...res.trajectory]);
        }
        z = zOut[zOut.length - 1];
      }
    } catch (e) {
      disposeAll([...zOut, ...(stats ? Object.values(stats) : [])]);
      throw e;
    }
    return { zOut, stats: stats! };
  }
}

/**
 * TorchDEQ's DEQIndexing: one solve, gradient functors applied to states sampled from it.
 * @example const deq = getDeq({ core: 'indexing', indexing: [10], ift: true });
 */
export class DEQIndexing extends DEQBase {
  protected plan(fMaxIter: number): number[] {
    const o = this.options;
    if (o.nStates > 1) {
      const n = Math.max(Math.min(fMaxIter, o.nStates), 1);
      const delta = Math.trunc(fMaxIter / n);
      if (fMaxIter % n === 0) return Array.from({ length: n }, (_, k) => (k + 1) * delta);
      return Array.from({ length: n }, (_, k) => fMaxIter - (n - k - 1) * delta);
    }
    return [...o.indexing, fMaxIter];
  }

  protected async trainForward(f: StateFunc, z0: Tensor, plan: number[],
    solverKwargs: Partial<SolverOptions>, call: FunctorCall) {
    const res = await this.solve(f, z0, plan[plan.length - 1], solverKwargs, plan);
    // Difference from TorchDEQ (its issue #7): when the solve stops early, steps it never
    // reached are served by its best estimate, so every functor (IFT on the last) still runs
    // and the last output always comes from the solver's best estimate.
    const states = plan.map((_, i) => (i < res.trajectory.length && i < plan.length - 1 ? res.trajectory[i] : res.z));
    const zOut: Tensor[] = [];
    try {
      for (let i = 0; i < plan.length; i++) zOut.push(...(await this.functor(call, i, f, states[i])));
    } catch (e) {
      disposeAll([...zOut, ...Object.values(res.stats)]);
      throw e;
    } finally {
      disposeAll([res.z, ...res.trajectory]);
    }
    return { zOut, stats: res.stats };
  }
}

/** A plain handle on `z` whose graph (recorded at or after `firstEpoch`) is released. */
function dropGraph(z: Tensor, firstEpoch: number): Tensor {
  if (z.node === null) return z;
  const plain = z.detach();
  releaseFrom(z.node, firstEpoch);
  z.dispose();
  return plain;
}

function disposeAll(ts: readonly Tensor[]): void {
  for (const t of ts) if (!t.isDisposed) t.dispose();
}

function remove(list: Tensor[], t: Tensor): void {
  const i = list.indexOf(t);
  if (i >= 0) list.splice(i, 1);
}

/** Unpacks a packed output for the user, disposing the packed handle when unpacking made new tensors. */
function unpackOwned(pk: StatePacker, z: Tensor): Tensor | Tensor[] {
  const u = pk.unpack(z);
  if (u !== z) z.dispose();
  return u;
}

/**
 * The `capture` option for a solver that takes it (the built-in solvers with a loop to replay);
 * 'auto' is every solver's default and is not passed, so solvers without the option keep working.
 */
function captureKwarg(solver: string, mode: CaptureMode): Partial<SolverOptions> {
  return mode !== 'auto' && SOLVER_KEYS[solver]?.includes('capture') ? { capture: mode } : {};
}
