/**
 * What every solver does around its own update rule: check the arguments, resolve options,
 * pack x0, allocate scratch memory once, call func, measure residuals, keep the best iterate
 * per sample and the `indexing` snapshots, and build the result. A solver only writes its
 * iteration loop against a `Session`.
 */
import type { LoopCapture, Storage } from '../backend/backend.js';
import { Tensor } from '../tensor.js';
import type { TypedArray } from '../dtype.js';
import { StateLayout } from './layout.js';
import { FuncRunner, type Evaluation } from './evaluate.js';
import { Tracker } from './tracker.js';
import { resolveOptions, defaultCheckEvery, type ResolvedOptions } from './options.js';
import { DeviceTracker, type StallRule, type StatusSource } from './device_tracker.js';
import { attachStatus } from './status.js';
import { Workspace, copyAll, copyRows, readVectors, type Buf } from './workspace.js';
import type { SolveStatus, SolverFunc, SolverOptions, SolverResult, SolverState, SolverStats } from './types.js';

/** What `record` takes besides the fused norms: [f(x) - x, f(x)] storages, or nothing. */
export type Pair = [Storage, Storage] | undefined;

/** Per-sample residual norms and image norms (B each). */
export type Norms = [TypedArray, TypedArray];

export class Session {
  readonly name: string;
  readonly o: ResolvedOptions;
  readonly L: StateLayout;
  readonly ws: Workspace;
  readonly run: FuncRunner;
  /** Host bookkeeping (checkEvery 1 on a synchronously readable backend), else null. */
  readonly track: Tracker | null;
  /** Device bookkeeping (checkEvery > 1, or a backend that only reads asynchronously), else null. */
  readonly dev: DeviceTracker | null;
  /** The resolved `checkEvery`. */
  readonly checkEvery: number;
  /** The returned state: per sample, the best candidate so far (starts as x0). */
  readonly best: Buf;
  /** x0 packed (B, D). */
  readonly x0: Buf;
  private readonly trajectory: { step: number; state: SolverState }[] = [];
  private readonly stall: StallRule | null;
  private readonly normA: Buf;
  private readonly normB: Buf;
  /** (2B) residual norms then image norms, written by a backend's fused solver step. */
  readonly fusedNorms: Buf;

  /**
   * Starts a solve: validates `func`, `x0` and `options` (for `name`'s keys) and allocates
   * the common buffers. `width(o)` is the trace width for the resolved options.
   */
  constructor(name: string, func: unknown, x0: unknown, options: SolverOptions | undefined,
    width: (o: ResolvedOptions) => number, stall: StallRule | null = null) {
    this.name = name;
    if (typeof func !== 'function') {
      throw new Error(`${name}: expected func to be a function (z) => Tensor, received ${func === null ? 'null' : typeof func}`);
    }
    this.L = StateLayout.of(name, x0);
    this.o = resolveOptions(name, options);
    const L = this.L;
    this.ws = new Workspace(L.backend, L.dtype, name);
    try {
      this.x0 = this.ws.buf(L.B * L.D);
      L.pack(L.partsOf(name, 'x0', x0), this.x0.s);
      this.best = this.ws.buf(L.B * L.D);
      this.copyX0(this.best);
      this.run = new FuncRunner(name, func as SolverFunc<SolverState>, L, this.ws);
      this.checkEvery = defaultCheckEvery(this.o, L.backend);
      this.stall = stall;
      // The bookkeeping stays on the backend unless every step is tested on a backend that reads
      // synchronously (the host Tracker: TorchDEQ's loop, step by step).
      const onDevice = this.checkEvery > 1 || L.backend.asyncOnly === true;
      this.dev = onDevice ? new DeviceTracker(this.ws, L.B, L.D, width(this.o), this.o, this.checkEvery, stall) : null;
      this.track = onDevice ? null : new Tracker({
        B: L.B, stopMode: this.o.stopMode, width: width(this.o), tol: this.o.tol,
        returnFinal: this.o.returnFinal, divergence: this.o.divergence,
      });
      this.normA = this.ws.buf(L.B);
      this.normB = this.ws.buf(L.B);
      this.fusedNorms = this.ws.buf(2 * L.B);
    } catch (e) {
      this.ws.free(); // a failed start frees what it allocated
      throw e;
    }
  }

  /** A (rows * B * D)-element scratch buffer; `why` names the option that sized it (see Workspace.buf). */
  buf(rows = 1, why?: string): Buf {
    return this.ws.buf(rows * this.L.B * this.L.D, true, why);
  }

  /** Copies x0 (packed) into `into`. */
  copyX0(into: Buf): void {
    copyAll(this.L.backend, this.x0.s, into.s);
  }

  /** One damped fixed-point step: out = tau f(x) + (1 - tau) x (without a promise when func is synchronous). */
  dampedStep(x: Buf, out: Buf): void | Promise<void> {
    const e = this.run.eval(x);
    const after = (ev: Evaluation): void => {
      this.L.backend.axpby(this.o.tau, ev.s, 1 - this.o.tau, x.s, out.s);
      ev.release();
    };
    return e instanceof Promise ? e.then(after) : after(e);
  }

  /**
   * Turns on record-and-replay for this solve's loop (option `capture`, backends with
   * `captureLoop`): from the next `beginIteration()` on, iterations are traced, and once two
   * periods of them agree, replayed. `period`: iterations after which the loop's work repeats
   * (2 for a ping-pong of two state buffers, m for a ring of m history slots). A no-op on
   * backends without capture, with `capture: 'off'`, and with host bookkeeping.
   */
  capture(period: number): void {
    const be = this.L.backend;
    if (this.cap === null && this.o.capture === 'auto' && this.dev !== null && be.captureLoop) this.cap = be.captureLoop(period);
  }
  private cap: LoopCapture | null = null;

  /**
   * Starts an iteration. True: it was replayed from the recording, and the solver skips its
   * body (then calls `recordReplayed`, or nothing for a loop without tracking). False: the
   * solver runs the body, which ends with `record` (or `endIteration`) before anything is read.
   */
  beginIteration(): boolean {
    return this.cap !== null && this.cap.begin();
  }

  /** Ends an iteration run by the solver (`record` does this itself). */
  endIteration(): void {
    this.cap?.end();
  }

  /** Why this solve's recording was abandoned (null: none was, or none was made); for tests. */
  get captureFailure(): string | null {
    return this.cap?.failure ?? null;
  }

  /** The host side of `record` for a replayed iteration (its trackStep was replayed). */
  recordReplayed(step: number): boolean | Promise<boolean> {
    const stop = this.dev!.replayed(step);
    this.snapshot(step);
    return stop;
  }

  /**
   * One damped fixed-point step, out = tau f(x) + (1 - tau) x, leaving what `record` needs:
   * nothing when the backend's fused `fixedPointStep` wrote the norms to `fusedNorms`, else the
   * pair [out - x (in `diff`), out]. Synchronous (no promise) when func is.
   */
  dampedStepForRecord(x: Buf, out: Buf, diff: Buf): Pair | Promise<Pair> {
    const be = this.L.backend;
    const e = this.run.eval(x);
    const after = (ev: Evaluation): Pair => {
      if (be.fixedPointStep) {
        be.fixedPointStep(ev.s, x.s, this.o.tau, out.s, this.fusedNorms.s, this.L.B, this.L.D);
        ev.release();
        return undefined;
      }
      be.axpby(this.o.tau, ev.s, 1 - this.o.tau, x.s, out.s);
      ev.release();
      be.axpby(1, out.s, -1, x.s, diff.s);
      return [diff.s, out.s];
    };
    return e instanceof Promise ? e.then(after) : after(e);
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
   * snapshot the best state. Host bookkeeping only (see `record`).
   */
  accept(abs: ArrayLike<number>, fNorm: ArrayLike<number>, step: number, candidate: Storage, eps = 1e-9): void {
    if (this.track!.record(abs, fNorm, step, eps)) {
      copyRows(this.L.backend, candidate, this.best.s, this.track!.improved, this.L.D);
    }
    this.snapshot(step);
  }

  private snapshot(step: number): void {
    if (this.o.indexing.includes(step)) this.trajectory.push({ step, state: this.L.unpack(this.best.s) });
  }

  /**
   * Records step `step` whose candidate state is `candidate` (B, D), with the residual and image
   * norms either in `fusedNorms` (written by a fused backend step; `pair` omitted) or as the
   * per-sample norms of `pair = [f(x) - x, f(x)]`. Returns whether the solve should stop
   * (TorchDEQ's stop test, and Broyden's no-progress test when the session has it), without a
   * promise when nothing has to be awaited.
   */
  record(step: number, candidate: Storage, pair?: [Storage, Storage]): boolean | Promise<boolean> {
    const { backend, B, D } = this.L;
    if (this.dev) {
      if (pair) {
        backend.batchedNorm(pair[0], this.normA.s, B, D);
        backend.batchedNorm(pair[1], this.normB.s, B, D);
        backend.copy(this.normA.s, 0, [1], this.fusedNorms.s, 0, [1], [B]);
        backend.copy(this.normB.s, 0, [1], this.fusedNorms.s, B, [1], [B]);
      }
      this.dev.step(this.fusedNorms.s, step, candidate, this.best.s);
      this.endIteration();
      this.snapshot(step);
      return this.dev.afterStep();
    }
    const r = pair ? this.norms(pair[0], pair[1]) : this.readFusedNorms();
    if (r instanceof Promise) return r.then(([abs, fNorm]) => this.hostRecord(abs, fNorm, step, candidate));
    return this.hostRecord(r[0], r[1], step, candidate);
  }

  private hostRecord(abs: ArrayLike<number>, fNorm: ArrayLike<number>, step: number, candidate: Storage): boolean {
    this.accept(abs, fNorm, step, candidate);
    const t = this.track!, st = this.stall;
    if (t.shouldStop()) return true;
    return st !== null && step > st.steps && t.currentMax() < st.tolFactor * this.o.tol && t.flatForLast(st.steps, st.ratio);
  }

  /** Builds the result from the best state and calls the writer. */
  async finish<S extends SolverState>(): Promise<SolverResult<S>> {
    const L = this.L;
    if (this.dev) {
      // Snapshots queued past a stop the host saw late are dropped (they equal z).
      if (this.o.indexing.length > 0) await this.dev.settle();
      const at = this.dev.stoppedAt;
      const traj = (at === null ? this.trajectory : this.trajectory.filter((t) => t.step <= at)).map((t) => t.state as S);
      for (const t of this.trajectory) if (at !== null && t.step > at) disposeState(t.state);
      if (this.o.indexing.length > 0 && traj.length === 0) traj.push(L.unpack(this.best.s) as S);
      return this.resultOnDevice<S>(this.best.s, traj, this.dev.stats(), this.dev.statusSource());
    }
    const traj = this.trajectory.map((t) => t.state as S);
    if (this.o.indexing.length > 0 && traj.length === 0) traj.push(L.unpack(this.best.s) as S);
    return this.result<S>(this.best.s, traj, this.track!.stats(L.dtype, L.backend), this.track!.status());
  }

  /** The per-sample norms of two (B, D) storages, left on the backend: [||a_b||, ||c_b||]. */
  normsOnDevice(a: Storage, c: Storage): [Storage, Storage] {
    const { backend, B, D } = this.L;
    backend.batchedNorm(a, this.normA.s, B, D);
    backend.batchedNorm(c, this.normB.s, B, D);
    return [this.normA.s, this.normB.s];
  }

  /** Builds a result whose status is read from the device when asked for, and calls the writer. */
  resultOnDevice<S extends SolverState>(z: Storage, trajectory: S[], stats: SolverStats, status: StatusSource): SolverResult<S> {
    const res = attachStatus<S>({ z: this.L.unpack(z) as S, trajectory, stats }, status, this.name, this.L.backend.name);
    this.handedOut = true;
    this.o.writer?.(stats);
    return res;
  }

  /** Builds a result from explicit parts (solvers without per-step tracking) and calls the writer. */
  result<S extends SolverState>(z: Storage, trajectory: S[], stats: SolverStats, status: SolveStatus[]): SolverResult<S> {
    let res: SolverResult<S> | null = null;
    try {
      res = { z: this.L.unpack(z) as S, trajectory, stats, status };
      this.o.writer?.(stats);
      this.handedOut = true;
      return res;
    } catch (e) {
      // A throwing writer (or a failed unpack): the caller gets no result, so nothing of it may stay alive.
      disposeStates([res?.z, ...trajectory, ...Object.values(stats)]);
      throw e;
    }
  }

  /** Frees the scratch memory and any trajectory snapshots not handed out (always call, also on errors). */
  dispose(): void {
    this.cap?.dispose();
    this.ws.free();
    if (!this.handedOut) disposeStates(this.trajectory.map((t) => t.state)); // a solve that failed before its result
  }
  private handedOut = false;
}

/** Disposes tensors and lists of tensors (solver states), skipping undefined and disposed ones. */
function disposeStates(states: readonly (SolverState | Tensor | undefined)[]): void {
  for (const st of states) {
    for (const t of st === undefined ? [] : Array.isArray(st) ? st : [st]) {
      if (t instanceof Tensor && !t.isDisposed) t.dispose();
    }
  }
}

function disposeState(s: SolverState): void {
  for (const t of (Array.isArray(s) ? s : [s]) as Tensor[]) t.dispose();
}
