/**
 * Anderson acceleration with TorchDEQ's semantics. History of the last `m` pairs (X, F = f(X))
 * in a ring buffer (slot `k mod m`); each step solves, per sample, the bordered ridge
 * least-squares system
 *   [[0, 1^T], [1, G G^T + lam I]] [nu; alpha] = [1; 0],   G = F - X (n = min(k, m) rows),
 * and mixes `X = tau alpha^T F + (1 - tau) alpha^T X`. The candidate of a step is its image
 * F = f(X) (step number = f calls so far); the first two evaluations are not candidates, so
 * the traces have `maxIter - 1` columns. All batch work runs on backend primitives (batched
 * matrix-vector products, batched solve, strided copies) on buffers allocated once. G G^T is
 * kept up to date incrementally: a new history row costs its m dot products with the stored
 * rows (one batched (1 x D) @ (D x m) product) instead of recomputing the m x m Gram matrix.
 *
 * Reference: D. G. Anderson, "Iterative procedures for nonlinear integral equations",
 * J. ACM 12(4), 1965; H. F. Walker & P. Ni, "Anderson acceleration for fixed-point
 * iterations", SIAM J. Numer. Anal. 49(4), 2011.
 */
import type { Storage } from '../backend/backend.js';
import { Session } from './session.js';
import { copyAll, type Buf } from './workspace.js';
import type { Evaluation } from './evaluate.js';
import type { Solver, SolverFunc, SolverOptions, SolverResult, SolverState } from './types.js';
import { offloadable } from '../offload/solve.js';

/** Relative ridges tried, per failing sample, when a bordered system is singular. */
const FALLBACK_RIDGES = [1e-10, 1e-7, 1e-4];

/**
 * Anderson acceleration (type II, bordered form).
 * Options: maxIter, tol, stopMode, indexing, tau, m (6), lam (1e-4), returnFinal, writer, divergence.
 * @example
 * const res = await anderson((z) => cos(z), zeros([4, 1], { dtype: 'float64' }), { maxIter: 30, tol: 1e-12 });
 */
export const anderson: Solver = offloadable('anderson', async <S extends SolverState>(func: SolverFunc<S>, x0: S,
  options?: SolverOptions): Promise<SolverResult<S>> => {
  const s = new Session('anderson', func, x0, options, (o) => Math.max(1, o.maxIter - 1));
  try {
    await iterate(s);
    return await s.finish<S>();
  } finally {
    s.dispose();
  }
});

/**
 * Per history size n: the bordered matrix H = P + C (B, n+1, n+1), where P holds G G^T in its
 * interior (copied each step) and C the constant part (the border of ones, lam on the interior
 * diagonal); right-hand side y = e_0 and solution (B, n+1).
 */
interface Bordered { P: Buf; C: Buf; H: Buf; y: Buf; sol: Buf; }

function borderedSystems(s: Session, m: number, maxIter: number, lam: number): Bordered[] {
  const { B } = s.L;
  const sys: Bordered[] = [];
  for (let n = 2; n <= Math.min(m, Math.max(2, maxIter - 1)); n++) {
    const w = n + 1;
    const P = s.ws.buf(B * w * w), C = s.ws.buf(B * w * w), H = s.ws.buf(B * w * w);
    const y = s.ws.buf(B * w), sol = s.ws.buf(B * w);
    const c = new Float64Array(B * w * w), rhs = new Float64Array(B * w);
    for (let b = 0; b < B; b++) {
      const o = b * w * w;
      for (let j = 1; j < w; j++) {
        c[o + j] = 1;
        c[o + j * w] = 1;
        c[o + j * w + j] = lam;
      }
      rhs[b * w] = 1;
    }
    s.L.backend.write(C.s, c);
    s.L.backend.write(y.s, rhs);
    sys[n] = { P, C, H, y, sol };
  }
  return sys;
}

async function iterate(s: Session): Promise<void> {
  const { o, L } = s;
  const be = L.backend;
  const { B, D } = L;
  const m = o.m;
  // History (B, m, D): slot j of sample b at (b m + j) D. gram (B, m, m) = G G^T (no ridge).
  const why = `option 'm' (${m}): history`;
  const X = s.buf(m, why), F = s.buf(m, why), G = s.buf(m, why);
  const xCur = s.buf(), gCur = s.buf(), mixX = s.buf();
  const gram = s.ws.buf(B * m * m, true, `option 'm' (${m}): Gram matrix`), row = s.ws.buf(B * m), alpha = s.ws.buf(B * m);
  // Backends with the fused Anderson steps need the bordered systems only for singular samples
  // (a GPU backend resolves those on the device and reports none, so its loop reads nothing);
  // the composed mix reads the same history and Gram matrices.
  const fused = be.andersonRecord !== undefined;
  const fusedMix = fused && be.andersonMix !== undefined;
  let sys: Bordered[] | null = null;
  const systems = (): Bordered[] => (sys ??= borderedSystems(s, m, o.maxIter, o.lam));
  const rowSpec = { batch: B, m: 1, n: m, k: D, transA: false, transB: true, strideA: D, strideB: m * D };
  const toSlot = (src: Storage, dst: Buf, slot: number): void => {
    be.copy(src, 0, [D, 1], dst.s, slot * D, [m * D, 1], [B, D]);
  };
  // Record f(x) for the state in `x` into `slot` (X, F, G = F - X and G's Gram row/column).
  const evalInto = (x: Buf, slot: number): Evaluation | Promise<Evaluation> => {
    const e = s.run.eval(x);
    return e instanceof Promise ? e.then((ev) => record(x, ev, slot)) : record(x, e, slot);
  };
  const record = (x: Buf, e: Evaluation, slot: number): Evaluation => {
    if (fused) {
      // The same history update plus the norms of f(x) - x and f(x), in one call.
      be.andersonRecord!(x.s, e.s, X.s, F.s, G.s, gram.s, s.fusedNorms.s, slot, B, m, D);
      return e;
    }
    toSlot(x.s, X, slot);
    toSlot(e.s, F, slot);
    be.axpby(1, e.s, -1, x.s, gCur.s);
    toSlot(gCur.s, G, slot);
    // row[b, j] = G[b, slot] . G[b, j]
    be.matmul(gCur.s, G.s, row.s, rowSpec);
    be.copy(row.s, 0, [m, 1], gram.s, slot * m, [m * m, 1], [B, m]);
    be.copy(row.s, 0, [m, 1], gram.s, slot, [m * m, m], [B, m]);
    return e;
  };

  // out[b] = alpha[b]^T hist[b] (alpha is zero beyond the n filled slots).
  const mixSpec = { batch: B, m: 1, n: D, k: m, transA: false, transB: false, strideA: m, strideB: m * D };
  const mix = (hist: Buf, out: Buf): void => be.matmul(alpha.s, hist.s, out.s, mixSpec);

  // X0 = x0, F0 = f(x0); X1 = F0, F1 = f(X1): two evaluations that are never candidates.
  const e0 = await evalInto(s.x0, 0);
  copyAll(be, e0.s, xCur.s);
  e0.release();
  (await evalInto(xCur, 1)).release();

  for (let k = 2; k < o.maxIter; k++) {
    // From k = m on, the history is full and step k repeats step k - m's work (slot k mod m).
    if (k === m) s.capture(m);
    if (s.beginIteration()) {
      const stop = s.recordReplayed(k + 1);
      if (stop instanceof Promise ? await stop : stop) break;
      continue;
    }
    const n = Math.min(k, m);
    // A fused mix that meets a singular system is redone composed (with its fallback ridges).
    if (!fusedMix || be.andersonMix!(gram.s, F.s, X.s, xCur.s, n, o.lam, o.tau, B, m, D, (k - 1) % m) > 0) {
      const { P, C, H, y, sol } = systems()[n];
      const w = n + 1;
      be.copy(gram.s, 0, [m * m, m, 1], P.s, w + 1, [w * w, w, 1], [B, n, n]);
      be.axpby(1, P.s, 1, C.s, H.s);
      const solved = be.solve(H.s, y.s, sol.s, B, w);
      const ok = solved instanceof Promise ? await solved : solved;
      if (ok.includes(false)) await recoverSingular(s, ok, gram.s, sol.s, n, (k - 1) % m);
      be.copy(sol.s, 1, [w, 1], alpha.s, 0, [m, 1], [B, n]);
      mix(F, xCur);
      if (o.tau !== 1) {
        mix(X, mixX);
        be.axpby(o.tau, xCur.s, 1 - o.tau, mixX.s, xCur.s);
      }
    }
    const ev = evalInto(xCur, k % m);
    const e = ev instanceof Promise ? await ev : ev;
    const stop = s.record(k + 1, e.s, fused ? undefined : [gCur.s, e.s]);
    const done = stop instanceof Promise ? await stop : stop;
    e.release();
    if (done) break;
  }
}

/**
 * A sample whose bordered system is singular (lam = 0 with a rank-deficient history, or
 * non-finite entries) is re-solved with a ridge relative to its Gram diagonal, growing until
 * the solve succeeds; if none does, it takes a plain fixed-point step (alpha = 1 on the newest
 * slot). Rare path: reads the Gram matrices back.
 */
async function recoverSingular(s: Session, ok: boolean[], gram: Storage, sol: Storage, n: number, newest: number): Promise<void> {
  const be = s.L.backend;
  const m = s.o.m, w = n + 1;
  const g = await be.readAsync(gram);
  const H = be.alloc(w * w, s.L.dtype), y = be.alloc(w, s.L.dtype), out = be.alloc(w, s.L.dtype);
  try {
    const rhs = new Float64Array(w);
    rhs[0] = 1;
    be.write(y, rhs);
    for (let b = 0; b < ok.length; b++) {
      if (ok[b]) continue;
      const lam = s.o.lam;
      let scale = 0;
      for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(g[(b * m + i) * m + i] + lam));
      let solved: ArrayLike<number> | null = null;
      for (const rel of FALLBACK_RIDGES) {
        if (!(scale > 0) || !Number.isFinite(scale)) break;
        const h = new Float64Array(w * w);
        for (let j = 1; j < w; j++) { h[j] = 1; h[j * w] = 1; }
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) h[(i + 1) * w + j + 1] = g[(b * m + i) * m + j] + (i === j ? lam + rel * scale : 0);
        }
        be.write(H, h);
        const done = be.solve(H, y, out, 1, w);
        if ((done instanceof Promise ? await done : done)[0]) { solved = await be.readAsync(out); break; }
      }
      if (!solved) {
        const oneHot = new Float64Array(w);
        oneHot[1 + newest] = 1;
        solved = oneHot;
      }
      be.write(sol, solved, b * w);
    }
  } finally {
    be.free(H);
    be.free(y);
    be.free(out);
  }
}
