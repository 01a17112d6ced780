/**
 * The device-side kernels that let gmres and Broyden's line search run without reads:
 * - `armijoStageOn` (the reference arithmetic of Backend.armijoStage) replays `armijo`
 *   (src/solvers/line_search.ts) exactly: same trials, same result, on many phi shapes;
 * - the host reference of Backend.gmresStart / gmresColumn (gmres_host.ts, what js and wasm run) equals a dense least-squares solve of the Hessenberg
 *   system (closed form via normal equations in float64);
 * - the webgpu kernels (gmresStart, gmresColumn, armijoStage) against js on awkward sizes.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { JsBackend } from '../src/backend/js.js';
import { ARMIJO_FIELDS, ARMIJO_STAGES, gmresLsqStride, type Backend, type Storage } from '../src/backend/backend.js';
import { armijoStageOn } from '../src/backend/armijo_host.js';
import { gmresColumnHost, gmresStartHost } from '../src/backend/gmres_host.js';
import { armijo } from '../src/solvers/line_search.js';
import { WEBGPU } from './helpers/webgpu.js';
import { assertClose } from './helpers/tolerance.js';
import { prng } from './helpers/ref.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);
const js = new JsBackend();

function put(be: Backend, v: ArrayLike<number>, dtype: 'float32' | 'float64' = 'float32'): Storage {
  const s = be.alloc(v.length, dtype);
  be.write(s, v);
  return s;
}
const f32 = (v: number[]): number[] => Array.from(Float32Array.from(v));

/** Runs the unrolled search against phi; returns the chosen step and the trials evaluated. */
function unrolled(norm: (a: number) => number, n0: number): { a: number; trials: number[]; kept: number } {
  const st = new Float64Array(ARMIJO_FIELDS);
  let [a] = armijoStageOn(st, n0, -1);
  const trials: number[] = [];
  let kept = NaN;
  for (let stage = 0; stage < ARMIJO_STAGES; stage++) {
    const trialA = a;
    const n = norm(trialA);
    if (st[6] === 0) trials.push(trialA);
    const [next, take] = armijoStageOn(st, n, stage);
    if (take === 1) kept = trialA;
    a = next;
  }
  return { a, trials, kept };
}

describe('armijoStageOn replays armijo', () => {
  const shapes: [string, (a: number) => number][] = [
    ['accepts a = 1', (a) => (1 - a) ** 2 + 0.01],
    ['quadratic minimum near 0.3', (a) => 1 + 30 * (a - 0.3) ** 2 - 2.7],
    ['steep growth', (a) => Math.exp(8 * a) - 0.9],
    ['no decrease anywhere', (a) => 1 + a],
    ['infinite at a = 1', (a) => (a > 0.9 ? Infinity : 1 - a + 3 * a * a)],
    ['wiggly', (a) => 1 - 0.5 * a + Math.sin(40 * a) * 0.4 + a * a * 5],
    ['flat', () => 1],
    ['zero at start', (a) => a * a],
  ];
  for (const [name, phi] of shapes) {
    it(name, async () => {
      // As Broyden measures it: phi = n * n for the norm n of g (infinite when n is not finite).
      const norm = (a: number): number => Math.sqrt(phi(a));
      const n0 = norm(0), phi0 = n0 * n0;
      const seen: number[] = [];
      const found = await armijo(async (a) => { seen.push(a); const n = norm(a); return Number.isFinite(n) ? n * n : Infinity; }, phi0, -phi0, 1e-4, 1, 1e-2);
      const u = unrolled(norm, n0);
      expect(u.a).toBe(found ?? 1);
      expect(u.trials).toEqual(seen);
      // g is kept from the trial at the chosen step (a = 1 when nothing was accepted).
      expect(u.kept).toBe(found ?? 1);
    });
  }
  it('never needs more than ARMIJO_STAGES trials', async () => {
    const u = prng(3);
    for (let i = 0; i < 300; i++) {
      const c = [u() * 4, u() * 30, u() * 3, u()];
      const phi = (a: number): number => c[3] + c[0] * a ** 3 + c[1] * (a - c[2] / 10) ** 2 - c[1] * (c[2] / 10) ** 2;
      let n = 0;
      await armijo(async (a) => { n++; return phi(a); }, phi(0), -phi(0), 1e-4, 1, 1e-2);
      expect(n).toBeLessThanOrEqual(ARMIJO_STAGES);
    }
  });
});

/** Reference: least-squares solution of min ||beta e1 - Hbar y|| with the first k columns (dense, float64). */
function lsqRef(H: number[][], beta: number, k: number): { y: number[]; res: number } {
  // normal equations (Hbar^T Hbar) y = Hbar^T beta e1
  const rows = k + 1;
  const A = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => {
    let s = 0;
    for (let r = 0; r < rows; r++) s += H[r][i] * H[r][j];
    return s;
  }));
  const rhs = Array.from({ length: k }, (_, i) => H[0][i] * beta);
  // Gaussian elimination
  for (let c = 0; c < k; c++) {
    for (let r = c + 1; r < k; r++) {
      const f = A[r][c] / A[c][c];
      for (let t = c; t < k; t++) A[r][t] -= f * A[c][t];
      rhs[r] -= f * rhs[c];
    }
  }
  const y = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) {
    let s = rhs[i];
    for (let t = i + 1; t < k; t++) s -= A[i][t] * y[t];
    y[i] = s / A[i][i];
  }
  let res = 0;
  for (let r = 0; r < rows; r++) {
    let v = r === 0 ? beta : 0;
    for (let i = 0; i < k; i++) v -= H[r][i] * y[i];
    res += v * v;
  }
  return { y, res: Math.sqrt(res) };
}

describe('gmres least-squares kernels (js, float64)', () => {
  it('equal a dense least-squares solve column by column; t makes y + t the residual coefficients', () => {
    const u = prng(11);
    const B = 3, m = 5;
    const beta = [2, 0.5, 3];
    const H = Array.from({ length: B }, () => Array.from({ length: m + 1 }, (_, r) => Array.from({ length: m }, (_, c) => (r === c + 1 ? 0.1 + u() : r <= c ? u() - 0.5 + (r === c ? 1 : 0) : 0))));
    const lsq = js.alloc(B * gmresLsqStride(m), 'float64'), scale = js.alloc(B, 'float64'), h = js.alloc(B, 'float64');
    gmresStartHost(js, put(js, beta, 'float64'), put(js, [1, 5, 0.1], 'float64'), put(js, [3, NaN, 2], 'float64'), lsq, scale, h, B, m);
    expect(Array.from(js.readSync(scale))).toEqual(beta.map((b) => 1 / b));
    expect(Array.from(js.readSync(h))).toEqual([3, 5, 2]);
    for (let j = 0; j < m; j++) {
      const hc = put(js, H.flatMap((Hb) => Array.from({ length: j + 1 }, (_, i) => Hb[i][j])), 'float64');
      const wn = put(js, H.map((Hb) => Hb[j + 1][j]), 'float64');
      const av = put(js, [1, 1, 1], 'float64');
      const y = js.alloc(B * (j + 1), 'float64'), s = js.alloc(B * (j + 2), 'float64'), abs = js.alloc(B, 'float64');
      gmresColumnHost(js, hc, av, wn, lsq, scale, y, s, abs, j, B, m, 1e-13);
      const yv = js.readSync(y), sv = js.readSync(s), av2 = js.readSync(abs), sc = js.readSync(scale);
      for (let b = 0; b < B; b++) {
        const ref = lsqRef(H[b], beta[b], j + 1);
        assertClose(Array.from(yv.subarray(b * (j + 1), (b + 1) * (j + 1))), ref.y, { rtol: 1e-10, atol: 1e-12 }, `y b=${b} j=${j}`);
        expect(av2[b]).toBeCloseTo(ref.res, 10);
        expect(sc[b]).toBeCloseTo(1 / H[b][j + 1][j], 12);
        // residual r = beta e1 - Hbar y, and Hbar (y + t) - Hbar y ... : V (y + t) is f(x) - x0 for
        // an affine map, i.e. t = beta e1 - Hbar y expressed in v_0..v_{j+1}: check t = residual vector.
        const resid = Array.from({ length: j + 2 }, (_, r) => {
          let v = r === 0 ? beta[b] : 0;
          for (let i = 0; i <= j; i++) v -= H[b][r][i] * ref.y[i];
          return v;
        });
        const t = Array.from({ length: j + 2 }, (_, i) => sv[b * (j + 2) + i] - (i <= j ? yv[b * (j + 1) + i] : 0));
        assertClose(t, resid, { rtol: 1e-9, atol: 1e-11 }, `t b=${b} j=${j}`);
      }
    }
  });

  it('freezes a sample at a zero beta, at breakdown and at a zero column, and scales by 0 there', () => {
    const B = 3, m = 3;
    const lsq = js.alloc(B * gmresLsqStride(m), 'float64'), scale = js.alloc(B, 'float64'), h = js.alloc(B, 'float64');
    gmresStartHost(js, put(js, [0, 1, 1], 'float64'), put(js, [1, 1, 1], 'float64'), put(js, [1, 1, 1], 'float64'), lsq, scale, h, B, m);
    expect(Array.from(js.readSync(scale))).toEqual([0, 1, 1]);
    const y = js.alloc(B, 'float64'), s = js.alloc(2 * B, 'float64'), abs = js.alloc(B, 'float64');
    // sample 1: breakdown (w tiny relative to ||A v||); sample 2: a zero column
    gmresColumnHost(js, put(js, [1, 2, 0], 'float64'), put(js, [1, 1, 1], 'float64'), put(js, [1, 1e-20, 0], 'float64'), lsq, scale, y, s, abs, 0, B, m, 1e-13);
    expect(Array.from(js.readSync(scale))).toEqual([0, 0, 0]);
    expect(Array.from(js.readSync(y))).toEqual([0, 0.5, 0]);
    expect(Array.from(js.readSync(abs))).toEqual([0, 1e-20 / Math.hypot(2, 1e-20) * 1, 1]);
  });
});

/** A backend's gmres kernels, or the host reference that gmres runs on a backend without them. */
type Rest<F> = F extends (be: Backend, ...a: infer R) => void ? R : never;
const gmresStartOn = (be: Backend, ...a: Rest<typeof gmresStartHost>): void => (be.gmresStart ? be.gmresStart(...a) : gmresStartHost(be, ...a));
const gmresColumnOn = (be: Backend, ...a: Rest<typeof gmresColumnHost>): void => (be.gmresColumn ? be.gmresColumn(...a) : gmresColumnHost(be, ...a));

describe('a backend without gmresStart / gmresColumn', () => {
  it('runs gmres through the host reference, equal to js (the methods are optional in the contract)', async () => {
    class Plain extends JsBackend {
      override readonly name = 'plain_no_gmres';
    }
    const plain = new Plain() as unknown as Record<string, unknown>;
    plain.gmresStart = undefined;
    plain.gmresColumn = undefined;
    T.registerBackend('plain_no_gmres', plain as unknown as JsBackend);
    // js and wasm have no gmres kernels of their own either: the solver runs the host reference.
    expect((new JsBackend() as Backend).gmresStart).toBeUndefined();
    const f64 = (backend: string) => ({ dtype: 'float64' as const, backend });
    const run = async (backend: string): Promise<number[]> => {
      const v = T.tensor([1, 2, 3, -1, 0.5, 2], [2, 3], f64(backend));
      const res = await T.gmres((g) => T.add(T.mul(g, 0.5), v), T.zeros([2, 3], f64(backend)), { tol: 1e-12, restart: 2 });
      return Array.from(res.z.dataSync());
    };
    const got = await run('plain_no_gmres');
    expect(got).toEqual(await run('js'));
    assertClose(got, [2, 4, 6, -2, 1, 4], { rtol: 1e-10, atol: 1e-12 }, 'g = 0.5 g + v');
  });
});

run('gmres and Armijo kernels: webgpu vs js', () => {
  for (const B of [1, 3, 17, 33, 100]) {
    it(`gmresStart + gmresColumn B=${B}`, async () => {
      const u = prng(B + 5);
      const m = B === 100 ? 4 : 6;
      const sides = [js, WEBGPU!].map((be) => ({ be, lsq: be.alloc(B * gmresLsqStride(m), 'float32'), scale: be.alloc(B, 'float32'), h: be.alloc(B, 'float32') }));
      const beta = f32(Array.from({ length: B }, (_, b) => (b % 7 === 3 ? 0 : b % 11 === 5 ? NaN : 0.5 + u())));
      const fn = f32(Array.from({ length: B }, () => u() * 4)), xn = f32(Array.from({ length: B }, (_, b) => (b % 5 === 1 ? Infinity : u() * 3)));
      for (const sd of sides) gmresStartOn(sd.be, put(sd.be, beta), put(sd.be, fn), put(sd.be, xn), sd.lsq, sd.scale, sd.h, B, m);
      assertClose(await WEBGPU!.readAsync(sides[1].scale), js.readSync(sides[0].scale), { rtol: 1e-6, atol: 0 }, 'scale');
      assertClose(await WEBGPU!.readAsync(sides[1].h), js.readSync(sides[0].h), { rtol: 0, atol: 0 }, 'h');
      for (let j = 0; j < m; j++) {
        const hc = f32(Array.from({ length: B * (j + 1) }, () => u() - 0.5));
        const av = f32(Array.from({ length: B }, () => 1 + u()));
        const wn = f32(Array.from({ length: B }, (_, b) => (b % 13 === 2 && j === 2 ? 1e-9 : b % 17 === 4 && j === 1 ? 0 : 0.2 + u())));
        const out = [];
        for (const sd of sides) {
          const y = sd.be.alloc(B * (j + 1), 'float32'), s = sd.be.alloc(B * (j + 2), 'float32'), abs = sd.be.alloc(B, 'float32');
          gmresColumnOn(sd.be, put(sd.be, hc), put(sd.be, av), put(sd.be, wn), sd.lsq, sd.scale, y, s, abs, j, B, m, 1e-5);
          out.push([sd.scale, y, s, abs]);
        }
        const names = ['scale', 'y', 's', 'abs'];
        for (let i = 0; i < 4; i++) {
          assertClose(await WEBGPU!.readAsync(out[1][i]), js.readSync(out[0][i]), { rtol: 2e-4, atol: 2e-5 }, `${names[i]} j=${j}`);
        }
      }
    });
  }

  it('armijoStage on random searches', async () => {
    const u = prng(77);
    for (let trial = 0; trial < 12; trial++) {
      const c = [u() * 4, u() * 30, u() * 3, u()];
      const phi = (a: number): number => (trial === 5 && a > 0.9 ? Infinity : c[3] + c[0] * a ** 3 + c[1] * (a - c[2] / 10) ** 2 - c[1] * (c[2] / 10) ** 2);
      const sides = [js, WEBGPU!].map((be) => ({ be, st: be.alloc(ARMIJO_FIELDS, 'float32'), trial: be.alloc(1, 'float32'), take: be.alloc(1, 'float32') }));
      const as: number[][] = [[], []];
      for (let i = 0; i < 2; i++) {
        const sd = sides[i];
        sd.be.armijoStage!(put(sd.be, [Math.sqrt(phi(0))]), sd.st, sd.trial, sd.take, -1);
        for (let stage = 0; stage < ARMIJO_STAGES; stage++) {
          const a = (await sd.be.readAsync(sd.trial))[0];
          as[i].push(a, (await sd.be.readAsync(sd.take))[0]);
          sd.be.armijoStage!(put(sd.be, [Math.sqrt(phi(a))]), sd.st, sd.trial, sd.take, stage);
        }
        as[i].push((await sd.be.readAsync(sd.trial))[0], (await sd.be.readAsync(sd.take))[0]);
      }
      assertClose(as[1], as[0], { rtol: 1e-4, atol: 1e-6 }, `search ${trial}`);
    }
  });
});
