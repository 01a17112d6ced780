/**
 * Solver bookkeeping kept on the backend (Backend.trackStep): traces, lowest residuals, the
 * step of each lowest, NaN / divergence marks and the best iterate never leave the device; the
 * stats are tensors on it. The host learns that the stop test passed by reading a few bytes
 * (the `stopped` and `stopStep` globals) at most once every `checkEvery` steps, and only when a
 * stop test can pass (`tol > 0` without `returnFinal`): the read is started after a step and
 * awaited `checkEvery` steps later, so the GPU keeps working meanwhile.
 *
 * Since the device freezes the bookkeeping when the stop test passes, the steps queued past the
 * stop change nothing: `z`, `nstep`, the traces and the lowest values are TorchDEQ's. What
 * differs: up to about 2 checkEvery - 1 extra evaluations of `func`, and, with `tol: 0` (no
 * reads), snapshots of `indexing` steps past an all-NaN / all-diverged stop (equal to `z`).
 */
import {
  TRACK_DEAD, TRACK_FIELDS, TRACK_GLOBALS, TRACK_LOWEST_ABS, TRACK_LOWEST_REL, TRACK_STEP_ABS, TRACK_STEP_REL,
  type Backend, type Storage, type TrackSpec,
} from '../backend/backend.js';
import { Tensor } from '../tensor.js';
import type { TypedArray } from '../dtype.js';
import type { ResolvedOptions } from './options.js';
import { SENTINEL } from './tracker.js';
import type { Buf, Workspace } from './workspace.js';
import type { SolveStatus, SolverStats } from './types.js';

/** Broyden's no-progress test (see TrackSpec). */
export interface StallRule { steps: number; ratio: number; tolFactor: number; }

export class DeviceTracker {
  private readonly state: Buf;
  private readonly trace: Buf;
  private readonly flags: Buf;
  private readonly be: Backend;
  private readonly spec: TrackSpec;
  private col = 1;
  private steps = 0;
  /** step - column of the steps recorded (solvers number their steps from 1 or 2). */
  private stepOffset = 0;
  private pending: Promise<TypedArray> | null = null;
  /** Whether a stop test can pass, i.e. whether the host ever needs to read. */
  readonly reads: boolean;
  /** The step at which the device stopped, once the host has read it. */
  stoppedAt: number | null = null;
  /** Number of reads started (for the tests' bound). */
  readsStarted = 0;

  constructor(ws: Workspace, readonly B: number, D: number, readonly width: number, readonly o: ResolvedOptions,
    readonly checkEvery: number, stall: StallRule | null) {
    this.be = ws.backend;
    const st = new Float64Array(TRACK_FIELDS * B + TRACK_GLOBALS);
    st.fill(SENTINEL, TRACK_LOWEST_ABS * B, (TRACK_LOWEST_REL + 1) * B);
    st.fill(NaN, 4 * B, 5 * B); // TRACK_REF
    this.state = ws.buf(st.length);
    this.be.write(this.state.s, st);
    this.trace = ws.buf(2 * B * width);
    this.be.write(this.trace.s, new Float64Array(2 * B * width).fill(SENTINEL));
    this.flags = ws.buf(2);
    this.reads = o.tol > 0 && !o.returnFinal;
    this.spec = {
      B, D, width, col: 1, step: 0, eps: 1e-9, tol: o.tol, stopMode: o.stopMode === 'abs' ? 0 : 1,
      returnFinal: o.returnFinal, divergence: o.divergence, stallSteps: stall ? stall.steps : 0,
      stallRatio: stall ? stall.ratio : 0, stallTol: stall ? stall.tolFactor * o.tol : 0,
    };
  }

  /**
   * Records step `step` from the (2B) norms (residual then image norms); improved samples of
   * `candidate` go to `best`. Returns true once the host has seen the stop, possibly
   * asynchronously (at check points only).
   */
  record(norms: Storage, step: number, candidate: Storage, best: Storage): boolean | Promise<boolean> {
    this.step(norms, step, candidate, best);
    return this.afterStep();
  }

  /** The device side of `record` (no read): one trackStep. */
  step(norms: Storage, step: number, candidate: Storage, best: Storage): void {
    this.advance(step);
    this.be.trackStep(norms, this.state.s, this.trace.s, candidate, best, this.spec);
    this.col++;
    this.steps++;
  }

  /** The host side of a step whose trackStep was replayed from a recording (see Session.beginIteration). */
  replayed(step: number): boolean | Promise<boolean> {
    this.advance(step);
    this.col++;
    this.steps++;
    return this.afterStep();
  }

  private advance(step: number): void {
    if (this.col >= this.width) throw new Error(`solver bookkeeping: trace of width ${this.width} is full (internal error)`);
    this.spec.col = this.col;
    this.spec.step = step;
    this.stepOffset = step - this.col;
  }

  /** At a check point, the stop test's read (see `check`). */
  afterStep(): boolean | Promise<boolean> {
    if (!this.reads || this.steps % this.checkEvery !== 0) return false;
    return this.check(true);
  }

  /** At a check point: awaits the read started at the previous one, then starts the next. */
  private async check(startNext: boolean): Promise<boolean> {
    if (this.pending) {
      const f = await this.pending;
      this.pending = null;
      if (f[0] !== 0) {
        this.stoppedAt = f[1];
        return true;
      }
    }
    if (startNext) {
      this.be.copy(this.state.s, TRACK_FIELDS * this.B, [1], this.flags.s, 0, [1], [2]);
      this.pending = this.be.readAsync(this.flags.s);
      this.readsStarted++;
    }
    return false;
  }

  /** After the loop: settles a read still in flight (so `stoppedAt` is known when it stopped). */
  async settle(): Promise<void> {
    if (this.pending) await this.check(false);
  }

  private part(src: Storage, offset: number, shape: number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const s = this.be.alloc(n, src.dtype);
    this.be.copy(src, offset, [1], s, 0, [1], [n]);
    return new Tensor(s, shape, this.be);
  }

  /**
   * Columns of the traces that hold steps: up to the stop when the host has read it, else every
   * step recorded. As on the host, traces are as wide as the steps run (plus the sentinel
   * column), not `maxIter + 1`.
   */
  private usedWidth(): number {
    return Math.min(this.col, this.stoppedAt !== null ? this.stoppedAt - this.stepOffset + 1 : this.col);
  }

  /** The first `w` columns of the (B, width) trace block at `offset`, as a (B, w) tensor. */
  private columns(offset: number, w: number): Tensor {
    const { B, width } = this;
    const s = this.be.alloc(B * w, this.trace.s.dtype);
    this.be.copy(this.trace.s, offset, [width, 1], s, 0, [w, 1], [B, w]);
    return new Tensor(s, [B, w], this.be);
  }

  /** The stats as tensors on the backend (no read). */
  stats(): SolverStats {
    const { B, width } = this;
    const used = this.usedWidth();
    const sr = this.be.alloc(1, this.state.s.dtype);
    this.be.fill(sr, -1);
    return {
      absLowest: this.part(this.state.s, TRACK_LOWEST_ABS * B, [B]),
      relLowest: this.part(this.state.s, TRACK_LOWEST_REL * B, [B]),
      absTrace: this.columns(0, used),
      relTrace: this.columns(B * width, used),
      nstep: this.part(this.state.s, (this.spec.stopMode === 0 ? TRACK_STEP_ABS : TRACK_STEP_REL) * B, [B]),
      sradius: new Tensor(sr, [1], this.be),
    };
  }

  /**
   * The per-sample status, read from a copy of the state when first asked for: synchronously
   * on backends that read synchronously (`sync`), else only through `async` (the copy is a
   * GC-backstopped tensor, freed on the first read).
   */
  statusSource(): StatusSource {
    const { B } = this;
    const be = this.be, tol = this.o.tol, mode = this.spec.stopMode;
    const s = be.alloc(this.state.s.size, this.state.s.dtype);
    be.copy(this.state.s, 0, [1], s, 0, [1], [s.size]);
    const copy = new Tensor(s, [s.size], be, false, true);
    let value: SolveStatus[] | null = null;
    let reading: Promise<SolveStatus[]> | null = null;
    const take = (st: ArrayLike<number>): SolveStatus[] => {
      value ??= statusOf(st, B, tol, mode);
      if (!copy.isDisposed) copy.dispose();
      return value;
    };
    return {
      sync: () => value ?? (be.asyncOnly ? null : take(be.readSync(s))),
      async: () => (value ? Promise.resolve(value) : (reading ??= be.readAsync(s).then(take))),
    };
  }
}

/** Where a device-tracked result's status comes from (see `DeviceTracker.statusSource`). */
export interface StatusSource {
  /** The status, or null when it can only be read asynchronously and has not been yet. */
  sync(): SolveStatus[] | null;
  async(): Promise<SolveStatus[]>;
}

/** Per-sample status from a tracker state (the host Tracker's rules). */
export function statusOf(st: ArrayLike<number>, B: number, tol: number, mode: 0 | 1): SolveStatus[] {
  const out: SolveStatus[] = [];
  for (let b = 0; b < B; b++) {
    const low = st[(mode === 0 ? TRACK_LOWEST_ABS : TRACK_LOWEST_REL) * B + b];
    const dead = st[TRACK_DEAD * B + b];
    out.push(low < tol ? 'converged' : dead === 1 ? 'nan' : dead === 2 ? 'diverged' : 'maxIter');
  }
  return out;
}

/**
 * `finalStepStats` (src/solvers/tracker.ts) computed on the backend from the (B) norms of the
 * last step, without a read: rel = abs / (fNorm + 1e-8), traces of width 1, nstep for every
 * sample; the status is read when first asked for.
 */
export function finalStepStatsOnDevice(be: Backend, abs: Storage, fNorm: Storage, B: number, nstep: number,
  o: ResolvedOptions): { stats: SolverStats; status: StatusSource } {
  const dt = abs.dtype;
  const own = (n: number): Storage => be.alloc(n, dt);
  const cp = (src: Storage): Storage => { const t = own(B); be.copy(src, 0, [1], t, 0, [1], [B]); return t; };
  const eps = own(1), den = own(B), rel = own(B), ns = own(B), sr = own(1);
  be.fill(eps, 1e-8);
  be.binary('add', fNorm, eps, den, [B], [1], [0]);
  be.binary('div', abs, den, rel, [B], [1], [1]);
  be.free(eps);
  be.free(den);
  be.fill(ns, nstep);
  be.fill(sr, -1);
  const t = (s: Storage, shape: number[]): Tensor => new Tensor(s, shape, be);
  const stats: SolverStats = {
    absLowest: t(cp(abs), [B]), relLowest: t(cp(rel), [B]), absTrace: t(cp(abs), [B, 1]), relTrace: t(rel, [B, 1]),
    nstep: t(ns, [B]), sradius: t(sr, [1]),
  };
  // The status reads its own copy of the stop-mode residuals (the stats may be disposed first).
  const v = new Tensor(cp(o.stopMode === 'abs' ? abs : stats.relTrace.storage), [B], be, false, true);
  const of = (a: ArrayLike<number>): SolveStatus[] => {
    if (!v.isDisposed) v.dispose();
    return Array.from(a, (x): SolveStatus => (x < o.tol ? 'converged' : Number.isNaN(x) ? 'nan' : x === Infinity ? 'diverged' : 'maxIter'));
  };
  let value: SolveStatus[] | null = null;
  let reading: Promise<SolveStatus[]> | null = null;
  return {
    stats,
    status: {
      sync: () => value ?? (be.asyncOnly ? null : (value = of(be.readSync(v.storage)))),
      async: () => (value ? Promise.resolve(value) : (reading ??= be.readAsync(v.storage).then((a) => (value = of(a))))),
    },
  };
}
