/**
 * Solver behaviour beyond the oracle: closed forms (a linear map, cos), multi-tensor states,
 * `indexing`, async funcs, NaN-producing and non-contracting funcs, memory hygiene.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor, SolverFunc } from '../src/index.js';
import { BACKENDS } from './helpers/backends.js';
import { prng } from './helpers/ref.js';

const f64 = { dtype: 'float64' as const };
/** Solvers with stopping and tracking (simple_fixed_point_iter is tested separately). */
const TRACKING = ['fixed_point_iter', 'anderson', 'broyden'];
const DOTTIE = 0.7390851332151607;

/** Dense solve of (I - A) z = b by Gaussian elimination (test-side reference). */
function solveIminusA(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row.map((v, j) => (i === j ? 1 : 0) - v), b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const q = M[r][c] / M[c][c];
      for (let t = c; t <= n; t++) M[r][t] -= q * M[c][t];
    }
  }
  return M.map((row, i) => row[n] / row[i]);
}

function linearProblem(d: number, B: number, seed: number) {
  const u = prng(seed);
  const r = (): number => u() - 0.5;
  const A = Array.from({ length: d }, () => Array.from({ length: d }, () => r() * 0.5 / Math.sqrt(d)));
  const bs = Array.from({ length: B }, () => Array.from({ length: d }, () => r() * 2));
  const At = T.tensor(A, undefined, f64);
  const bt = T.tensor(bs, undefined, f64);
  const f = (z: Tensor): Tensor => T.add(T.linear(z, At), bt);
  const exact = bs.map((b) => solveIminusA(A, b));
  return { f, exact, d, B };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

for (const backend of BACKENDS) describe(`on ${backend}`, () => {
  beforeEach(() => T.setBackend(backend));
  afterEach(() => T.setBackend('js'));

  describe('closed forms', () => {
    for (const name of TRACKING) {
      it(`${name}: linear map z = A z + b reaches (I - A)^-1 b`, async () => {
        const { f, exact, d, B } = linearProblem(7, 4, 11);
        const res = await T.getSolver(name)(f, T.zeros([B, d], f64), { maxIter: 100, tol: 1e-13 });
        expect(res.status).toEqual(['converged', 'converged', 'converged', 'converged']);
        expect(maxAbs(res.z.dataSync(), exact.flat())).toBeLessThan(1e-12);
        expect(Math.max(...res.stats.absLowest.dataSync())).toBeLessThan(1e-13);
      });

      it(`${name}: cos from a scalar and from a vector of starts reaches the Dottie number`, async () => {
        const solver = T.getSolver(name);
        const one = await solver((z) => T.cos(z), T.tensor(0, [], f64), { maxIter: 100, tol: 1e-14 });
        expect(one.z.shape).toEqual([]);
        expect(one.z.item()).toBeCloseTo(DOTTIE, 13);
        const many = await solver((z) => T.cos(z), T.tensor([0, 1, -2], undefined, f64), { maxIter: 100, tol: 1e-14 });
        expect(many.z.shape).toEqual([3]);
        expect(many.stats.absLowest.shape).toEqual([3]);
        for (const v of many.z.dataSync()) expect(v).toBeCloseTo(DOTTIE, 13);
      });
    }

    it('simple_fixed_point_iter runs exactly maxIter steps and returns the last iterate', async () => {
      let calls = 0;
      const f = (z: Tensor): Tensor => { calls++; return T.add(T.mul(z, 0.5), 1); };
      const res = await T.getSolver('simple_fixed_point_iter')(f, T.zeros([2, 3], f64), { maxIter: 10, tol: 1 });
      expect(calls).toBe(10);
      // z_k = 2 (1 - 2^-k); the last step moved by 2^-(k-1) * 0.5 * ... = 2^-9 per coordinate
      for (const v of res.z.dataSync()) expect(v).toBe(2 * (1 - 2 ** -10));
      const stepNorm = Math.sqrt(3) * 2 ** -9;
      expect(maxAbs(res.stats.absLowest.dataSync(), [stepNorm, stepNorm])).toBeLessThan(1e-15);
      expect(res.stats.absTrace.shape).toEqual([2, 1]);
      expect(Array.from(res.stats.nstep.dataSync())).toEqual([10, 10]);
      expect(res.status).toEqual(['converged', 'converged']);
    });
  });

  describe('multi-tensor states', () => {
    for (const name of TRACKING) {
      it(`${name}: a state of two tensors solves the same problem as its packed form`, async () => {
        const B = 3;
        const { f, exact } = linearProblem(8, B, 5);
        // parts: a (B, 2) and c (B, 3, 2) = the packed (B, 8) state split after 2 features
        const split = (v: Tensor): [Tensor, Tensor] => {
          const data = v.dataSync();
          const a: number[] = [], c: number[] = [];
          for (let b = 0; b < B; b++) {
            a.push(...data.slice(b * 8, b * 8 + 2));
            c.push(...data.slice(b * 8 + 2, b * 8 + 8));
          }
          return [T.tensor(a, [B, 2], f64), T.tensor(c, [B, 3, 2], f64)];
        };
        const join = ([a, c]: Tensor[]): Tensor => {
          const ad = a.dataSync(), cd = c.dataSync(), out: number[] = [];
          for (let b = 0; b < B; b++) out.push(...ad.slice(b * 2, b * 2 + 2), ...cd.slice(b * 6, b * 6 + 6));
          return T.tensor(out, [B, 8], f64);
        };
        const multi: SolverFunc<Tensor[]> = (parts) => split(f(join(parts)));
        const res = await T.getSolver(name)(multi, [T.zeros([B, 2], f64), T.zeros([B, 3, 2], f64)], { maxIter: 100, tol: 1e-13, indexing: [3] });
        expect(Array.isArray(res.z)).toBe(true);
        expect(res.z.map((t) => t.shape)).toEqual([[B, 2], [B, 3, 2]]);
        expect(maxAbs(join(res.z).dataSync(), exact.flat())).toBeLessThan(1e-12);
        const packed = await T.getSolver(name)(f, T.zeros([B, 8], f64), { maxIter: 100, tol: 1e-13, indexing: [3] });
        expect(maxAbs(join(res.z).dataSync(), packed.z.dataSync())).toBeLessThan(1e-15);
        expect(res.trajectory.length).toBe(1);
        expect(maxAbs(join(res.trajectory[0]).dataSync(), packed.trajectory[0].dataSync())).toBeLessThan(1e-15);
        expect(Array.from(res.stats.nstep.dataSync())).toEqual(Array.from(packed.stats.nstep.dataSync()));
      });
    }

    it('rejects parts with different batch sizes or dtypes', async () => {
      const fpi = T.getSolver('fixed_point_iter');
      await expect(fpi((z) => z, [T.zeros([2, 3]), T.zeros([3, 3])])).rejects.toThrow(/fixed_point_iter: expected every part of x0 to have batch size 2.*\[3, 3\]/);
      await expect(fpi((z) => z, [T.zeros([2, 3]), T.zeros([2, 3], f64)])).rejects.toThrow(/share dtype and backend.*float32.*float64/);
      await expect(fpi((z) => z, [])).rejects.toThrow(/non-empty array/);
    });
  });

  describe('indexing', () => {
    for (const name of [...TRACKING, 'simple_fixed_point_iter']) {
      it(`${name}: the state recorded at step s is the result of a solve with maxIter = s`, async () => {
        const { f, d, B } = linearProblem(6, 2, 9);
        const solver = T.getSolver(name);
        const steps = [3, 5, 8];
        const res = await solver(f, T.zeros([B, d], f64), { maxIter: 12, tol: 0, indexing: steps });
        expect(res.trajectory.length).toBe(3);
        for (let i = 0; i < steps.length; i++) {
          const short = await solver(f, T.zeros([B, d], f64), { maxIter: steps[i], tol: 0 });
          expect(maxAbs(res.trajectory[i].dataSync(), short.z.dataSync())).toBe(0);
        }
      });
    }

    for (const name of TRACKING) {
      it(`${name}: when no indexing step is reached the final best state is recorded`, async () => {
        const res = await T.getSolver(name)((z) => T.cos(z), T.zeros([2, 1], f64), { maxIter: 40, tol: 1e-6, indexing: [500] });
        expect(res.trajectory.length).toBe(1);
        expect(Array.from(res.trajectory[0].dataSync())).toEqual(Array.from(res.z.dataSync()));
      });
    }
  });

  describe('func edge cases', () => {
    for (const name of TRACKING) {
      it(`${name}: an async func gives the same result as a sync one`, async () => {
        const { f, d, B } = linearProblem(5, 2, 3);
        const solver = T.getSolver(name);
        const a = await solver(f, T.zeros([B, d], f64), { maxIter: 30, tol: 1e-12 });
        const b = await solver(async (z: Tensor) => { await Promise.resolve(); return f(z); }, T.zeros([B, d], f64), { maxIter: 30, tol: 1e-12 });
        expect(Array.from(b.z.dataSync())).toEqual(Array.from(a.z.dataSync()));
      });

      it(`${name}: a NaN-producing sample gets status 'nan' and does not hold the batch`, async () => {
        let calls = 0;
        // sample 0: z -> cos z; sample 1: the same until the 3rd call, then NaN
        const f = (z: Tensor): Tensor => {
          calls++;
          const v = Array.from(z.dataSync(), Math.cos);
          if (calls >= 3) v[1] = NaN;
          return T.tensor(v, [2, 1], f64);
        };
        const res = await T.getSolver(name)(f, T.zeros([2, 1], f64), { maxIter: 200, tol: 1e-12 });
        expect(res.status).toEqual(['converged', 'nan']);
        expect(calls).toBeLessThan(100);
        const z = res.z.dataSync();
        expect(z[0]).toBeCloseTo(DOTTIE, 11);
        expect(Number.isFinite(z[1])).toBe(true);
        expect(Number.isFinite(res.stats.absLowest.dataSync()[1])).toBe(true);
      });

      it(`${name}: a func without a fixed point ends as 'diverged' early instead of running on`, async () => {
        let calls = 0;
        const f = (z: Tensor): Tensor => { calls++; return T.add(T.mul(T.exp(z), 2), 1); };
        const res = await T.getSolver(name)(f, T.zeros([1, 2], f64), { maxIter: 500, tol: 1e-8 });
        expect(['diverged', 'nan']).toContain(res.status[0]);
        expect(calls).toBeLessThan(100);
        expect(Array.from(res.z.dataSync()).every(Number.isFinite)).toBe(true);
      });

      it(`${name}: does not modify x0 and frees its scratch memory`, async () => {
        const { f, d, B } = linearProblem(5, 3, 4);
        const x0 = T.tensor(Array.from({ length: B * d }, (_, i) => i / 10), [B, d], f64);
        const before = T.getBackend().liveBytes();
        const res = await T.getSolver(name)(f, x0, { maxIter: 20, tol: 1e-10, indexing: [2] });
        expect(Array.from(x0.dataSync())).toEqual(Array.from({ length: B * d }, (_, i) => i / 10));
        for (const t of [res.z, ...res.trajectory, ...Object.values(res.stats)]) t.dispose();
        expect(T.getBackend().liveBytes()).toBe(before);
      });

      it(`${name}: the identity func converges at once, and a func that keeps its input gets a stable copy`, async () => {
        const id = await T.getSolver(name)((z) => z, T.ones([2, 3], f64), { maxIter: 10 });
        expect(id.status).toEqual(['converged', 'converged']);
        expect(Array.from(id.z.dataSync())).toEqual([1, 1, 1, 1, 1, 1]);
        const seen: Tensor[] = [];
        const values: number[][] = [];
        const f = (z: Tensor): Tensor => {
          seen.push(T.keep(z.view(z.shape)));
          values.push(Array.from(z.dataSync()));
          return T.cos(z);
        };
        await T.getSolver(name)(f, T.zeros([1, 2], f64), { maxIter: 8, tol: 0 });
        expect(seen.map((t) => Array.from(t.dataSync()))).toEqual(values);
      });

      it(`${name}: func returning the wrong shape, dtype or type throws naming the solver`, async () => {
        const solver = T.getSolver(name);
        await expect(solver(() => T.zeros([2, 4], f64), T.zeros([2, 3], f64))).rejects.toThrow(new RegExp(`${name}: expected the value returned by func to be a float64 Tensor of shape \\[2, 3\\].*received float64 \\[2, 4\\]`));
        await expect(solver(() => T.zeros([2, 3]), T.zeros([2, 3], f64))).rejects.toThrow(/received float32 \[2, 3\]/);
        await expect(solver((() => 3) as unknown as SolverFunc, T.zeros([2, 3], f64))).rejects.toThrow(/received number/);
        await expect(solver(null as unknown as SolverFunc, T.zeros([2, 3], f64))).rejects.toThrow(new RegExp(`${name}: expected func to be a function`));
        const x0 = T.zeros([2, 3], f64);
        const before = T.getBackend().liveBytes();
        await expect(solver(() => { throw new Error('boom'); }, x0)).rejects.toThrow('boom');
        expect(T.getBackend().liveBytes()).toBe(before);
      });
    }
  });

  describe('anderson: singular bordered systems', () => {
    it('lam = 0 with a rank-deficient history falls back to a larger ridge instead of throwing', async () => {
      // z -> z + 1 has no fixed point; every row of G is the same vector, so G G^T is singular.
      let calls = 0;
      const res = await T.getSolver('anderson')((z) => { calls++; return T.add(z, 1); }, T.zeros([2, 3], f64), { maxIter: 12, lam: 0 });
      expect(calls).toBe(12);
      expect(res.status).toEqual(['maxIter', 'maxIter']);
      for (const v of res.stats.absLowest.dataSync()) expect(v).toBeCloseTo(Math.sqrt(3), 14);
      expect(Array.from(res.z.dataSync()).every(Number.isFinite)).toBe(true);
    });

    it('lam = 0 on a map whose history becomes exact still converges', async () => {
      const res = await T.getSolver('anderson')((z) => T.add(T.mul(z, 0), 0.25), T.zeros([2, 3], f64), { maxIter: 12, lam: 0, tol: 1e-12 });
      expect(res.status).toEqual(['converged', 'converged']);
      expect(Array.from(res.z.dataSync())).toEqual([0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
    });
  });


  describe('edge settings', () => {
    const calls0: Record<string, number> = { fixed_point_iter: 0, simple_fixed_point_iter: 0, anderson: 2, broyden: 1 };
    for (const name of Object.keys(calls0)) {
      it(`${name}: maxIter 0 returns x0 (after TorchDEQ's initial evaluations: ${calls0[name]})`, async () => {
        let calls = 0;
        const x0 = T.tensor([[0.1, 0.2], [0.3, 0.4]], undefined, f64);
        const res = await T.getSolver(name)((z) => { calls++; return T.cos(z); }, x0, { maxIter: 0 });
        expect(calls).toBe(calls0[name]);
        expect(res.z.toArray()).toEqual([[0.1, 0.2], [0.3, 0.4]]);
        expect(res.stats.absTrace.shape).toEqual([2, 1]);
        if (name === 'simple_fixed_point_iter') {
          expect(Array.from(res.stats.absLowest.dataSync())).toEqual([0, 0]);
        } else {
          expect(Array.from(res.stats.absLowest.dataSync())).toEqual([1e8, 1e8]);
          expect(res.status).toEqual(['maxIter', 'maxIter']);
        }
      });
    }

    it('anderson: maxIter 1 and 2 still make the two initial evaluations and return x0', async () => {
      for (const maxIter of [1, 2]) {
        let calls = 0;
        const res = await T.getSolver('anderson')((z) => { calls++; return T.cos(z); }, T.zeros([1, 2], f64), { maxIter });
        expect(calls).toBe(2);
        expect(res.z.toArray()).toEqual([[0, 0]]);
        expect(res.stats.absTrace.toArray()).toEqual([[1e8]]);
      }
    });

    for (const name of TRACKING) {
      it(`${name}: returnFinal runs every step and returns the last iterate`, async () => {
        const { f, d, B } = linearProblem(4, 2, 21);
        let calls = 0;
        const counted = (z: Tensor): Tensor => { calls++; return f(z); };
        const maxIter = 12;
        const res = await T.getSolver(name)(counted, T.zeros([B, d], f64), { maxIter, tol: 1e-2, returnFinal: true });
        const full = { fixed_point_iter: maxIter, anderson: maxIter, broyden: maxIter + 1 }[name]!;
        expect(calls).toBe(full);
        expect(Array.from(res.stats.nstep.dataSync())).toEqual([maxIter, maxIter]);
        const tr = res.stats.absTrace.toArray() as number[][];
        expect(Array.from(res.stats.absLowest.dataSync())).toEqual(tr.map((row) => row[row.length - 1]));
        // the last iterate is what a solve stopped at maxIter with returnFinal records at its last step
        const traj = await T.getSolver(name)(f, T.zeros([B, d], f64), { maxIter, tol: 0, returnFinal: true, indexing: [maxIter] });
        expect(Array.from(res.z.dataSync())).toEqual(Array.from(traj.trajectory[0].dataSync()));
      });
    }

    it('broyden: a memory smaller than the step count wraps its ring buffer and still converges', async () => {
      const { f, exact, d, B } = linearProblem(10, 2, 13);
      const res = await T.getSolver('broyden')(f, T.zeros([B, d], f64), { maxIter: 80, tol: 1e-12, memory: 3 });
      expect(res.status).toEqual(['converged', 'converged']);
      expect(maxAbs(res.z.dataSync(), exact.flat())).toBeLessThan(1e-11);
      const full = await T.getSolver('broyden')(f, T.zeros([B, d], f64), { maxIter: 80, tol: 1e-12 });
      expect(Math.max(...full.stats.nstep.dataSync())).toBeLessThan(Math.max(...res.stats.nstep.dataSync()));
    });
  });
});
