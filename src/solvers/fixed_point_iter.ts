/**
 * Fixed-point iteration with TorchDEQ's semantics: `z_{k+1} = tau f(z_k) + (1 - tau) z_k`,
 * every step a candidate (its step number = f calls so far), the best iterate per sample
 * returned, a batch-global stop test, traces of width `maxIter + 1`.
 */
import { Session } from './session.js';
import type { Solver, SolverFunc, SolverOptions, SolverResult, SolverState } from './types.js';
import { offloadable } from '../offload/solve.js';

/**
 * Plain (optionally damped) fixed-point iteration.
 * Options: maxIter, tol, stopMode, indexing, tau, returnFinal, writer, divergence.
 * @example
 * const res = await fixedPointIter((z) => cos(z), zeros([1, 1], { dtype: 'float64' }), { maxIter: 100, tol: 1e-12 });
 * res.z.item(); // 0.7390851332151607
 */
export const fixedPointIter: Solver = offloadable('fixed_point_iter', async <S extends SolverState>(func: SolverFunc<S>, x0: S,
  options?: SolverOptions): Promise<SolverResult<S>> => {
  const s = new Session('fixed_point_iter', func, x0, options, (o) => o.maxIter + 1);
  try {
    const { o } = s;
    let x = s.buf(), fx = s.buf();
    const diff = s.buf();
    s.copyX0(fx);
    s.capture(2); // x and fx trade places every step
    for (let k = 0; k < o.maxIter; k++) {
      const t = x;
      x = fx;
      fx = t;
      let stop: boolean | Promise<boolean>;
      if (s.beginIteration()) {
        stop = s.recordReplayed(k + 1);
      } else {
        const p = s.dampedStepForRecord(x, fx, diff);
        stop = s.record(k + 1, fx.s, p instanceof Promise ? await p : p);
      }
      if (stop instanceof Promise ? await stop : stop) break;
    }
    return await s.finish<S>();
  } finally {
    s.dispose();
  }
});
