/**
 * The fused solver steps (Backend.fixedPointStep, andersonRecord, andersonMix): both wasm
 * builds against the js backend (whose versions are the compositions they replace) on awkward
 * sizes in float32 and float64, the singular-sample contract of andersonMix, and whole solves
 * with and without the fused steps (js: identical; wasm: within rounding).
 */
import v8 from 'node:v8';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Backend, Storage } from '../src/backend/backend.js';
import { JsBackend } from '../src/backend/js.js';
import { createWasmBackend, embeddedBytes } from '../src/backend/wasm_loader.js';
import type { WasmBackend } from '../src/backend/wasm.js';
import type { DType } from '../src/dtype.js';
import { expectClose, rng, storageOf, values } from './helpers/backend_compare.js';
import { assertClose } from './helpers/tolerance.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const DTYPES: readonly DType[] = ['float32', 'float64'];
/**
 * exact: copies and f - x; arith: axpby with tau (wasm rounds tau to float32 first, as its
 * axpby does); sum: norms (f64 reductions on both sides) and Gram dots (reassociated on wasm).
 */
type Tol = { rtol: number; atol: number };
const TOL: Record<DType, { exact: Tol; arith: Tol; sum: Tol }> = {
  float32: { exact: { rtol: 0, atol: 0 }, arith: { rtol: 4e-7, atol: 1e-7 }, sum: { rtol: 2e-6, atol: 2e-6 } },
  float64: { exact: { rtol: 0, atol: 0 }, arith: { rtol: 1e-15, atol: 1e-16 }, sum: { rtol: 1e-13, atol: 1e-13 } },
};

const builds: Record<'simd' | 'relaxed', WasmBackend | null> = { simd: null, relaxed: null };
beforeAll(async () => {
  builds.simd = await createWasmBackend(await embeddedBytes('simd'));
  builds.relaxed = await createWasmBackend(await embeddedBytes('relaxed'));
});
const js = new JsBackend();

/** Runs `call` on both backends with the same inputs; returns every input storage's final contents and the result. */
function both<R>(other: Backend, dtype: DType, inputs: number[][], call: (b: Backend, s: Storage[]) => R): [number[][], number[][], R, R] {
  const run = (b: Backend): [number[][], R] => {
    const s = inputs.map((v) => storageOf(b, v, dtype));
    const r = call(b, s);
    const out = s.map((x) => Array.from(b.readSync(x)));
    for (const x of s) b.free(x);
    return [out, r];
  };
  const [a, ra] = run(js);
  const [b, rb] = run(other);
  return [a, b, ra, rb];
}

describe.each(['simd', 'relaxed'] as const)('fused solver kernels, wasm %s build vs js', (variant) => {
  for (const dtype of DTYPES) {
    it(`fixedPointStep (${dtype}): damped step and both norms, also in place`, () => {
      for (const B of [1, 3, 17]) {
        for (const D of [1, 3, 17, 33, 100]) {
          for (const tau of [1, 0.7]) {
            const r = rng(B * 1000 + D);
            const f = values(B * D, dtype, () => r(-2, 2)), x = values(B * D, dtype, () => r(-2, 2));
            const [want, got] = both(builds[variant]!, dtype, [f, x, new Array(B * D).fill(0), new Array(2 * B).fill(0)],
              (b, [fs, xs, out, norms]) => b.fixedPointStep!(fs, xs, tau, out, norms, B, D));
            expectClose(got[2], want[2], TOL[dtype].arith, `out B=${B} D=${D} tau=${tau}`);
            expectClose(got[3], want[3], TOL[dtype].sum, `norms B=${B} D=${D} tau=${tau}`);
            const [w2, g2] = both(builds[variant]!, dtype, [f, x, new Array(2 * B).fill(0)],
              (b, [fs, xs, norms]) => b.fixedPointStep!(fs, xs, tau, fs, norms, B, D));
            expectClose(g2[0], w2[0], TOL[dtype].arith, `in place out B=${B} D=${D}`);
            expectClose(g2[2], w2[2], TOL[dtype].sum, `in place norms B=${B} D=${D}`);
          }
        }
      }
    });

    it(`andersonRecord (${dtype}): history slots, Gram row and column, norms`, () => {
      for (const [B, m, D] of [[1, 2, 1], [3, 5, 17], [17, 6, 33], [2, 3, 100]]) {
        const r = rng(B * 7 + m * 13 + D);
        const hist = () => values(B * m * D, dtype, () => r(-1, 1));
        const X = hist(), F = hist(), G = hist();
        const gram = values(B * m * m, dtype, () => r(-1, 1));
        const x = values(B * D, dtype, () => r(-2, 2)), f = values(B * D, dtype, () => r(-2, 2));
        for (const slot of [0, m - 1]) {
          const [want, got] = both(builds[variant]!, dtype, [x, f, X, F, G, gram, new Array(2 * B).fill(0)],
            (b, [xs, fs, Xs, Fs, Gs, gs, ns]) => b.andersonRecord!(xs, fs, Xs, Fs, Gs, gs, ns, slot, B, m, D));
          for (const i of [2, 3, 4]) expectClose(got[i], want[i], TOL[dtype].exact, `history ${i} B=${B} m=${m} D=${D} slot=${slot}`);
          expectClose(got[5], want[5], TOL[dtype].sum, `gram B=${B} m=${m} D=${D} slot=${slot}`);
          expectClose(got[6], want[6], TOL[dtype].sum, `norms B=${B} m=${m} D=${D} slot=${slot}`);
        }
      }
    });

    it(`andersonMix (${dtype}): bordered solve and mixing for tau 1 and 0.5, every history size`, () => {
      for (const [B, m, D] of [[1, 2, 1], [3, 5, 17], [17, 6, 33], [2, 3, 100]]) {
        const r = rng(B * 31 + m * 3 + D);
        const X = values(B * m * D, dtype, () => r(-1, 1)), F = values(B * m * D, dtype, () => r(-1, 1));
        // A Gram matrix G G^T of random rows (positive definite with the ridge).
        const g = Array.from({ length: B * m * D }, () => r(-1, 1));
        const gram: number[] = [];
        for (let b = 0; b < B; b++) {
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < m; j++) {
              let s = 0;
              for (let t = 0; t < D; t++) s += g[(b * m + i) * D + t] * g[(b * m + j) * D + t];
              gram.push(dtype === 'float32' ? Math.fround(s) : s);
            }
          }
        }
        for (let n = 2; n <= m; n++) {
          for (const tau of [1, 0.5]) {
            const [want, got, badJs, badWasm] = both(builds[variant]!, dtype, [gram, F, X, new Array(B * D).fill(0)],
              (b, [gs, Fs, Xs, out]) => b.andersonMix!(gs, Fs, Xs, out, n, 1e-4, tau, B, m, D));
            expect(badWasm).toBe(0);
            expect(badJs).toBe(0);
            // The solve amplifies rounding by the condition number of the bordered system.
            const tol = dtype === 'float32' ? { rtol: 2e-3, atol: 2e-3 } : { rtol: 1e-9, atol: 1e-9 };
            expectClose(got[3], want[3], tol, `out B=${B} m=${m} D=${D} n=${n} tau=${tau}`);
          }
        }
      }
    });

    it(`andersonMix (${dtype}): singular samples are counted and their rows left untouched`, () => {
      const B = 3, m = 3, D = 5, n = 3;
      // Sample 1 has a zero Gram matrix and lam = 0: its bordered matrix is singular.
      const gram = [
        4, 1, 0, 1, 3, 1, 0, 1, 2,
        0, 0, 0, 0, 0, 0, 0, 0, 0,
        2, 0, 0, 0, 2, 0, 0, 0, 2,
      ];
      const r = rng(5);
      const F = values(B * m * D, dtype, () => r(-1, 1)), X = values(B * m * D, dtype, () => r(-1, 1));
      const sentinel = new Array(B * D).fill(7);
      const [want, got, badJs, badWasm] = both(builds[variant]!, dtype, [gram, F, X, sentinel],
        (b, [gs, Fs, Xs, out]) => b.andersonMix!(gs, Fs, Xs, out, n, 0, 1, B, m, D));
      expect(badJs).toBe(1);
      expect(badWasm).toBe(1);
      expect(got[3].slice(D, 2 * D)).toEqual(new Array(D).fill(7));
      expectClose(got[3], want[3], { rtol: 1e-5, atol: 1e-5 }, 'out');
    });
  }
});

/** A backend of the same kind with the fused solver steps hidden (the solvers compose them). */
function withoutFused<B extends Backend>(b: B): B {
  const plain = Object.create(b) as B & Record<string, unknown>;
  plain.fixedPointStep = undefined;
  plain.andersonRecord = undefined;
  plain.andersonMix = undefined;
  return plain;
}

describe('solves with and without the fused steps', () => {
  const cases = [
    { solver: 'anderson', opts: { maxIter: 25, tol: 0, m: 5 } },
    { solver: 'anderson', opts: { maxIter: 12, tol: 0, m: 3, tau: 0.6 } },
    { solver: 'fixed_point_iter', opts: { maxIter: 20, tol: 0 } },
    { solver: 'fixed_point_iter', opts: { maxIter: 15, tol: 0, tau: 0.5 } },
  ] as const;

  async function solve(be: Backend, dtype: DType, solver: string, opts: object) {
    return T.tidy(async () => {
      const o = { dtype, backend: be };
      const W = T.randn([17, 17], { ...o, seed: 1, std: 0.1 }), u = T.randn([3, 17], { ...o, seed: 2 });
      const res = await T.getSolver(solver)((z: T.Tensor) => T.linearTanh(z, W, u), T.zeros([3, 17], o), opts);
      return {
        z: Array.from(res.z.dataSync()),
        abs: Array.from(res.stats.absTrace.dataSync()),
        rel: Array.from(res.stats.relTrace.dataSync()),
        nstep: Array.from(res.stats.nstep.dataSync()),
      };
    });
  }

  for (const { solver, opts } of cases) {
    it.each(DTYPES)(`${solver} ${JSON.stringify(opts)}, js, %s: identical (the js steps are the compositions)`, async (dtype) => {
      const a = await solve(js, dtype, solver, opts), b = await solve(withoutFused(js), dtype, solver, opts);
      expect(a).toEqual(b);
    });
    it.each(DTYPES)(`${solver} ${JSON.stringify(opts)}, wasm, %s: within rounding`, async (dtype) => {
      const be = builds.relaxed!;
      const a = await solve(be, dtype, solver, opts), b = await solve(withoutFused(be), dtype, solver, opts);
      const tol = dtype === 'float32' ? { rtol: 1e-4, atol: 1e-5 } : { rtol: 1e-10, atol: 1e-12 };
      assertClose(a.z, b.z, tol, 'z');
      assertClose(a.abs, b.abs, { rtol: 1e-3, atol: dtype === 'float32' ? 1e-5 : 1e-12 }, 'abs trace');
      expect(a.nstep).toEqual(b.nstep);
    });
  }
});
