/**
 * TorchDEQ's `simple_fixed_point_iter`: exactly `maxIter` damped steps with no tracking and
 * no stop test; returns the last iterate; the stats describe the last step only (`rel` with
 * `+ 1e-8`, `nstep = maxIter`, traces of width 1). Unlike TorchDEQ it works on a plain
 * function (TorchDEQ calls `func(x, tau=...)`, which only its DEQ wrapper accepts).
 */
import { Session } from './session.js';
import { finalStepStats } from './tracker.js';
import { finalStepStatsOnDevice } from './device_tracker.js';
import type { Solver, SolverFunc, SolverOptions, SolverResult, SolverState } from './types.js';
import { offloadable } from '../offload/solve.js';

/**
 * Fast fixed-point iteration without per-step monitoring. `tol` and `stopMode` only decide
 * the reported status. Options: maxIter, tol, stopMode, indexing, tau, writer.
 * @example
 * const res = await simpleFixedPointIter((z) => z.mul(0.5).add(1), zeros([2, 3]), { maxIter: 60 });
 * // res.z is 2 everywhere
 */
export const simpleFixedPointIter: Solver = offloadable('simple_fixed_point_iter', async <S extends SolverState>(func: SolverFunc<S>, x0: S,
  options?: SolverOptions): Promise<SolverResult<S>> => {
  const s = new Session('simple_fixed_point_iter', func, x0, options, () => 1);
  const snapshots: S[] = [];
  let done = false;
  try {
    const { o, L } = s;
    let x = s.buf(), fx = s.buf();
    const diff = s.buf();
    s.copyX0(fx);
    s.copyX0(x);
    s.capture(2); // x and fx trade places every step
    for (let k = 0; k < o.maxIter; k++) {
      [x, fx] = [fx, x];
      if (!s.beginIteration()) {
        const step = s.dampedStep(x, fx);
        if (step instanceof Promise) await step;
        s.endIteration();
      }
      if (o.indexing.includes(k + 1)) snapshots.push(L.unpack(fx.s) as S);
    }
    L.backend.axpby(1, fx.s, -1, x.s, diff.s);
    if (s.dev) {
      // Nothing is read: the stats are computed on the backend, the status when asked for.
      const n = s.normsOnDevice(diff.s, fx.s);
      const { stats, status } = finalStepStatsOnDevice(L.backend, n[0], n[1], L.B, o.maxIter, o);
      const res = s.resultOnDevice<S>(fx.s, snapshots, stats, status);
      done = true; // the snapshots are the caller's now
      return res;
    }
    const [abs, fNorm] = await s.norms(diff.s, fx.s);
    const { stats, status } = finalStepStats(abs, fNorm, o.maxIter, o, L.dtype, L.backend);
    const res = s.result<S>(fx.s, snapshots, stats, status);
    done = true;
    return res;
  } finally {
    s.dispose();
    if (!done) for (const z of snapshots) for (const t of Array.isArray(z) ? z : [z]) if (!t.isDisposed) t.dispose();
  }
});
