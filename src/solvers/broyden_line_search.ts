/**
 * Broyden's line search (TorchDEQ's `ls=True`): phi(a) = ||g(x + a d)||^2 over the whole batch
 * (infinite when any entry is non-finite), Armijo from a = 1 with amin = 1e-2
 * (src/solvers/line_search.ts), falling back to a = 1. Two ways to run it, with equal results:
 * - on the host (`hostLineSearch`): phi is read back at every trial, so the number of func
 *   calls is TorchDEQ's (the last evaluated g is reused when the accepted step is the last one
 *   tried);
 * - on the device (`deviceLineSearch`, backends with `armijoStage` whose solve keeps its
 *   bookkeeping there): nothing is read; the search is unrolled into ARMIJO_STAGES trials whose
 *   step lengths the backend computes from the phi values, trials after the search is done
 *   change nothing, and g at the chosen step is kept from the trial that evaluated it. It
 *   always costs ARMIJO_STAGES func calls per Broyden step.
 */
import { ARMIJO_FIELDS, ARMIJO_STAGES } from '../backend/backend.js';
import type { Session } from './session.js';
import { armijo } from './line_search.js';
import { copyAll, readVectors, type Buf } from './workspace.js';

/** One line-searched step: xNew = x + a d and gNew = g(xNew). */
export type LineSearchStep = (x: Buf, g: Buf, d: Buf, xNew: Buf, gNew: Buf,
  gOf: (at: Buf, out: Buf) => Promise<void>) => Promise<void>;

/** The line search with phi read back at every trial. */
export function hostLineSearch(s: Session): LineSearchStep {
  const xTrial = s.buf(), norm = s.ws.buf(1);
  let gTrial = s.buf(), gStored = s.buf();
  const { backend: be, B, D } = s.L;
  const globalNorm = async (v: Buf): Promise<number> => {
    be.batchedNorm(v.s, norm.s, 1, B * D);
    return (await readVectors(be, [norm.s]))[0][0];
  };
  return async (x, g, d, xNew, gNew, gOf) => {
    const n0 = await globalNorm(g);
    let lastA = 0, lastPhi = n0 * n0, lastIsG0 = true;
    const phi = async (a: number): Promise<number> => {
      if (a === lastA) return lastPhi;
      be.axpby(1, x.s, a, d.s, xTrial.s);
      await gOf(xTrial, gTrial);
      const n = await globalNorm(gTrial);
      [gTrial, gStored] = [gStored, gTrial];
      lastA = a;
      lastIsG0 = false;
      lastPhi = Number.isFinite(n) ? n * n : Infinity;
      return lastPhi;
    };
    const found = await armijo(phi, lastPhi, -lastPhi, 1e-4, 1, 1e-2);
    const a = found ?? 1;
    be.axpby(1, x.s, a, d.s, xNew.s);
    if (a === lastA) copyAll(be, (lastIsG0 ? g : gStored).s, gNew.s);
    else await gOf(xNew, gNew);
  };
}

/** The line search on the device: ARMIJO_STAGES trials, nothing read. */
export function deviceLineSearch(s: Session): LineSearchStep {
  const { backend: be, B, D } = s.L;
  const n = B * D;
  const xTrial = s.buf(), gTrial = s.buf(), step = s.buf();
  let gKeep = s.buf(), gOther = s.buf();
  const [norm, trial, take] = [s.ws.buf(1), s.ws.buf(1), s.ws.buf(1)];
  const state = s.ws.buf(ARMIJO_FIELDS);
  /** out = x + trial d, with the step length on the device. */
  const along = (x: Buf, d: Buf, out: Buf): void => {
    be.binary('mul', d.s, trial.s, step.s, [n], [1], [0]);
    be.axpby(1, x.s, 1, step.s, out.s);
  };
  return async (x, g, d, xNew, gNew, gOf) => {
    be.batchedNorm(g.s, norm.s, 1, n);
    be.armijoStage!(norm.s, state.s, trial.s, take.s, -1);
    for (let stage = 0; stage < ARMIJO_STAGES; stage++) {
      along(x, d, xTrial);
      await gOf(xTrial, gTrial);
      be.batchedNorm(gTrial.s, norm.s, 1, n);
      be.armijoStage!(norm.s, state.s, trial.s, take.s, stage);
      be.where(take.s, gTrial.s, gKeep.s, gOther.s, [n], [0], [1], [1]);
      [gKeep, gOther] = [gOther, gKeep];
    }
    along(x, d, xNew);
    copyAll(be, gKeep.s, gNew.s);
  };
}
