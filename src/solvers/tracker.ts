/**
 * Per-sample solver bookkeeping with TorchDEQ's semantics, in small JS arrays (B numbers per
 * step): residual traces that start with the 1e8 sentinel, the lowest residual of each mode and
 * the step where it occurred, which samples improved (their candidate becomes the returned
 * state), the batch-global stop test, and our additions: NaN / divergence detection and a
 * per-sample status. Traces grow with the steps actually run (TorchDEQ preallocates and pads
 * them to `maxIter + 1` columns, which a large `maxIter` turns into a huge allocation), so
 * `width` is only the most columns a solve may record.
 */
import { tensor } from '../creation.js';
import type { Backend } from '../backend/backend.js';
import { flatColumns } from '../backend/track_host.js';
import type { DType } from '../dtype.js';
import type { SolveStatus, SolverStats, StopMode } from './types.js';
import type { Tensor } from '../tensor.js';

/** TorchDEQ's "no value yet" residual. */
export const SENTINEL = 1e8;

const ALIVE = 0, NAN = 1, DIVERGED = 2;
/** Trace columns allocated up front (more are added by doubling). */
const INITIAL_COLUMNS = 64;
const REF_FLOOR = 1e-8;

export interface TrackerConfig {
  B: number;
  stopMode: StopMode;
  /** The most trace columns the solve may record (incl. the sentinel); storage grows up to it. */
  width: number;
  tol: number;
  returnFinal: boolean;
  divergence: number;
}

export class Tracker {
  readonly B: number;
  readonly lowest: { abs: Float64Array; rel: Float64Array };
  readonly lowestStep: { abs: Float64Array; rel: Float64Array };
  /** Column-major traces: column c of sample b at `c * B + b` (grown by doubling). */
  private trace: { abs: Float64Array; rel: Float64Array };
  /** Samples whose stop-mode residual improved at the last `record` (1) or not (0). */
  readonly improved: Uint8Array;
  /** Columns written so far (the sentinel counts). */
  cols = 1;
  /** Divergence reference per sample: the first residual, floored at 1e-8 (||f(x)|| + 1). */
  private readonly ref: Float64Array;
  private readonly dead: Uint8Array;
  private readonly cfg: TrackerConfig;

  constructor(cfg: TrackerConfig) {
    this.cfg = cfg;
    const { B } = cfg;
    this.B = B;
    // One allocation for every per-sample array (typed arrays with their own buffers are slow to make).
    const f = new Float64Array(5 * B);
    const part = (i: number, n: number): Float64Array => f.subarray(i, i + n);
    this.lowest = { abs: part(0, B).fill(SENTINEL), rel: part(B, B).fill(SENTINEL) };
    this.lowestStep = { abs: part(2 * B, B), rel: part(3 * B, B) };
    this.ref = part(4 * B, B).fill(NaN);
    const cap = Math.min(cfg.width, INITIAL_COLUMNS);
    this.trace = { abs: new Float64Array(B * cap).fill(SENTINEL, 0, B), rel: new Float64Array(B * cap).fill(SENTINEL, 0, B) };
    const u = new Uint8Array(2 * B);
    this.improved = u.subarray(0, B);
    this.dead = u.subarray(B, 2 * B);
  }

  /** Makes room for one more column (doubling, never past `width`). */
  private grow(): void {
    const { B, width } = this.cfg;
    if (this.cols >= width) throw new Error(`solver bookkeeping: trace of width ${width} is full (internal error)`);
    const cap = Math.min(width, Math.max(2 * this.cols, INITIAL_COLUMNS));
    for (const k of ['abs', 'rel'] as const) {
      const t = new Float64Array(B * cap);
      t.set(this.trace[k].subarray(0, B * this.cols));
      this.trace[k] = t;
    }
  }

  /**
   * Records one step: `abs[b] = ||f(x) - x||`, `rel[b] = abs[b] / (fNorm[b] + eps)`. Returns
   * true if any sample improved in the stop mode (see `improved`).
   */
  record(abs: ArrayLike<number>, fNorm: ArrayLike<number>, step: number, eps = 1e-9): boolean {
    const { B, stopMode, returnFinal, divergence } = this.cfg;
    const c = this.cols;
    if (B * (c + 1) > this.trace.abs.length) this.grow();
    let any = false;
    const ta = this.trace.abs, tr = this.trace.rel;
    const la = this.lowest.abs, lr = this.lowest.rel, sa = this.lowestStep.abs, sr = this.lowestStep.rel;
    const improved = this.improved, dead = this.dead, ref = this.ref, byAbs = stopMode === 'abs';
    for (let b = 0; b < B; b++) {
      const a = abs[b], r = a / (fNorm[b] + eps);
      ta[c * B + b] = a;
      tr[c * B + b] = r;
      // Strict improvement of each mode's lowest value (NaN never improves); returnFinal always does.
      const betterAbs = returnFinal || a < la[b];
      if (betterAbs) { la[b] = a; sa[b] = step; }
      const betterRel = returnFinal || r < lr[b];
      if (betterRel) { lr[b] = r; sr[b] = step; }
      const better = byAbs ? betterAbs : betterRel;
      improved[b] = better ? 1 : 0;
      any ||= better;
      if (dead[b] === ALIVE) {
        if (a !== a || r !== r) dead[b] = NAN;
        else if (a === Infinity || a > divergence * ref[b]) dead[b] = DIVERGED;
      }
      // The floor keeps a sample that starts at its fixed point (first residual ~0) from
      // being called diverged over round-off.
      if (ref[b] !== ref[b]) ref[b] = Math.max(a, REF_FLOOR * (fNorm[b] + 1));
    }
    this.cols = c + 1;
    return any;
  }

  /** Stop-mode residual of the last recorded step for sample b. */
  current(b: number): number {
    return this.trace[this.cfg.stopMode][(this.cols - 1) * this.B + b];
  }

  /**
   * TorchDEQ's batch-global test (every sample's last stop-mode residual < tol, strict),
   * where NaN/diverged samples count as passed so a dead sample does not keep the batch running.
   * With `returnFinal` only an all-dead batch stops.
   */
  shouldStop(): boolean {
    let allDead = true;
    let allPass = true;
    for (let b = 0; b < this.B; b++) {
      if (this.dead[b] !== ALIVE) continue;
      allDead = false;
      if (!(this.current(b) < this.cfg.tol)) allPass = false;
    }
    if (allDead) return true;
    return !this.cfg.returnFinal && allPass;
  }

  /** Max over the batch of the last stop-mode residual (NaN if any is NaN), like torch's max. */
  currentMax(): number {
    let m = -Infinity;
    for (let b = 0; b < this.B; b++) {
      const v = this.current(b);
      if (Number.isNaN(v)) return NaN;
      if (v > m) m = v;
    }
    return m;
  }

  /**
   * Broyden's no-progress test over the last `n` recorded columns: in each of them
   * (max over batch) / (min over batch) < `ratio` (NaN propagates to "no").
   */
  flatForLast(n: number, ratio: number): boolean {
    const t = this.trace[this.cfg.stopMode];
    return flatColumns((c, b) => t[c * this.B + b], this.cols - n, this.cols, this.B, ratio);
  }

  /** (B, cols) row-major copy of one trace: the columns actually recorded. */
  traceRows(mode: StopMode): Float64Array {
    const B = this.B, n = this.cols, t = this.trace[mode];
    const out = new Float64Array(B * n);
    for (let c = 0; c < n; c++) for (let b = 0; b < B; b++) out[b * n + c] = t[c * B + b];
    return out;
  }

  /** Per-sample status (see `SolveStatus`). */
  status(): SolveStatus[] {
    const out: SolveStatus[] = [];
    const mode = this.cfg.stopMode;
    for (let b = 0; b < this.B; b++) {
      if (this.lowest[mode][b] < this.cfg.tol) out.push('converged');
      else if (this.dead[b] === NAN) out.push('nan');
      else if (this.dead[b] === DIVERGED) out.push('diverged');
      else out.push('maxIter');
    }
    return out;
  }

  /** The stats as tensors of `dtype` on `backend` (traces as wide as the columns recorded). */
  stats(dtype: DType, backend: Backend): SolverStats {
    const { B, stopMode } = this.cfg;
    const o = { dtype, backend };
    const made: Tensor[] = [];
    const t = (v: ArrayLike<number>, shape: number[]): Tensor => {
      const x = tensor(v, shape, o);
      made.push(x);
      return x;
    };
    try {
      return {
        absLowest: t(this.lowest.abs, [B]),
        relLowest: t(this.lowest.rel, [B]),
        absTrace: t(this.traceRows('abs'), [B, this.cols]),
        relTrace: t(this.traceRows('rel'), [B, this.cols]),
        nstep: t(this.lowestStep[stopMode], [B]),
        sradius: t([-1], [1]),
      };
    } catch (e) {
      for (const x of made) x.dispose();
      throw e;
    }
  }
}

/**
 * TorchDEQ's stats of a solver that only looks at its last step (`from_final_step`):
 * `abs = ||f(x) - x||`, `rel = abs / (||f(x)|| + 1e-8)`, traces of width 1 (no sentinel),
 * `nstep` for every sample; status from that last residual.
 */
export function finalStepStats(abs: ArrayLike<number>, fNorm: ArrayLike<number>, nstep: number,
  o: { tol: number; stopMode: StopMode }, dtype: DType, backend: Backend): { stats: SolverStats; status: SolveStatus[] } {
  const B = abs.length;
  const a = Float64Array.from(abs);
  const r = a.map((v, b) => v / (fNorm[b] + 1e-8));
  const opt = { dtype, backend };
  const status = Array.from(o.stopMode === 'abs' ? a : r, (v): SolveStatus => (
    v < o.tol ? 'converged' : Number.isNaN(v) ? 'nan' : v === Infinity ? 'diverged' : 'maxIter'));
  return {
    stats: {
      absLowest: tensor(a, [B], opt),
      relLowest: tensor(r, [B], opt),
      absTrace: tensor(a, [B, 1], opt),
      relTrace: tensor(r, [B, 1], opt),
      nstep: tensor(new Float64Array(B).fill(nstep), [B], opt),
      sradius: tensor([-1], [1], opt),
    },
    status,
  };
}
