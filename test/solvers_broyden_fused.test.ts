/**
 * Broyden's fused steps (Backend.broydenAdvance, broydenStep): both wasm builds against the
 * js backend (whose versions are the compositions they replace) on awkward sizes in float32 and
 * float64, including non-finite entries and a zero denominator, and whole Broyden solves with
 * and without the fused steps (identical on js and on wasm), also with a line search
 * and with a ring buffer that wraps.
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

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const DTYPES: readonly DType[] = ['float32', 'float64'];
type Tol = { rtol: number; atol: number };
/** exact: differences, copies, zeroing; sum: results downstream of a dot or norm (reassociated on wasm). */
const TOL: Record<DType, { exact: Tol; sum: Tol }> = {
  float32: { exact: { rtol: 0, atol: 0 }, sum: { rtol: 2e-5, atol: 2e-6 } },
  float64: { exact: { rtol: 0, atol: 0 }, sum: { rtol: 1e-12, atol: 1e-13 } },
};
const SIZES: readonly [number, number][] = [[1, 1], [1, 3], [3, 17], [3, 33], [1, 100], [3, 100]];

const builds: Record<'simd' | 'relaxed', WasmBackend | null> = { simd: null, relaxed: null };
beforeAll(async () => {
  builds.simd = await createWasmBackend(await embeddedBytes('simd'));
  builds.relaxed = await createWasmBackend(await embeddedBytes('relaxed'));
});
const js = new JsBackend();

/** Runs `call` on js and `other` with the same inputs; returns every storage's final contents on each. */
function both(other: Backend, dtype: DType, inputs: number[][], call: (b: Backend, s: Storage[]) => void): [number[][], number[][]] {
  const run = (b: Backend): number[][] => {
    const s = inputs.map((v) => storageOf(b, v, dtype));
    call(b, s);
    const out = s.map((x) => Array.from(b.readSync(x)));
    for (const x of s) b.free(x);
    return out;
  };
  return [run(js), run(other)];
}

describe.each(['simd', 'relaxed'] as const)('Broyden fused kernels, wasm %s build vs js', (variant) => {
  for (const dtype of DTYPES) {
    it(`broydenAdvance (${dtype}): g, dx, dg and both norms, also with f aliasing xNew`, () => {
      for (const [B, D] of SIZES) {
        const r = rng(B * 100 + D);
        const vec = () => values(B * D, dtype, () => r(-2, 2));
        const f = vec(), xNew = vec(), x = vec(), g = vec();
        const zero = () => new Array(B * D).fill(0);
        const [want, got] = both(builds[variant]!, dtype, [f, xNew, x, g, zero(), zero(), zero(), new Array(2 * B).fill(0)],
          (b, [fs, xn, xs, gs, gn, dx, dg, n]) => b.broydenAdvance!(fs, xn, xs, gs, gn, dx, dg, n, B, D));
        for (const i of [4, 5, 6]) expectClose(got[i], want[i], TOL[dtype].exact, `output ${i} B=${B} D=${D}`);
        expectClose(got[7], want[7], TOL[dtype].sum, `norms B=${B} D=${D}`);
        // g = f - x and dx = x - x = 0 with f the same storage as xNew.
        const [w2, g2] = both(builds[variant]!, dtype, [xNew, x, g, zero(), zero(), zero(), new Array(2 * B).fill(0)],
          (b, [xn, xs, gs, gn, dx, dg, n]) => b.broydenAdvance!(xn, xn, xs, gs, gn, dx, dg, n, B, D));
        expect(g2[3]).toEqual(zero());
        for (const i of [3, 4, 5]) expectClose(g2[i], w2[i], TOL[dtype].exact, `aliased output ${i} B=${B} D=${D}`);
        expectClose(g2[6], w2[6], TOL[dtype].sum, `aliased norms B=${B} D=${D}`);
      }
    });

    it(`broydenStep (${dtype}): products, rank-one terms into their slots, zeroed non-finite entries, new direction`, () => {
      // [mem, r, slot, direction]: filling an empty slot (r = slot), and a wrapped ring (r = mem).
      const steps: [number, number, number, boolean][] = [[1, 0, 0, true], [1, 1, 0, false], [4, 0, 0, true],
        [4, 1, 1, true], [4, 3, 3, true], [4, 4, 0, false], [4, 4, 1, false], [5, 4, 4, true]];
      for (const [B, D] of SIZES) {
        for (const [mem, r, slot, direction] of steps) {
          const rnd = rng(B * 1000 + D * 10 + mem * 3 + r + slot);
          const vec = () => values(B * D, dtype, () => rnd(-1, 1));
          const dx = vec(), dg = vec(), g = vec(), d = vec();
          const U = values(B * mem * D, dtype, () => rnd(-1, 1)), V = values(B * mem * D, dtype, () => rnd(-0.5, 0.5));
          // Sample 0: an infinite entry in its first u row (with r > 0 the products overflow, so
          // vT, den and u are non-finite and zeroed). Last sample (B = 3): dg = 0, so den = 0 and
          // u is infinite or NaN, zeroed.
          if (D >= 3) U[1] = Infinity;
          if (B === 3) dg.fill(0, 2 * D, 3 * D);
          const [want, got] = both(builds[variant]!, dtype, [dx, dg, g, d, U, V],
            (b, [dxs, dgs, gs, ds, Us, Vs]) => b.broydenStep!(dxs, dgs, gs, ds, Us, Vs, r, slot, direction, B, mem, D));
          const what = `B=${B} D=${D} mem=${mem} r=${r} slot=${slot} direction=${direction}`;
          expectClose(got[4], want[4], TOL[dtype].sum, `U ${what}`);
          expectClose(got[5], want[5], TOL[dtype].sum, `V ${what}`);
          expectClose(got[3], want[3], direction ? TOL[dtype].sum : TOL[dtype].exact, `d ${what}`);
          if (!direction) expect(got[3]).toEqual(d);
          for (let b = 0; b < B; b++) {
            const at = (b * mem + slot) * D;
            for (const h of [got[4], got[5]]) expect(h.slice(at, at + D).every(Number.isFinite), `slot rows finite ${what}`).toBe(true);
          }
          // Rows other than the slot are untouched.
          for (let b = 0; b < B; b++) {
            for (let j = 0; j < mem; j++) {
              if (j === slot) continue;
              const at = (b * mem + j) * D;
              expect(got[4].slice(at, at + D)).toEqual(U.slice(at, at + D));
            }
          }
          // Sample 0's u row is zero (+0 or -0: u = finite / infinite den is a signed zero).
          if (D >= 3 && r > 0) expect(got[4].slice(slot * D, (slot + 1) * D).every((v) => v === 0)).toBe(true);
        }
      }
    });
  }
});

/** A backend of the same kind without the fused Broyden steps (the solver composes them). */
function withoutFused<B extends Backend>(b: B): B {
  const plain = Object.create(b) as B & Record<string, unknown>;
  plain.broydenAdvance = undefined;
  plain.broydenStep = undefined;
  return plain;
}

describe('Broyden solves with and without the fused steps', () => {
  const cases = [
    { maxIter: 25, tol: 0 },
    { maxIter: 20, tol: 0, memory: 6 },
    { maxIter: 12, tol: 0, lineSearch: true },
    { maxIter: 14, tol: 0, memory: 4, lineSearch: true },
  ];

  async function solve(be: Backend, dtype: DType, opts: object) {
    return T.tidy(async () => {
      const o = { dtype, backend: be };
      const W = T.randn([17, 17], { ...o, seed: 1, std: 0.2 }), u = T.randn([3, 17], { ...o, seed: 2 });
      const res = await T.getSolver('broyden')((z: T.Tensor) => T.linearTanh(z, W, u), T.zeros([3, 17], o), opts);
      return {
        z: Array.from(res.z.dataSync()),
        abs: Array.from(res.stats.absTrace.dataSync()),
        rel: Array.from(res.stats.relTrace.dataSync()),
        nstep: Array.from(res.stats.nstep.dataSync()),
      };
    });
  }

  for (const opts of cases) {
    it.each(DTYPES)(`${JSON.stringify(opts)}, js, %s: identical (the js steps are the compositions)`, async (dtype) => {
      const a = await solve(js, dtype, opts), b = await solve(withoutFused(js), dtype, opts);
      expect(a).toEqual(b);
    });
    it.each(DTYPES)(`${JSON.stringify(opts)}, wasm, %s: identical (same rounding points and reduction order)`, async (dtype) => {
      const be = builds.relaxed!;
      const a = await solve(be, dtype, opts), b = await solve(withoutFused(be), dtype, opts);
      expect(a).toEqual(b);
      expect(a.abs.every(Number.isFinite)).toBe(true);
    });
  }
});
