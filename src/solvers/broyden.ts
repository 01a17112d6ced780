/**
 * Broyden's method with TorchDEQ's semantics: root of g(x) = f(x) - x with the inverse
 * Jacobian approximated as B = -I + sum_j u_j v_j^T (one rank-one term per step, ring buffer of
 * `memory` terms). Step `x <- x + s d` with `d = -B g` (s = 1, or an Armijo line search on the
 * whole batch), then the "good Broyden" inverse update `v^T = dx^T B`,
 * `u = (dx - B dg) / (v^T dg)` (non-finite entries set to 0). The candidate of a step is the point x,
 * `rel = ||g|| / (||g + x|| + 1e-9)`, the step number counts updates (f calls = steps + 1).
 * After step 30 it also stops when the batch is within 3 tol and made no progress (per-step
 * batch max/min ratio < 1.3 over the last 30 steps). Products with B run on the backend's
 * low-rank kernel, two per step: B_old dg is recovered from B_old g (p + d, with d the last
 * direction) and B_new g from B_old g plus the new rank-one term, while the ring buffer has
 * not wrapped (TorchDEQ computes three products; the results agree to rounding). The arithmetic
 * around the products (differences, norms, the rank-one update and the new direction) and the
 * products themselves are two backend calls per step on backends with `broydenAdvance` and
 * `broydenStep`, composed otherwise.
 *
 * Reference: C. G. Broyden, "A class of methods for solving nonlinear simultaneous equations",
 * Math. Comp. 19(92), 1965.
 */
import type { Backend } from '../backend/backend.js';
import { Session, type Pair } from './session.js';
import { broydenScratch, composedBroydenStep } from '../backend/broyden_composed.js';
import { hostLineSearch, deviceLineSearch } from './broyden_line_search.js';
import { copyAll, type Buf } from './workspace.js';
import type { Solver, SolverFunc, SolverOptions, SolverResult, SolverState } from './types.js';
import { offloadable } from '../offload/solve.js';

/**
 * Broyden's method (good Broyden, inverse form, limited memory).
 * Options: maxIter, tol, stopMode, indexing, memory (= maxIter), lineSearch (false), returnFinal, writer, divergence.
 * @example
 * const res = await broyden((z) => cos(z), zeros([4, 1], { dtype: 'float64' }), { maxIter: 30, tol: 1e-12 });
 */
export const broyden: Solver = offloadable('broyden', async <S extends SolverState>(func: SolverFunc<S>, x0: S,
  options?: SolverOptions): Promise<SolverResult<S>> => {
  const s = new Session('broyden', func, x0, options, (o) => o.maxIter + 1, STALL);
  try {
    await iterate(s);
    return await s.finish<S>();
  } finally {
    s.dispose();
  }
});

/** No-progress test: after this many steps, over this many steps, with this ratio and tol factor. */
const STALL = { steps: 30, ratio: 1.3, tolFactor: 3 };

async function iterate(s: Session): Promise<void> {
  const { o, L } = s;
  const be = L.backend;
  const { B, D } = L;
  // Ring size: a run of maxIter steps never needs more slots than steps.
  const mem = Math.min(o.memory, o.maxIter);
  // Low-rank terms (B, mem, D): term j of sample b at (b mem + j) D.
  // Only rows already written are ever read (r <= the number of terms stored): no zero-fill.
  const why = `option 'memory' (${mem} rank-one updates kept; it defaults to maxIter)`;
  const U = s.ws.buf(B * mem * D, false, why), V = s.ws.buf(B * mem * D, false, why);
  let x = s.buf(), g = s.buf(), xNew = s.buf(), gNew = s.buf();
  const dx = s.buf(), dg = s.buf(), upd = s.buf();
  // Scratch for -B_new g once the ring buffer wraps (memory < maxIter).
  const wrapped = mem < o.maxIter ? s.buf() : null;
  // On a backend that keeps the bookkeeping on the device, the line search stays there too.
  const search = !o.lineSearch ? null : s.dev && be.armijoStage ? deviceLineSearch(s) : hostLineSearch(s);
  const gOf = async (at: Buf, out: Buf): Promise<void> => {
    const e = await s.run.eval(at);
    be.axpby(1, e.s, -1, at.s, out.s);
    e.release();
  };

  s.copyX0(x);
  await gOf(x, g);
  copyAll(be, g.s, upd.s); // d = -(-I) g
  // The fused steps (one backend call for the bookkeeping after f, one for the products and the
  // rank-one update) when the backend has them; otherwise the same arithmetic composed.
  const advance = be.broydenAdvance ? be.broydenAdvance.bind(be) : null;
  const step = be.broydenStep ? be.broydenStep.bind(be) : composedStep(s);
  let nstep = 0;
  while (nstep < o.maxIter) {
    let pair: Pair;
    if (!search && advance) {
      be.axpby(1, x.s, 1, upd.s, xNew.s);
      // No microtask when func and the norm read are synchronous.
      const ev = s.run.eval(xNew);
      const e = ev instanceof Promise ? await ev : ev;
      advance(e.s, xNew.s, x.s, g.s, gNew.s, dx.s, dg.s, s.fusedNorms.s, B, D);
      e.release();
      const xOld = x, gOld = g;
      x = xNew;
      xNew = xOld;
      g = gNew;
      gNew = gOld;
      pair = undefined;
    } else {
      if (search) await search(x, g, upd, xNew, gNew, gOf);
      else {
        be.axpby(1, x.s, 1, upd.s, xNew.s);
        await gOf(xNew, gNew);
      }
      be.axpby(1, xNew.s, -1, x.s, dx.s);
      be.axpby(1, gNew.s, -1, g.s, dg.s);
      [x, xNew] = [xNew, x];
      [g, gNew] = [gNew, g];
      // f(x) = g + x, as TorchDEQ measures it (xNew is free scratch here).
      be.axpby(1, g.s, 1, x.s, xNew.s);
      pair = [g.s, xNew.s];
    }
    nstep++;
    const stop = s.record(nstep, x.s, pair);
    if (stop instanceof Promise ? await stop : stop) break;
    // Inverse update with the first min(nstep - 1, mem) terms (B_old), then write term
    // (nstep - 1) mod mem. Two low-rank products per step: v^T = dx^T B_old and
    // p = B_old g; B_old dg follows as p + d, since the last direction was d = -B_old g_old.
    const r = Math.min(nstep - 1, mem);
    const slot = (nstep - 1) % mem;
    // While the new term fills an empty slot, B_new g = p + u (v . g) comes with the update.
    const filling = nstep <= mem;
    step(dx.s, dg.s, g.s, upd.s, U.s, V.s, r, slot, filling, B, mem, D);
    if (!filling) {
      // The ring buffer dropped its oldest term: multiply by B_new directly.
      be.lowRankMatvec(U.s, V.s, g.s, wrapped!.s, B, mem, mem, D, -1);
      be.unary('neg', wrapped!.s, upd.s); // d = -B_new g
    }
  }
}

/**
 * Backend.broydenStep composed from primitives (src/backend/broyden_composed.ts), for backends
 * without it; its scratch comes from the session, allocated once per solve.
 */
function composedStep(s: Session): NonNullable<Backend['broydenStep']> {
  const be = s.L.backend;
  const { B, D } = s.L;
  const scratch = broydenScratch(be, (n) => s.ws.buf(n).s, B, D);
  return (dx, dg, g, d, U, V, r, slot, direction, _B, mem) =>
    composedBroydenStep(be, scratch, dx, dg, g, d, U, V, r, slot, direction, B, mem, D);
}
