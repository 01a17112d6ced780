/**
 * The reference `armijoStage` (Backend.armijoStage) for backends that read synchronously: one
 * stage of `armijo` (src/solvers/line_search.ts) on the state read back with `readSync`, in
 * float64 JS numbers rounded to the state's dtype when stored. The GPU kernel
 * (src/backend/webgpu/kernels_armijo.ts) is tested against it, and it against `armijo`.
 */
import {
  ARMIJO_A1, ARMIJO_APREV, ARMIJO_DERPHI0, ARMIJO_DONE, ARMIJO_FIELDS, ARMIJO_PHI0, ARMIJO_PHIA1, ARMIJO_PHIPREV,
  ARMIJO_RESULT, ARMIJO_STAGES, ARMIJO_TRIAL, type Backend, type Storage,
} from './backend.js';

const C1 = 1e-4, AMIN = 1e-2;

/**
 * The step `armijo` tries after rejecting `a1` (given phi at a1 and at the step before it):
 * the minimiser of the cubic through phi0, derphi0, phi(aPrev) and phi(a1).
 */
export function cubicStep(phi0: number, derphi0: number, aPrev: number, phiPrev: number, a1: number, phiA1: number): number {
  const factor = aPrev * aPrev * a1 * a1 * (a1 - aPrev);
  const r1 = phiA1 - phi0 - derphi0 * a1;
  const r0 = phiPrev - phi0 - derphi0 * aPrev;
  const ca = (aPrev * aPrev * r1 - a1 * a1 * r0) / factor;
  const cb = (-aPrev * aPrev * aPrev * r1 + a1 * a1 * a1 * r0) / factor;
  return (-cb + Math.sqrt(Math.abs(cb * cb - 3 * ca * derphi0))) / (3 * ca);
}

/**
 * One stage on a state held in a plain array (the arithmetic of Backend.armijoStage):
 * returns [trial, take].
 */
export function armijoStageOn(st: Float64Array | number[], n: number, stage: number): [number, number] {
  if (stage === -1) {
    const phi0 = n * n;
    for (let i = 0; i < ARMIJO_FIELDS; i++) st[i] = 0;
    st[ARMIJO_PHI0] = phi0;
    st[ARMIJO_DERPHI0] = -phi0;
    st[ARMIJO_RESULT] = 1;
    st[ARMIJO_TRIAL] = 1;
    return [1, 0];
  }
  if (st[ARMIJO_DONE] !== 0) return [st[ARMIJO_RESULT], 0];
  const phi = Number.isFinite(n) ? n * n : Infinity;
  const phi0 = st[ARMIJO_PHI0], derphi0 = st[ARMIJO_DERPHI0];
  const finish = (found: boolean, a: number, take: number): [number, number] => {
    st[ARMIJO_DONE] = found ? 1 : 2;
    st[ARMIJO_RESULT] = found ? a : 1;
    st[ARMIJO_TRIAL] = st[ARMIJO_RESULT];
    return [st[ARMIJO_RESULT], take];
  };
  const next = (a: number, take: number): [number, number] => {
    if (stage >= ARMIJO_STAGES - 1) return finish(false, 1, take);
    st[ARMIJO_TRIAL] = a;
    return [a, take];
  };
  if (stage === 0) {
    if (phi <= phi0 + C1 * derphi0) return finish(true, 1, 1);
    const a1 = -derphi0 / 2 / (phi - phi0 - derphi0);
    st[ARMIJO_APREV] = 1;
    st[ARMIJO_PHIPREV] = phi;
    st[ARMIJO_A1] = a1;
    return next(a1, 1);
  }
  let a1 = st[ARMIJO_A1];
  if (stage === 1) {
    st[ARMIJO_PHIA1] = phi;
  } else {
    let a2 = st[ARMIJO_TRIAL];
    if (phi <= phi0 + C1 * a2 * derphi0) return finish(true, a2, 1);
    if (a1 - a2 > a1 / 2 || 1 - a2 / a1 < 0.96) a2 = a1 / 2;
    st[ARMIJO_APREV] = a1;
    st[ARMIJO_PHIPREV] = st[ARMIJO_PHIA1];
    st[ARMIJO_A1] = a1 = a2;
    st[ARMIJO_PHIA1] = phi;
  }
  if (!(a1 > AMIN)) return finish(false, 1, 0);
  return next(cubicStep(phi0, derphi0, st[ARMIJO_APREV], st[ARMIJO_PHIPREV], a1, st[ARMIJO_PHIA1]), 0);
}

/** Backend.armijoStage on a synchronously readable backend. */
export function armijoStageHost(be: Backend, norm: Storage, state: Storage, trial: Storage, take: Storage, stage: number): void {
  const st = Float64Array.from(be.readSync(state));
  const [a, t] = armijoStageOn(st, be.readSync(norm)[0], stage);
  be.write(state, st);
  be.write(trial, [a]);
  be.write(take, [t]);
}
