/**
 * What every solver does around its own update rule: check the arguments, resolve options,
 * pack x0, allocate scratch memory once, call func, measure residuals, keep the best iterate
 * per sample and the `indexing` snapshots, and build the result. A solver only writes its
 * iteration loop against a `Session`.
 */
import type { Storage } from '../backend/backend.js';
import type { TypedArray } from '../dtype.js';
import { StateLayout } from './layout.js';
import { FuncRunner, type Evaluation } from './evaluate.js';
import { Tracker } from './tracker.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { Workspace, copyAll, copyRows, readVectors, type Buf } from './workspace.js';
import type { SolveStatus, SolverFunc, SolverOptions, SolverResult, SolverState, SolverStats } from './types.js';

/** Per-sample residual norms and image norms (B each). */
export type Norms = [TypedArray, TypedArray];

export class Session {
  readonly name: string;
  readonly o: ResolvedOptions;
  readonly L: StateLayout;
  readonly ws: Workspace;
  readonly run: FuncRunner;
  readonly track: Tracker;
  /** The returned state: per sample, the best candidate so far (starts as x0). */
  readonly best: Buf;
  /** x0 packed (B, D). */
  readonly x0: Buf;
  private readonly trajectory: SolverState[] = [];
  private readonly normA: Buf;
  private readonly normB: Buf;
  /** (2B) residual norms then image norms, written by a backend's fused solver step. */
  readonly fusedNorms: Buf;

  /**
   * Starts a solve: validates `func`, `x0` and `options` (for `name`'s keys) and allocates
   * the common buffers. `width(o)` is the trace width for the resolved options.
   */
  constructor(name: string, func: unknown, x0: unknown, options: SolverOptions | undefined,
    width: (o: ResolvedOptions) => number) {
    this.name = name;
    if (typeof func !== 'function') {
      throw new Error(`${name}: expected func to be a function (z) => Tensor, received ${func === null ? 'null' : typeof func}`);
    }
    this.L = StateLayout.of(name, x0);
    this.o = resolveOptions(name, options);
    const L = this.L;
    this.ws = new Workspace(L.backend, L.dtype);
    this.x0 = this.ws.buf(L.B * L.D);
    L.pack(L.partsOf(name, 'x0', x0), this.x0.s);
    this.best = this.ws.buf(L.B * L.D);
    this.copyX0(this.best);
    this.run = new FuncRunner(name, func as SolverFunc<SolverState>, L, this.ws);
    this.track = new Tracker({
      B: L.B, stopMode: this.o.stopMode, width: width(this.o), tol: this.o.tol,
      returnFinal: this.o.returnFinal, divergence: this.o.divergence,
    });
    this.normA = this.ws.buf(L.B);
    this.normB = this.ws.buf(L.B);
    this.fusedNorms = this.ws.buf(2 * L.B);
  }

  /** A (rows * B * D)-element scratch buffer. */
  buf(rows = 1): Buf {
    return this.ws.buf(rows * this.L.B * this.L.D);
  }

  /** Copies x0 (packed) into `into`. */
  copyX0(into: Buf): void {
    copyAll(this.L.backend, this.x0.s, into.s);
  }

  /** One damped fixed-point step: out = tau f(x) + (1 - tau) x. */
  async dampedStep(x: Buf, out: Buf): Promise<void> {
    const e = await this.run.eval(x);
    this.L.backend.axpby(this.o.tau, e.s, 1 - this.o.tau, x.s, out.s);
    e.release();
  }

  /**
   * One damped fixed-point step with its residual norms: out = tau f(x) + (1 - tau) x and
   * [||out_b - x_b||, ||out_b||]. One fused backend call when the backend has
   * `fixedPointStep`, else `dampedStep` then the norms of the difference (in `diff`).
   * Synchronous (no promise, no microtask) when func and the read of the norms are.
   */
  dampedStepNorms(x: Buf, out: Buf, diff: Buf): Norms | Promise<Norms> {
    if (this.L.backend.fixedPointStep) {
      const e = this.run.eval(x);
      if (e instanceof Promise) return e.then((ev) => this.fusedStep(ev, x, out));
      return this.fusedStep(e, x, out);
    }
    return this.composedStepNorms(x, out, diff);
  }

  private fusedStep(e: Evaluation, x: Buf, out: Buf): Norms | Promise<Norms> {
    this.L.backend.fixedPointStep!(e.s, x.s, this.o.tau, out.s, this.fusedNorms.s, this.L.B, this.L.D);
    e.release();
    return this.readFusedNorms();
  }

  private async composedStepNorms(x: Buf, out: Buf, diff: Buf): Promise<Norms> {
    await this.dampedStep(x, out);
    this.L.backend.axpby(1, out.s, -1, x.s, diff.s);
    return this.norms(diff.s, out.s);
  }

  /**
   * The (2B) norms a fused step wrote to `fusedNorms`, as [residual norms, image norms]. On
   * backends with `readInto` these are views of one host buffer, overwritten by the next read,
   * returned synchronously; other backends read asynchronously.
   */
  readFusedNorms(): Norms | Promise<Norms> {
    const be = this.L.backend;
    const B = this.L.B;
    if (be.readInto) {
      if (this.normsHost === null) {
        const h = new Float64Array(2 * B);
        this.normsHost = [h, [h.subarray(0, B), h.subarray(B, 2 * B)]];
      }
      be.readInto(this.fusedNorms.s, this.normsHost[0]);
      return this.normsHost[1];
    }
    return be.readAsync(this.fusedNorms.s).then((v): Norms => [v.subarray(0, B), v.subarray(B, 2 * B)]);
  }
  private normsHost: [Float64Array, Norms] | null = null;

  /** Per-sample norms of two (B, D) storages: [||a_b||, ||c_b||]. */
  async norms(a: Storage, c: Storage): Promise<[TypedArray, TypedArray]> {
    const { backend, B, D } = this.L;
    backend.batchedNorm(a, this.normA.s, B, D);
    backend.batchedNorm(c, this.normB.s, B, D);
    const [na, nc] = await readVectors(backend, [this.normA.s, this.normB.s]);
    return [na, nc];
  }

  /**
   * Records step `step` with residuals `abs` and image norms `fNorm` (rel uses `+ eps`); the
   * samples that improved take `candidate` (B, D) as their best state; `indexing` steps
   * snapshot the best state.
   */
  accept(abs: ArrayLike<number>, fNorm: ArrayLike<number>, step: number, candidate: Storage, eps = 1e-9): void {
    if (this.track.record(abs, fNorm, step, eps)) {
      copyRows(this.L.backend, candidate, this.best.s, this.track.improved, this.L.D);
    }
    if (this.o.indexing.includes(step)) this.trajectory.push(this.L.unpack(this.best.s));
  }

  /** Builds the result from the best state and calls the writer. */
  finish<S extends SolverState>(): SolverResult<S> {
    const L = this.L;
    if (this.o.indexing.length > 0 && this.trajectory.length === 0) this.trajectory.push(L.unpack(this.best.s));
    return this.result<S>(this.best.s, this.trajectory as S[], this.track.stats(L.dtype, L.backend), this.track.status());
  }

  /** Builds a result from explicit parts (solvers without per-step tracking) and calls the writer. */
  result<S extends SolverState>(z: Storage, trajectory: S[], stats: SolverStats, status: SolveStatus[]): SolverResult<S> {
    const res: SolverResult<S> = { z: this.L.unpack(z) as S, trajectory, stats, status };
    this.o.writer?.(stats);
    return res;
  }

  /** Frees the scratch memory (always call, also on errors). */
  dispose(): void {
    this.ws.free();
  }
}
