/**
 * The WASM GEMM (assembly/gemm.ts) against the js backend's matmul, on both builds of the
 * module: baseline SIMD (4-row register tile, mul + add) and relaxed SIMD (5-row tile, fused
 * madd). Awkward sizes, all transpose combinations, batches with broadcast (stride 0)
 * operands, the blocking boundaries (k > KC, m > MC, n > NC), the matrix-vector paths,
 * float32 and float64.
 *
 * Tolerance: |wasm - js| <= 2 k u (|A| @ |B|) + tiny, elementwise, where u is the unit
 * roundoff of the dtype: the standard bound for a length-k dot product in any summation
 * order, with or without fused multiply-add, for both results. An indexing or tail error is
 * of the size of one product term, far above it.
 */
import { setFlagsFromString } from 'node:v8';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, MatmulSpec, Storage } from '../src/backend/backend.js';
import { findBackend } from '../src/backend/registry.js';
import { createWasmBackend, detectFeatures, embeddedBytes } from '../src/backend/wasm_loader.js';
import type { WasmBackend } from '../src/backend/wasm.js';
import type { DType } from '../src/dtype.js';
import { init } from '../src/init.js';
import { tensor, matmul, setBackend } from '../src/index.js';
import { matmulEx } from '../src/ops/linalg.js';
import { values, stored } from './helpers/kernel_inputs.js';

const js = findBackend('js') as Backend;
const UNIT_ROUNDOFF: Record<DType, number> = { float32: 2 ** -24, float64: 2 ** -53 };
const DTYPES: DType[] = ['float32', 'float64'];
const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

/**
 * The relaxed build needs relaxed-SIMD support at compile time; Node 20 has it behind a V8
 * flag, which is switched on here (as test/backend_wasm.test.ts does) and left on for the rest
 * of this file's process (vitest runs each file in its own forked process).
 */
function compileRelaxed(bytes: Uint8Array): WebAssembly.Module | null {
  if (!detectFeatures().relaxed) setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(bytes as BufferSource) ? new WebAssembly.Module(bytes as BufferSource) : null;
}

const variants: { name: string; backend: WasmBackend | null }[] = [
  { name: 'simd', backend: null },
  { name: 'relaxed', backend: null },
];

beforeAll(async () => {
  variants[0].backend = await createWasmBackend(await embeddedBytes('simd'));
  const relaxed = compileRelaxed(await embeddedBytes('relaxed'));
  if (relaxed) variants[1].backend = await createWasmBackend(relaxed);
});

/** Runs one matmul on `b` with `out` pre-filled with garbage (the kernel must overwrite it). */
function run(b: Backend, A: Float64Array, B: Float64Array, spec: MatmulSpec, dtype: DType): Float64Array {
  const a = stored(b, A, dtype), bb = stored(b, B, dtype);
  const size = spec.batch * spec.m * spec.n;
  const out = stored(b, new Float64Array(size).fill(12345.5), dtype);
  b.matmul(a, bb, out, spec);
  const r = Float64Array.from(b.readSync(out));
  for (const s of [a, bb, out]) b.free(s);
  return r;
}

interface Case {
  spec: MatmulSpec;
  A: Float64Array;
  B: Float64Array;
}

function makeCase(batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean,
  strideA: number, strideB: number, seed: number): Case {
  const sizeA = strideA === 0 ? m * k : (batch - 1) * strideA + m * k;
  const sizeB = strideB === 0 ? k * n : (batch - 1) * strideB + k * n;
  return {
    spec: { batch, m, n, k, transA, transB, strideA, strideB },
    A: values(sizeA, seed),
    B: values(sizeB, seed + 1),
  };
}

/** Checks every variant's result for `c` against js, with the k-scaled bound. */
function check(c: Case, dtype: DType): void {
  const want = run(js, c.A, c.B, c.spec, dtype);
  const bound = run(js, c.A.map(Math.abs), c.B.map(Math.abs), c.spec, 'float64');
  const u = UNIT_ROUNDOFF[dtype];
  const { batch, m, n, k, transA, transB, strideA, strideB } = c.spec;
  for (const v of variants) {
    if (!v.backend) continue;
    const got = run(v.backend, c.A, c.B, c.spec, dtype);
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) {
      const tol = 2 * Math.max(k, 1) * u * bound[i] + 1e-30;
      if (!(Math.abs(got[i] - want[i]) <= tol)) {
        throw new Error(`${v.name} ${dtype} batch=${batch} m=${m} n=${n} k=${k} transA=${transA} transB=${transB} `
          + `strideA=${strideA} strideB=${strideB}: element ${i} is ${got[i]}, js gives ${want[i]} (tol ${tol})`);
      }
    }
  }
}

describe('wasm gemm vs js matmul', () => {
  it('has both builds available (relaxed compiled with the V8 flag when needed)', () => {
    expect(variants[0].backend?.variant).toBe('simd');
    expect(variants[1].backend?.variant).toBe('relaxed');
  });

  for (const dtype of DTYPES) {
    it(`${dtype}: every m, n, k in {1, 3, 17, 33, 100}, all transposes`, () => {
      const S = [1, 3, 17, 33, 100];
      let seed = 1;
      for (const [tA, tB] of TRANS) {
        for (const m of S) for (const n of S) for (const k of S) check(makeCase(1, m, n, k, tA, tB, 0, 0, seed++), dtype);
      }
    });

    it(`${dtype}: 257x129x65 and the block edges (k > KC, m > MC, n > NC), all transposes`, () => {
      for (const [tA, tB] of TRANS) {
        check(makeCase(1, 257, 129, 65, tA, tB, 0, 0, 7), dtype);
        check(makeCase(1, 33, 17, 600, tA, tB, 0, 0, 8), dtype);
        check(makeCase(1, 5, 2051, 7, tA, tB, 0, 0, 9), dtype);
        check(makeCase(1, 241, 9, 513, tA, tB, 0, 0, 10), dtype);
      }
    });

    it(`${dtype}: matrix-vector shapes (m = 1 or n = 1), all transposes`, () => {
      for (const [tA, tB] of TRANS) {
        check(makeCase(1, 1, 1030, 37, tA, tB, 0, 0, 23), dtype);
        check(makeCase(1, 129, 1, 300, tA, tB, 0, 0, 24), dtype);
        check(makeCase(1, 1, 6, 1001, tA, tB, 0, 0, 25), dtype);
        check(makeCase(3, 1, 19, 70, tA, tB, 70, 0, 26), dtype);
        check(makeCase(3, 22, 1, 9, tA, tB, 0, 9, 27), dtype);
      }
    });

    it(`${dtype}: batches with broadcast (stride 0) and padded strides, all transposes`, () => {
      for (const [tA, tB] of TRANS) {
        const [m, n, k] = [17, 33, 5];
        check(makeCase(3, m, n, k, tA, tB, m * k, 0, 11), dtype); // shared B (one tall product when !transA)
        check(makeCase(3, m, n, k, tA, tB, 0, k * n, 12), dtype); // shared A
        check(makeCase(3, m, n, k, tA, tB, m * k, k * n, 13), dtype); // no sharing
        check(makeCase(4, 3, 100, 33, tA, tB, 3 * 33 + 5, 0, 14), dtype); // padded A stride
        check(makeCase(2, 100, 3, 300, tA, tB, 0, 0, 15), dtype); // both shared, k > KC
        check(makeCase(5, 1, 1, 1, tA, tB, 1, 1, 16), dtype);
      }
    });

    it(`${dtype}: empty shapes; k = 0 overwrites the output with zeros`, () => {
      for (const [m, n, k] of [[0, 3, 4], [3, 0, 4], [0, 0, 0], [3, 4, 0], [1, 1, 0]]) {
        for (const [tA, tB] of TRANS) check(makeCase(2, m, n, k, tA, tB, m * k, 0, 17), dtype);
      }
      for (const v of variants) {
        if (!v.backend) continue;
        const spec = { batch: 2, m: 3, n: 4, k: 0, transA: false, transB: false, strideA: 0, strideB: 0 };
        expect(Array.from(run(v.backend, new Float64Array(0), new Float64Array(0), spec, dtype))).toEqual(new Array(24).fill(0));
      }
    });
  }
});

describe('matmul through the package (init + tensors on the wasm backend)', () => {
  it('matches the js backend for broadcast batched and transposed products', async () => {
    await init();
    const wasm = findBackend('wasm') as Backend;
    setBackend('js');
    for (const dtype of DTYPES) {
      const aData = values(2 * 3 * 17 * 33, 21), bData = values(33 * 19, 22);
      const on = (backend: Backend) => {
        const a = tensor(aData, [2, 3, 17, 33], { dtype, backend });
        const b = tensor(bData, [33, 19], { dtype, backend });
        const bt = tensor(bData, [19, 33], { dtype, backend });
        const products = [matmul(a, b), matmulEx(a, bt, false, true)];
        const r = products.map((t) => Array.from(t.dataSync()));
        for (const t of [a, b, bt, ...products]) t.dispose();
        return r;
      };
      const [w1, w2] = on(wasm), [j1, j2] = on(js);
      expect(w1.length).toBe(2 * 3 * 17 * 19);
      const tol = dtype === 'float32' ? 33 * 2 * 2 ** -24 * 33 : 1e-13;
      for (let i = 0; i < j1.length; i++) {
        expect(Math.abs(w1[i] - j1[i])).toBeLessThanOrEqual(tol);
        expect(Math.abs(w2[i] - j2[i])).toBeLessThanOrEqual(tol);
      }
    }
  });
});
