/**
 * Threads: the fused kernels split across the worker pool (assembly/fused_part.ts,
 * anderson_part.ts, broyden_part.ts): the DEQ cell's tanh kernels by blocks of rows or elements,
 * the solver steps by blocks of samples. Results must be BIT-IDENTICAL between 1 and 2 threads
 * (every block runs exactly the one-thread code), on both shared-memory builds, float32 and
 * float64, awkward sizes; each test also checks that the pool ran the call. The GEMM and the
 * pool itself are covered by test/threads.test.ts.
 */
import v8 from 'node:v8';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../src/backend/backend.js';
import type { WasmBackend, WasmVariant } from '../src/backend/wasm.js';
import type { DType } from '../src/dtype.js';
import { values, stored } from './helpers/kernel_inputs.js';
import { usePooledBackend } from './helpers/pooled_backend.js';

// Node 20 has relaxed SIMD behind a V8 flag (process-wide; vitest runs each file in its own process).
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const DTYPES: DType[] = ['float32', 'float64'];

/** `v` rounded to `dtype`, as a storage of that dtype holds it. */
function stored32or64(v: Float64Array, dtype: DType): Float64Array {
  return dtype === 'float32' ? Float64Array.from(Float32Array.from(v)) : v;
}
const VARIANTS: WasmVariant[] = ['simd', 'relaxed'];

describe.each(VARIANTS)('fused kernels on the pool, %s-threads build: 2 threads give bit-identical results to 1', (variant) => {
  const pool = usePooledBackend(variant);
  let wasm: WasmBackend;
  beforeAll(() => { wasm = pool.wasm; });

  for (const dtype of DTYPES) {
    it(`${dtype}: addTanh (blocks of rows) and tanhGrad (blocks of elements) are bit-identical on 2 threads`, () => {
      wasm.parallel!.minElements = { addTanh: 0, tanhGrad: 0, solverStep: 2 ** 15 };
      const runFused = (threads: number, rows: number, cols: number, uRowStride: number, inPlace: boolean): Float64Array[] => {
        pool.want = threads;
        const n = rows * cols;
        const x = stored(wasm, values(n, rows + 7 * cols).map((v) => 3 * v), dtype);
        const u = stored(wasm, values(Math.max(1, uRowStride === 0 ? cols : n), cols), dtype);
        const out = inPlace ? x : stored(wasm, new Float64Array(n).fill(12345.5), dtype);
        const jobs = wasm.parallel!.pool.jobs;
        wasm.addTanh(x, u, out, rows, cols, uRowStride);
        const y = Float64Array.from(wasm.readSync(out));
        const g = stored(wasm, values(n, 99), dtype), dy = stored(wasm, new Float64Array(n).fill(-7), dtype);
        wasm.tanhGrad(g, out, dy);
        const splits = (rows >= 2 ? 1 : 0) + 1;
        expect(wasm.parallel!.pool.jobs - jobs, `pool jobs for rows=${rows} cols=${cols}`).toBe(threads > 1 ? splits : 0);
        const r = [y, Float64Array.from(wasm.readSync(dy))];
        for (const st of new Set([x, u, out, g, dy])) wasm.free(st);
        return r;
      };
      for (const rows of [1, 3, 17, 100]) {
        for (const cols of [1, 3, 17, 33, 257]) {
          for (const [uRowStride, inPlace] of [[0, false], [cols, false], [cols, true]] as [number, boolean][]) {
            const one = runFused(1, rows, cols, uRowStride, inPlace), two = runFused(2, rows, cols, uRowStride, inPlace);
            for (let k = 0; k < 2; k++) {
              one[k].forEach((v, i) => {
                if (!Object.is(v, two[k][i])) throw new Error(`${variant} ${dtype} ${k ? 'tanhGrad' : 'addTanh'} rows=${rows} cols=${cols} uRowStride=${uRowStride}: element ${i} is ${two[k][i]} on 2 threads, ${v} on 1`);
              });
            }
            expect(Math.abs(one[0][0] - Math.tanh(values(rows * cols, rows + 7 * cols)[0] * 3 + values(Math.max(1, uRowStride === 0 ? cols : rows * cols), cols)[0]))).toBeLessThan(dtype === 'float32' ? 1e-6 : 1e-14);
          }
        }
      }
    });
  }


  for (const dtype of DTYPES) {
    it(`${dtype}: fixedPointStep, andersonRecord and andersonMix (blocks of samples) are bit-identical on 2 threads`, () => {
      wasm.parallel!.minElements = { addTanh: 0, tanhGrad: 0, solverStep: 0 };
      const run = (threads: number, B: number, D: number, m: number, n: number, slot: number, tau: number): { out: Float64Array[]; bad: number } => {
        pool.want = threads;
        const x = stored(wasm, values(B * D, B + D), dtype), f = stored(wasm, values(B * D, 3 * B + D), dtype);
        const X = stored(wasm, values(B * m * D, 5), dtype), F = stored(wasm, values(B * m * D, 6), dtype);
        const G = stored(wasm, values(B * m * D, 7), dtype);
        // A Gram matrix that is SPD for most samples; sample 1 gets a non-finite entry (singular path).
        const gm = new Float64Array(B * m * m);
        for (let b = 0; b < B; b++) for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) gm[(b * m + i) * m + j] = i === j ? 2 + b % 3 : 0.1 * Math.cos(i + j + b);
        if (B > 1) gm[m * m] = NaN;
        const gram = stored(wasm, gm, dtype);
        const norms = stored(wasm, new Float64Array(2 * B), dtype), out = stored(wasm, new Float64Array(B * D).fill(12345.5), dtype);
        const fp = stored(wasm, new Float64Array(B * D), dtype), fpNorms = stored(wasm, new Float64Array(2 * B), dtype);
        const jobs = wasm.parallel!.pool.jobs;
        wasm.fixedPointStep(f, x, tau, fp, fpNorms, B, D);
        const bad = wasm.andersonMix(gram, F, X, out, n, 1e-4, tau, B, m, D);
        wasm.andersonRecord(x, f, X, F, G, gram, norms, slot, B, m, D);
        const expected = threads > 1 ? (B >= 2 ? 2 : 0) + (B >= 4 ? 1 : 0) : 0; // the mix splits whole pairs
        expect(wasm.parallel!.pool.jobs - jobs, `pool jobs for B=${B} D=${D}`).toBe(expected);
        const r = [fp, fpNorms, out, X, F, G, gram, norms].map((st) => Float64Array.from(wasm.readSync(st)));
        for (const st of [x, f, X, F, G, gram, norms, out, fp, fpNorms]) wasm.free(st);
        return { out: r, bad };
      };
      const names = ['fixedPointStep out', 'fixedPointStep norms', 'andersonMix out', 'X', 'F', 'G', 'gram', 'record norms'];
      for (const B of [1, 2, 3, 17, 64]) {
        for (const D of [1, 3, 33, 100]) {
          for (const [m, n, slot, tau] of [[6, 6, 2, 1], [5, 3, 4, 0.6], [1, 1, 0, 1]] as [number, number, number, number][]) {
            const one = run(1, B, D, m, n, slot, tau), two = run(2, B, D, m, n, slot, tau);
            expect(two.bad, `singular samples B=${B}`).toBe(one.bad);
            one.out.forEach((arr, k) => arr.forEach((v, i) => {
              if (!Object.is(v, two.out[k][i])) throw new Error(`${variant} ${dtype} ${names[k]} B=${B} D=${D} m=${m}: element ${i} is ${two.out[k][i]} on 2 threads, ${v} on 1`);
            }));
            if (B > 1) expect(one.bad).toBeGreaterThanOrEqual(1);
          }
        }
      }
    });
  }

  for (const dtype of DTYPES) {
    it(`${dtype}: broydenAdvance and broydenStep (blocks of samples) are bit-identical on 2 threads`, () => {
      wasm.parallel!.minElements = { addTanh: 0, tanhGrad: 0, solverStep: 0 };
      const run = (threads: number, B: number, D: number, mem: number, r: number, slot: number, direction: boolean): Float64Array[] => {
        pool.want = threads;
        const st = (n: number, seed: number, scale = 1): Storage => stored(wasm, values(n, seed).map((v) => v * scale), dtype);
        const f = st(B * D, 1), xNew = st(B * D, 2), x = st(B * D, 3), g = st(B * D, 4);
        const gNew = st(B * D, 5), dx = st(B * D, 6), dg = st(B * D, 7), norms = st(2 * B, 8);
        const U = st(B * mem * D, 9, 0.1), V = st(B * mem * D, 10, 0.1), d = st(B * D, 11);
        const jobs = wasm.parallel!.pool.jobs;
        wasm.broydenAdvance(f, xNew, x, g, gNew, dx, dg, norms, B, D);
        wasm.broydenStep(dx, dg, gNew, d, U, V, r, slot, direction, B, mem, D);
        expect(wasm.parallel!.pool.jobs - jobs, `pool jobs for B=${B} D=${D}`).toBe(threads > 1 && B >= 2 ? 2 : 0);
        const out = [gNew, dx, dg, norms, U, V, d].map((t) => Float64Array.from(wasm.readSync(t)));
        for (const t of [f, xNew, x, g, gNew, dx, dg, norms, U, V, d]) wasm.free(t);
        return out;
      };
      const names = ['gNew', 'dx', 'dg', 'norms', 'U', 'V', 'd'];
      for (const B of [1, 2, 3, 17, 64]) {
        for (const D of [1, 3, 33, 100]) {
          for (const [mem, r, slot, direction] of [[4, 0, 0, true], [5, 3, 3, true], [3, 3, 1, false]] as [number, number, number, boolean][]) {
            const one = run(1, B, D, mem, r, slot, direction), two = run(2, B, D, mem, r, slot, direction);
            one.forEach((arr, k) => arr.forEach((v, i) => {
              if (!Object.is(v, two[k][i])) throw new Error(`${variant} ${dtype} ${names[k]} B=${B} D=${D} r=${r}: element ${i} is ${two[k][i]} on 2 threads, ${v} on 1`);
            }));
            // The step wrote the new term into row `slot` of every sample (it was the initial values before).
            const before = Float64Array.from(stored32or64(values(B * mem * D, 9).map((v) => v * 0.1), dtype));
            for (let b = 0; b < B; b++) {
              const at = (b * mem + slot) * D;
              expect(one[4].slice(at, at + D).some((v, i) => v !== before[at + i]), `U row (${b}, ${slot}) written`).toBe(true);
            }
          }
        }
      }
    });
  }
});
