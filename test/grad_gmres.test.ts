/**
 * The `gmres` solver (restarted GMRES for affine fixed-point maps, the IFT adjoint's form):
 * against a dense solve, restarts, a non-contractive map where fixed-point iteration fails,
 * TorchDEQ-style stats (checked against the true residual of the returned state), call
 * budget, stop modes, indexing, multi-tensor states, float32, memory and option errors.
 */
import { describe, it, expect } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { getSolver, listSolvers } from '../src/solvers/index.js';
import { gmres } from '../src/solvers/gmres.js';

type DT = 'float32' | 'float64';

/** A batch of affine maps f(g)_b = M_b g_b + v_b with M_b = s * (random / ||random||_F-ish). */
function affine(B: number, d: number, seed: number, scale: number, dtype: DT = 'float64') {
  const M = Array.from({ length: B }, (_, b) => {
    const r = T.randn([d, d], { dtype: 'float64', seed: seed + b }).dataSync();
    return Array.from(r, (x) => (x * scale) / Math.sqrt(d));
  });
  const v = Array.from(T.randn([B, d], { dtype: 'float64', seed: seed + 100 }).dataSync());
  // Mt[b] = M_b^T so that g_b (1 x d) @ Mt[b] = (M_b g_b)^T
  const Mt = T.tensor(M.flatMap((m) => Array.from({ length: d * d }, (_, k) => m[(k % d) * d + Math.floor(k / d)])), [B, d, d], { dtype });
  const vt = T.tensor(v, [B, d], { dtype });
  let calls = 0;
  const f = (g: Tensor): Tensor => {
    calls++;
    return T.matmul(g.unsqueeze(1), Mt).reshape([B, d]).add(vt);
  };
  /** Dense solve of (I - M_b) g = v_b per sample (Gaussian elimination, partial pivoting). */
  const exact = (): number[] => {
    const out: number[] = [];
    for (let b = 0; b < B; b++) {
      const A = Array.from({ length: d }, (_, i) => Array.from({ length: d + 1 }, (_, j) =>
        (j === d ? v[b * d + i] : (i === j ? 1 : 0) - M[b][i * d + j])));
      for (let c = 0; c < d; c++) {
        let p = c;
        for (let r = c + 1; r < d; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
        [A[c], A[p]] = [A[p], A[c]];
        for (let r = c + 1; r < d; r++) {
          const q = A[r][c] / A[c][c];
          for (let j = c; j <= d; j++) A[r][j] -= q * A[c][j];
        }
      }
      const x = new Array<number>(d).fill(0);
      for (let i = d - 1; i >= 0; i--) {
        let acc = A[i][d];
        for (let j = i + 1; j < d; j++) acc -= A[i][j] * x[j];
        x[i] = acc / A[i][i];
      }
      out.push(...x);
    }
    return out;
  };
  return { f, exact, calls: () => calls, reset: () => { calls = 0; }, Mt, vt };
}

const arr = (t: Tensor): number[] => Array.from(t.dataSync());
const maxAbsDiff = (a: number[], b: number[]): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const maxAbs = (a: number[]): number => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/** True per-sample residual norms ||f(z) - z|| and ||f(z)||. */
function trueResidual(f: (g: Tensor) => Tensor, z: Tensor, B: number): { abs: number[]; fn: number[] } {
  const fz = f(z), r = arr(fz.sub(z)), fv = arr(fz);
  const d = r.length / B;
  const norm = (a: number[], b: number) => Math.hypot(...a.slice(b * d, (b + 1) * d));
  return { abs: Array.from({ length: B }, (_, b) => norm(r, b)), fn: Array.from({ length: B }, (_, b) => norm(fv, b)) };
}

describe('gmres: solutions', () => {
  it('is registered and solves a contractive batched affine map to the dense solution', async () => {
    expect(listSolvers()).toContain('gmres');
    expect(getSolver('gmres')).toBe(gmres);
    const B = 3, d = 7;
    const p = affine(B, d, 1, 0.8);
    const res = await gmres(p.f, T.zeros([B, d], { dtype: 'float64' }), { tol: 1e-12, maxIter: 40, restart: 20 });
    const want = p.exact();
    expect(maxAbsDiff(arr(res.z), want)).toBeLessThanOrEqual(1e-11 * maxAbs(want));
    expect(res.status).toEqual(['converged', 'converged', 'converged']);
    // a full Krylov space (d steps) solves exactly: 1 call for r0, at most d Arnoldi calls and
    // one call confirming the residual
    expect(p.calls()).toBeLessThanOrEqual(d + 2);
  });

  it('restarted (restart 2) still converges, with more calls', async () => {
    const B = 2, d = 9;
    const p = affine(B, d, 11, 0.6);
    const res = await gmres(p.f, T.zeros([B, d], { dtype: 'float64' }), { tol: 1e-11, maxIter: 200, restart: 2 });
    const want = p.exact();
    expect(maxAbsDiff(arr(res.z), want)).toBeLessThanOrEqual(1e-9 * maxAbs(want));
    expect(p.calls()).toBeGreaterThan(d + 1);
    expect(res.status).toEqual(['converged', 'converged']);
  });

  it('solves a non-contractive map (spectral radius > 1) where fixed-point iteration diverges', async () => {
    const B = 2, d = 6;
    const p = affine(B, d, 21, 2.5);
    const want = p.exact();
    const fpi = await getSolver('fixed_point_iter')(p.f, T.zeros([B, d], { dtype: 'float64' }), { tol: 1e-10, maxIter: 60 });
    expect(fpi.status.some((s) => s !== 'converged')).toBe(true);
    const res = await gmres(p.f, T.zeros([B, d], { dtype: 'float64' }), { tol: 1e-10, maxIter: 30, restart: 10 });
    expect(maxAbsDiff(arr(res.z), want)).toBeLessThanOrEqual(1e-9 * maxAbs(want));
  });

  it('starts from a non-zero x0 and returns it at once when it already solves the system', async () => {
    const B = 2, d = 5;
    const p = affine(B, d, 31, 0.5);
    const want = p.exact();
    const res = await gmres(p.f, T.tensor(want, [B, d], { dtype: 'float64' }), { tol: 1e-10 });
    expect(p.calls()).toBe(1);
    expect(arr(res.z)).toEqual(want);
    p.reset();
    const near = T.tensor(want.map((x, i) => x + 0.1 * Math.sin(i)), [B, d], { dtype: 'float64' });
    const res2 = await gmres(p.f, near, { tol: 1e-12, restart: 3, maxIter: 100 });
    expect(maxAbsDiff(arr(res2.z), want)).toBeLessThanOrEqual(1e-10 * maxAbs(want));
  });

  it('works on a multi-tensor state', async () => {
    const B = 2, d = 6;
    const p = affine(B, d, 41, 0.7);
    const want = p.exact();
    const split = (g: Tensor[]): Tensor[] => {
      const full = T.tensor([...Array(B).keys()].flatMap((b) => [...arr(g[0]).slice(b * 2, b * 2 + 2), ...arr(g[1]).slice(b * 4, b * 4 + 4)]), [B, d], { dtype: 'float64' });
      const y = arr(p.f(full));
      return [T.tensor([...Array(B).keys()].flatMap((b) => y.slice(b * d, b * d + 2)), [B, 2], { dtype: 'float64' }),
        T.tensor([...Array(B).keys()].flatMap((b) => y.slice(b * d + 2, b * d + 6)), [B, 4], { dtype: 'float64' })];
    };
    const res = await gmres(split, [T.zeros([B, 2], { dtype: 'float64' }), T.zeros([B, 4], { dtype: 'float64' })], { tol: 1e-12 });
    const got = [...Array(B).keys()].flatMap((b) => [...arr(res.z[0]).slice(b * 2, b * 2 + 2), ...arr(res.z[1]).slice(b * 4, b * 4 + 4)]);
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-10 * maxAbs(want));
  });

  it('float32: converges to float32 accuracy', async () => {
    const B = 3, d = 17;
    const p = affine(B, d, 51, 0.8, 'float32');
    const res = await gmres(p.f, T.zeros([B, d], { dtype: 'float32' }), { tol: 1e-5, maxIter: 60 });
    expect(res.z.dtype).toBe('float32');
    const want = p.exact();
    expect(maxAbsDiff(arr(res.z), want)).toBeLessThanOrEqual(1e-5 * maxAbs(want));
  });
});

describe('gmres: TorchDEQ-style bookkeeping', () => {
  it('stats: sentinel, lowest = true residual of the returned state, nstep = f calls, trace width = calls + 1', async () => {
    const B = 3, d = 8, maxIter = 40;
    const p = affine(B, d, 61, 0.5);
    const res = await gmres(p.f, T.zeros([B, d], { dtype: 'float64' }), { tol: 1e-9, maxIter, restart: 4 });
    const calls = p.calls();
    const st = res.stats;
    expect(calls).toBeLessThan(maxIter);
    expect(st.absTrace.shape).toEqual([B, calls + 1]); // the steps run (not padded to maxIter + 1)
    const tr = st.absTrace.toArray() as number[][];
    for (const row of tr) expect(row[0]).toBe(1e8);
    const nstep = arr(st.nstep);
    for (const s of nstep) expect(s).toBeLessThanOrEqual(calls);
    const { abs, fn } = trueResidual(p.f, res.z, B);
    // the last recorded step is the confirming call: the true residual of the returned state
    for (let b = 0; b < B; b++) expect(Math.abs(tr[b][calls] - abs[b])).toBeLessThanOrEqual(1e-14);
    const lowest = arr(st.absLowest), rel = arr(st.relLowest);
    for (let b = 0; b < B; b++) {
      expect(lowest[b]).toBeLessThan(1e-9);
      expect(Math.abs(lowest[b] - abs[b])).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(rel[b] - abs[b] / (fn[b] + 1e-9))).toBeLessThanOrEqual(1e-12);
    }
    // the first recorded step is the residual of x0 = 0: ||v_b||
    const v = arr(p.vt);
    for (let b = 0; b < B; b++) expect(tr[b][1]).toBeCloseTo(Math.hypot(...v.slice(b * d, (b + 1) * d)), 12);
  });

  it('stopMode rel stops on the relative residual; maxIter bounds the f calls; writer gets the stats', async () => {
    const B = 2, d = 10;
    const p = affine(B, d, 71, 0.5);
    let seen: unknown = null;
    const res = await gmres(p.f, T.zeros([B, d], { dtype: 'float64' }), { tol: 1e-8, stopMode: 'rel', restart: 3, writer: (s) => { seen = s; } });
    expect(seen).toBe(res.stats);
    const { abs, fn } = trueResidual(p.f, res.z, B);
    for (let b = 0; b < B; b++) expect(abs[b] / (fn[b] + 1e-9)).toBeLessThan(1e-8 * 1.001);
    p.reset();
    const capped = await gmres(p.f, T.zeros([B, d], { dtype: 'float64' }), { tol: 1e-14, maxIter: 5, restart: 3 });
    expect(p.calls()).toBe(5);
    expect(capped.status).toEqual(['maxIter', 'maxIter']);
    p.reset();
    const none = await gmres(p.f, T.ones([B, d], { dtype: 'float64' }), { maxIter: 0 });
    expect(p.calls()).toBe(0);
    expect(arr(none.z)).toEqual(new Array(B * d).fill(1));
  });

  it('indexing: the best-so-far state at the requested steps', async () => {
    const B = 2, d = 6;
    const p = affine(B, d, 81, 0.8);
    const res = await gmres(p.f, T.zeros([B, d], { dtype: 'float64' }), { tol: 1e-13, maxIter: 20, indexing: [1, 3] });
    expect(res.trajectory.length).toBe(2);
    expect(arr(res.trajectory[0])).toEqual(new Array(B * d).fill(0)); // step 1 measures x0
    const r3 = trueResidual(p.f, res.trajectory[1], B).abs;
    const r0 = trueResidual(p.f, T.zeros([B, d], { dtype: 'float64' }), B).abs;
    for (let b = 0; b < B; b++) expect(r3[b]).toBeLessThan(r0[b]);
  });

  it('leaves no storage behind', async () => {
    const B = 2, d = 6;
    const p = affine(B, d, 91, 0.8);
    const x0 = T.zeros([B, d], { dtype: 'float64' });
    const run = async () => {
      const res = await gmres(p.f, x0, { tol: 1e-12, restart: 3 });
      res.z.dispose();
      for (const t of Object.values(res.stats)) t.dispose();
    };
    await run();
    const before = T.memory();
    await run();
    expect(T.memory().numBytes).toBe(before.numBytes);
    expect(T.memory().numTensors).toBe(before.numTensors);
  });

  it('rejects unknown options (listing restart among the valid ones) and a bad restart', async () => {
    const f = (g: Tensor) => g.mul(0.5);
    const x0 = T.zeros([1, 2]);
    await expect(gmres(f, x0, { m: 3 } as never)).rejects.toThrow(/gmres: unknown option 'm'; valid options are .*'restart'/);
    await expect(gmres(f, x0, { restart: 0 } as never)).rejects.toThrow(/gmres: option 'restart' expected an integer >= 1, received 0/);
    await expect(gmres(f, x0, { tol: -1 })).rejects.toThrow(/gmres: option 'tol' expected a finite number >= 0/);
    await expect(gmres(3 as never, x0)).rejects.toThrow(/gmres: expected func to be a function/);
  });
});
