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
import type { Storage } from '../backend/backend.js';
import { StateLayout } from './layout.js';
import { FuncRunner } from './evaluate.js';
import { Tracker } from './tracker.js';
import { resolveOptions } from './options.js';
import { Workspace, copyAll, copyRows, readVectors, type Buf } from './workspace.js';
import { HessenbergLsq } from './gmres_lsq.js';
import type { SolverFunc, SolverOptions, SolverResult, SolverState, SolverStats } from './types.js';
import { show } from '../utils/format.js';

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
export const GMRES_KEYS: readonly string[] = ['maxIter', 'tol', 'stopMode', 'indexing', 'returnFinal', 'writer', 'divergence', 'restart'];

/**
 * Default Krylov steps per cycle.
 * @example GMRES_DEFAULT_RESTART // 20
 */
export const GMRES_DEFAULT_RESTART = 20;

/** A new Arnoldi direction shorter than this times ||A v|| means the Krylov space is exhausted. */
const BREAKDOWN = { float32: 1e-5, float64: 1e-13 } as const;

/** Unit round-off per dtype: the smallest residual (relative to ||f(x)||) a computed state can have. */
const ROUNDOFF = { float32: 2 ** -24, float64: 2 ** -53 } as const;

const finiteMax = (xs: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i]) && xs[i] > m) m = xs[i];
  return m;
};

/**
 * Restarted GMRES on the fixed-point residual f(g) - g of an AFFINE `func` (for a nonlinear
 * func the result is meaningless: use anderson or broyden). Budget and bookkeeping follow the
 * other solvers: `maxIter` bounds the f calls and each call is a recorded step; a cycle's
 * first call measures the true residual of its start point, every Arnoldi call gives the next
 * iterate with GMRES's minimal-residual norm (floored at round-off). The best iterate per
 * sample is returned. The solve stops when every sample's stop-mode residual is below `tol`;
 * when that happens on Arnoldi estimates, one more call confirms it with the true residual.
 * Options: maxIter, tol, stopMode, indexing, returnFinal, writer, divergence, restart.
 * @example
 * // g = 0.5 g + 1  ->  g = 2
 * const res = await gmres((g) => g.mul(0.5).add(1), zeros([3, 4], { dtype: 'float64' }), { tol: 1e-12 });
 */
export const gmres = async <S extends SolverState>(func: SolverFunc<S>, x0: S,
  options?: GmresOptions): Promise<SolverResult<S>> => {
  const where = 'gmres';
  if (typeof func !== 'function') {
    throw new Error(`${where}: expected func to be a function (z) => Tensor, received ${func === null ? 'null' : typeof func}`);
  }
  const L = StateLayout.of(where, x0);
  const o = resolveOptions(where, options, GMRES_KEYS);
  const restart = options?.restart ?? GMRES_DEFAULT_RESTART;
  if (typeof restart !== 'number' || !Number.isInteger(restart) || restart < 1) {
    throw new Error(`${where}: option 'restart' expected an integer >= 1, received ${show(restart)}`);
  }
  const { B, D, backend: be, dtype } = L;
  const m = Math.max(1, Math.min(restart, D));
  const ws = new Workspace(be, dtype, where);
  const trajectory: SolverState[] = [];
  let res: SolverResult<S> | null = null, stats: SolverStats | null = null, handedOut = false;
  try {
    const X = ws.buf(B * D);
    L.pack(L.partsOf(where, 'x0', x0), X.s);
    const best = ws.buf(B * D);
    copyAll(be, X.s, best.s);
    const run = new FuncRunner(where, func as unknown as SolverFunc<SolverState>, L, ws);
    const track = new Tracker({ B, stopMode: o.stopMode, width: o.maxIter + 1, tol: o.tol, returnFinal: o.returnFinal, divergence: o.divergence });
    // Krylov basis, sample-major (B, m + 1, D) so each sample's basis is one matrix.
    const V = ws.buf(B * (m + 1) * D, true, `option 'restart' (${restart}): Krylov basis`);
    const [C, P, T, W, tmp, cand, fcand] = Array.from({ length: 7 }, () => ws.buf(B * D));
    const [n1, n2, n3, scale] = Array.from({ length: 4 }, () => ws.buf(B));
    const hA = Array.from({ length: m }, (_, j) => ws.buf(B * (j + 1)));
    const hB = Array.from({ length: m }, (_, j) => ws.buf(B * (j + 1)));
    const yb = Array.from({ length: m }, (_, j) => ws.buf(B * (j + 1)));
    const sb = Array.from({ length: m }, (_, j) => ws.buf(B * (j + 2)));
    const vStride = (m + 1) * D;

    const accept = (abs: ArrayLike<number>, fNorm: ArrayLike<number>, step: number, candidate: Storage): void => {
      if (track.record(abs, fNorm, step)) copyRows(be, candidate, best.s, track.improved, D);
      if (o.indexing.includes(step)) trajectory.push(L.unpack(best.s));
    };
    const setV = (j: number, src: Storage): void => be.copy(src, 0, [D, 1], V.s, j * D, [vStride, 1], [B, D]);
    const getV = (j: number, dst: Storage): void => be.copy(V.s, j * D, [vStride, 1], dst, 0, [D, 1], [B, D]);
    /** out[b] = sum_{i<n} coef[b, i] v_i[b] (coef is (B, n)). */
    const combine = (coef: Buf, n: number, out: Storage): void =>
      be.matmul(coef.s, V.s, out, { batch: B, m: 1, n: D, k: n, transA: false, transB: false, strideA: n, strideB: vStride });
    /** out[b, i] = <w[b], v_i[b]> for i < n. */
    const project = (w: Storage, n: number, out: Buf): void =>
      be.matmul(w, V.s, out.s, { batch: B, m: 1, n, k: D, transA: false, transB: true, strideA: D, strideB: vStride });
    const scaleRows = (src: Storage, factors: Float64Array, dst: Storage): void => {
      be.write(scale.s, factors);
      be.binary('mul', src, scale.s, dst, [B, D], [D, 1], [1, 0]);
    };

    let calls = 0;
    outer: while (calls < o.maxIter) {
      // Cycle start: the true residual r0 = f(X) - X of the start point.
      const e0 = await run.eval(X);
      calls++;
      copyAll(be, e0.s, C.s);
      e0.release();
      be.axpby(1, C.s, -1, X.s, W.s);
      be.batchedNorm(W.s, n1.s, B, D);
      be.batchedNorm(C.s, n2.s, B, D);
      be.batchedNorm(X.s, n3.s, B, D);
      const [beta, fxNorm, xNorm] = await readVectors(be, [n1.s, n2.s, n3.s]);
      accept(beta, fxNorm, calls, X.s);
      if (track.shouldStop() || calls >= o.maxIter) break;
      const lsq = Array.from({ length: B }, (_, b) => new HessenbergLsq(m, Number.isFinite(beta[b]) ? beta[b] : 0));
      scaleRows(W.s, Float64Array.from(lsq, (q, b) => (q.frozen ? 0 : 1 / beta[b])), tmp.s);
      setV(0, tmp.s);
      // A v = v - (f(X + h v) - f(X)) / h is exact for affine f; a large h keeps the
      // difference of images accurate relative to h v.
      const h = Math.max(1, finiteMax(fxNorm), finiteMax(xNorm));
      for (let j = 0; j < m; j++) {
        if (calls >= o.maxIter) break outer;
        getV(j, P.s);
        be.axpby(1, X.s, h, P.s, T.s);
        const e = await run.eval(T);
        calls++;
        be.axpby(1, e.s, -1, C.s, W.s);
        e.release();
        be.axpby(1, P.s, -1 / h, W.s, W.s);
        be.batchedNorm(W.s, n1.s, B, D);
        // Classical Gram-Schmidt, twice (batched GEMMs; the second pass restores orthogonality).
        for (const hb of [hA[j], hB[j]]) {
          project(W.s, j + 1, hb);
          combine(hb, j + 1, tmp.s);
          be.axpby(1, W.s, -1, tmp.s, W.s);
        }
        be.batchedNorm(W.s, n2.s, B, D);
        const [ha, hb, avNorm, wNorm] = await readVectors(be, [hA[j].s, hB[j].s, n1.s, n2.s]);
        const inv = new Float64Array(B);
        const col = new Float64Array(j + 1);
        for (let b = 0; b < B; b++) {
          const q = lsq[b];
          if (q.frozen) continue;
          for (let i = 0; i <= j; i++) col[i] = ha[b * (j + 1) + i] + hb[b * (j + 1) + i];
          q.addColumn(col, wNorm[b], !(wNorm[b] > BREAKDOWN[dtype] * avNorm[b]));
          inv[b] = q.frozen ? 0 : 1 / wNorm[b];
        }
        scaleRows(W.s, inv, tmp.s);
        setV(j + 1, tmp.s);
        // The new iterate x_j = X + V y and, for the relative residual, f(x_j) = X + V (y + t).
        const ys = new Float64Array(B * (j + 1)), ss = new Float64Array(B * (j + 2)), abs = new Float64Array(B);
        for (let b = 0; b < B; b++) {
          lsq[b].solution(ys, b * (j + 1), j + 1);
          for (let i = 0; i <= j; i++) ss[b * (j + 2) + i] = ys[b * (j + 1) + i];
          lsq[b].addResidualCoefficients(ss, b * (j + 2));
          abs[b] = lsq[b].residual();
        }
        be.write(yb[j].s, ys);
        combine(yb[j], j + 1, tmp.s);
        be.axpby(1, X.s, 1, tmp.s, cand.s);
        be.write(sb[j].s, ss);
        combine(sb[j], j + 2, tmp.s);
        be.axpby(1, X.s, 1, tmp.s, fcand.s);
        be.batchedNorm(fcand.s, n3.s, B, D);
        const [fNorm] = await readVectors(be, [n3.s]);
        // No computed residual is below round-off: floor the minimal-residual estimate there.
        for (let b = 0; b < B; b++) abs[b] = Math.max(abs[b], ROUNDOFF[dtype] * fNorm[b]);
        accept(abs, fNorm, calls, cand.s);
        // Estimates pass the test: restart, so the next cycle's first call confirms it with the
        // true residual (and continues if round-off or a non-affine func made them optimistic).
        if (track.shouldStop() || lsq.every((q) => q.frozen)) break;
      }
      copyAll(be, cand.s, X.s); // restart from the last iterate
    }
    if (o.indexing.length > 0 && trajectory.length === 0) trajectory.push(L.unpack(best.s));
    stats = track.stats(dtype, be);
    res = { z: L.unpack(best.s) as S, trajectory: trajectory as S[], stats, status: track.status() };
    o.writer?.(stats);
    handedOut = true;
    return res;
  } finally {
    ws.free();
    if (!handedOut) {
      // An error (func, a throwing writer, out of memory): nothing made for the result may stay alive.
      const made = [res?.z, ...trajectory, ...(stats ? Object.values(stats) : [])];
      for (const st of made) for (const t of st === undefined ? [] : Array.isArray(st) ? st : [st]) if (!t.isDisposed) t.dispose();
    }
  }
};
