/**
 * Restarted GMRES for fixed points of an affine map f(g) = M g + v, the form of the IFT adjoint
 * system g = J^T g + v: it solves (I - M) g = v by minimising the residual ||f(g) - g|| over a
 * Krylov space that grows by one f call per step. Each sample of the batch has its own Krylov
 * space (the batch shares the f calls). jaxopt, optimistix and DeepEquilibriumNetworks.jl offer
 * it for the same linear systems.
 *
 * Reference: Saad & Schultz, "GMRES: A generalized minimal residual algorithm for solving
 * nonsymmetric linear systems" (SIAM J. Sci. Stat. Comput., 1986).
 */
import { gmresLsqStride, type Storage } from '../backend/backend.js';
import { Session } from './session.js';
import { gmresColumnHost, gmresStartHost } from '../backend/gmres_host.js';
import { SOLVER_KEYS } from './options.js';
import { copyAll } from './workspace.js';
import type { SolverFunc, SolverOptions, SolverResult, SolverState } from './types.js';
import { show } from '../utils/format.js';
import { offloadable } from '../offload/solve.js';

/**
 * gmres's options: the common ones plus `restart`.
 * @example const opts: GmresOptions = { maxIter: 100, tol: 1e-10, restart: 30 };
 */
export interface GmresOptions extends SolverOptions {
  /** Krylov steps per cycle before restarting from the current iterate (default 20; capped at the features per sample). */
  restart?: number;
}

/**
 * Option keys gmres accepts.
 * @example GMRES_KEYS.includes('restart') // true
 */
export const GMRES_KEYS: readonly string[] = SOLVER_KEYS.gmres;

/**
 * Default Krylov steps per cycle.
 * @example GMRES_DEFAULT_RESTART // 20
 */
export const GMRES_DEFAULT_RESTART = 20;

/** A new Arnoldi direction shorter than this times ||A v|| means the Krylov space is exhausted. */
const BREAKDOWN = { float32: 1e-5, float64: 1e-13 } as const;

/** Unit round-off per dtype: the smallest residual (relative to ||f(x)||) a computed state can have. */
const ROUNDOFF = { float32: 2 ** -24, float64: 2 ** -53 } as const;

/**
 * Restarted GMRES on the fixed-point residual f(g) - g of an AFFINE `func` (for a nonlinear
 * func the result is meaningless: use anderson or broyden). Budget and bookkeeping follow the
 * other solvers: `maxIter` bounds the f calls and each call is a recorded step; a cycle's
 * first call measures the true residual of its start point, every Arnoldi call gives the next
 * iterate with GMRES's minimal-residual norm (floored at round-off; for an affine func it is
 * the true residual up to rounding). The best iterate per sample is returned. The solve stops
 * when every sample's recorded stop-mode residual is below `tol`, like every solver.
 * The control flow does not depend on the data, so nothing is read back inside a solve beyond
 * the stop test every `checkEvery` steps: the small least-squares problems (Givens rotations
 * of the Hessenberg matrix, back substitution) run on the backend, batched over samples
 * (Backend.gmresStart / gmresColumn), and each sample has its own difference step h. A cycle
 * always runs `restart` Arnoldi calls (or up to maxIter): a sample whose Krylov space is
 * exhausted (or whose residual is 0) takes no more columns and records the same iterate until
 * the next cycle restarts from it.
 * Options: maxIter, tol, stopMode, indexing, returnFinal, writer, divergence, checkEvery, restart.
 * @example
 * // g = 0.5 g + 1  ->  g = 2
 * const res = await gmres((g) => g.mul(0.5).add(1), zeros([3, 4], { dtype: 'float64' }), { tol: 1e-12 });
 */
export const gmres: <S extends SolverState>(func: SolverFunc<S>, x0: S, options?: GmresOptions) => Promise<SolverResult<S>> =
  offloadable('gmres', async <S extends SolverState>(func: SolverFunc<S>, x0: S, options?: GmresOptions): Promise<SolverResult<S>> => {
  const s = new Session('gmres', func, x0, options, (o) => o.maxIter + 1);
  try {
    const restart = options?.restart ?? GMRES_DEFAULT_RESTART;
    if (typeof restart !== 'number' || !Number.isInteger(restart) || restart < 1) {
      throw new Error(`gmres: option 'restart' expected an integer >= 1, received ${show(restart)}`);
    }
    await iterate(s, restart);
    return await s.finish<S>();
  } finally {
    s.dispose();
  }
});

async function iterate(s: Session, restart: number): Promise<void> {
  const { o, L, ws } = s;
  const { B, D, backend: be, dtype } = L;
  const m = Math.max(1, Math.min(restart, D));
  // Krylov basis, sample-major (B, m + 1, D) so each sample's basis is one matrix.
  const V = ws.buf(B * (m + 1) * D, true, `option 'restart' (${restart}): Krylov basis`);
  const [X, C, P, T, W, tmp, cand, fcand] = Array.from({ length: 8 }, () => s.buf());
  const [n1, n2, n3, scale, h, abs, floor] = Array.from({ length: 7 }, () => ws.buf(B));
  const lsq = ws.buf(B * gmresLsqStride(m));
  const roundoff = ws.buf(1);
  be.fill(roundoff.s, ROUNDOFF[dtype]);
  const hs = Array.from({ length: m }, (_, j) => [ws.buf(B * (j + 1)), ws.buf(B * (j + 1))]);
  const yb = Array.from({ length: m }, (_, j) => ws.buf(B * (j + 1)));
  const sb = Array.from({ length: m }, (_, j) => ws.buf(B * (j + 2)));
  const vStride = (m + 1) * D;
  // The backend's least-squares kernels, or the host reference on a backend without them.
  const start = be.gmresStart ? be.gmresStart.bind(be)
    : (...a: Parameters<typeof gmresStartHost> extends [unknown, ...infer R] ? R : never) => gmresStartHost(be, ...a);
  const column = be.gmresColumn ? be.gmresColumn.bind(be)
    : (...a: Parameters<typeof gmresColumnHost> extends [unknown, ...infer R] ? R : never) => gmresColumnHost(be, ...a);
  const rows = (out: Storage, src: Storage, perRow: Storage, op: 'mul' | 'div'): void =>
    be.binary(op, src, perRow, out, [B, D], [D, 1], [1, 0]);
  const setV = (j: number, src: Storage): void => be.copy(src, 0, [D, 1], V.s, j * D, [vStride, 1], [B, D]);
  const getV = (j: number, dst: Storage): void => be.copy(V.s, j * D, [vStride, 1], dst, 0, [D, 1], [B, D]);
  /** out[b] = sum_{i<n} coef[b, i] v_i[b] (coef is (B, n)). */
  const combine = (coef: Storage, n: number, out: Storage): void =>
    be.matmul(coef, V.s, out, { batch: B, m: 1, n: D, k: n, transA: false, transB: false, strideA: n, strideB: vStride });
  /** out[b, i] = <w[b], v_i[b]> for i < n. */
  const project = (w: Storage, n: number, out: Storage): void =>
    be.matmul(w, V.s, out, { batch: B, m: 1, n, k: D, transA: false, transB: true, strideA: D, strideB: vStride });

  s.copyX0(X);
  let calls = 0;
  while (calls < o.maxIter) {
    // Cycle start: the true residual r0 = f(X) - X of the start point.
    const e0 = await s.run.eval(X);
    calls++;
    copyAll(be, e0.s, C.s);
    e0.release();
    be.axpby(1, C.s, -1, X.s, W.s);
    be.batchedNorm(W.s, n1.s, B, D);
    be.batchedNorm(C.s, n2.s, B, D);
    be.batchedNorm(X.s, n3.s, B, D);
    be.copy(n1.s, 0, [1], s.fusedNorms.s, 0, [1], [B]);
    be.copy(n2.s, 0, [1], s.fusedNorms.s, B, [1], [B]);
    const stop0 = s.record(calls, X.s);
    if ((stop0 instanceof Promise ? await stop0 : stop0) || calls >= o.maxIter) break;
    start(n1.s, n2.s, n3.s, lsq.s, scale.s, h.s, B, m);
    rows(tmp.s, W.s, scale.s, 'mul');
    setV(0, tmp.s);
    for (let j = 0; j < m && calls < o.maxIter; j++) {
      // A v = v - (f(X + h v) - f(X)) / h is exact for affine f; a large h keeps the
      // difference of images accurate relative to h v.
      getV(j, P.s);
      rows(tmp.s, P.s, h.s, 'mul');
      be.axpby(1, X.s, 1, tmp.s, T.s);
      const e = await s.run.eval(T);
      calls++;
      be.axpby(1, e.s, -1, C.s, W.s);
      e.release();
      rows(tmp.s, W.s, h.s, 'div');
      be.axpby(1, P.s, -1, tmp.s, W.s);
      be.batchedNorm(W.s, n1.s, B, D);
      // Classical Gram-Schmidt, twice (batched GEMMs; the second pass restores orthogonality).
      for (const hb of hs[j]) {
        project(W.s, j + 1, hb.s);
        combine(hb.s, j + 1, tmp.s);
        be.axpby(1, W.s, -1, tmp.s, W.s);
      }
      be.batchedNorm(W.s, n2.s, B, D);
      be.axpby(1, hs[j][0].s, 1, hs[j][1].s, hs[j][0].s);
      column(hs[j][0].s, n1.s, n2.s, lsq.s, scale.s, yb[j].s, sb[j].s, abs.s, j, B, m, BREAKDOWN[dtype]);
      rows(tmp.s, W.s, scale.s, 'mul');
      setV(j + 1, tmp.s);
      // The new iterate x_j = X + V y and, for the relative residual, f(x_j) = X + V (y + t).
      combine(yb[j].s, j + 1, tmp.s);
      be.axpby(1, X.s, 1, tmp.s, cand.s);
      combine(sb[j].s, j + 2, tmp.s);
      be.axpby(1, X.s, 1, tmp.s, fcand.s);
      be.batchedNorm(fcand.s, n3.s, B, D);
      // No computed residual is below round-off: floor the minimal-residual estimate there.
      be.binary('mul', n3.s, roundoff.s, floor.s, [B], [1], [0]);
      be.binary('maximum', abs.s, floor.s, n1.s, [B], [1], [1]);
      be.copy(n1.s, 0, [1], s.fusedNorms.s, 0, [1], [B]);
      be.copy(n3.s, 0, [1], s.fusedNorms.s, B, [1], [B]);
      const stop = s.record(calls, cand.s);
      if (stop instanceof Promise ? await stop : stop) return;
    }
    copyAll(be, cand.s, X.s); // restart from the last iterate
  }
}
