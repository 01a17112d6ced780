/**
 * Prepacked GEMM operands (assembly/gemm.ts `prepackB`, src/backend/wasm_pack_cache.ts).
 *
 * A B storage used in a second product is packed once and read packed from then on. The packed
 * product reads the same values in the same order as the unpacked one, so results are asserted
 * BIT-IDENTICAL to the first (unpacked) product, and that one within the dot-product bound of
 * the js backend (as in test/gemm.test.ts). Every way a kernel can write into B must drop its
 * pack: each writer is exercised on a packed B and the next product must see the new values.
 */
import v8 from 'node:v8';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, MatmulSpec, Storage } from '../src/backend/backend.js';
import { findBackend } from '../src/backend/registry.js';
import type { WasmBackend, WasmVariant } from '../src/backend/wasm.js';
import { createWasmBackend, embeddedBytes } from '../src/backend/wasm_loader.js';
import { MIN_PACK_ELEMENTS, PACK_CACHE_BYTES } from '../src/backend/wasm_pack_cache.js';
import type { DType } from '../src/dtype.js';
import { values, stored } from './helpers/kernel_inputs.js';
import { usePooledBackend } from './helpers/pooled_backend.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd'); // Node 20: relaxed SIMD is behind a flag

const js = findBackend('js') as Backend;
const DTYPES: DType[] = ['float32', 'float64'];
const VARIANTS: WasmVariant[] = ['simd', 'relaxed'];
const UNIT_ROUNDOFF: Record<DType, number> = { float32: 2 ** -24, float64: 2 ** -53 };

function spec(m: number, n: number, k: number, transA = false, transB = false, batch = 1, strideA = 0): MatmulSpec {
  return { batch, m, n, k, transA, transB, strideA: batch > 1 && strideA === 0 ? m * k : strideA, strideB: 0 };
}

function product(be: Backend, a: Storage, b: Storage, s: MatmulSpec, dtype: DType): Float64Array {
  const out = stored(be, new Float64Array(s.batch * s.m * s.n).fill(12345.5), dtype);
  be.matmul(a, b, out, s);
  const r = Float64Array.from(be.readSync(out));
  be.free(out);
  return r;
}

/** |got - js| <= 2 k u (|A| |B|) + tiny (values are in [-1, 1), so |A| |B| <= k). */
function expectNearJs(got: Float64Array, A: Float64Array, B: Float64Array, s: MatmulSpec, dtype: DType): void {
  const a = stored(js, A, 'float64'), b = stored(js, B, 'float64');
  const want = product(js, a, b, s, 'float64');
  const tol = 2 * s.k * UNIT_ROUNDOFF[dtype] * s.k + 1e-300;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol)) throw new Error(`${JSON.stringify(s)} ${dtype}: element ${i} is ${got[i]}, js ${want[i]}`);
  }
}

function expectSame(got: Float64Array, want: Float64Array, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`${what}: element ${i} is ${got[i]} packed, ${want[i]} unpacked`);
  }
}

describe.each(VARIANTS)('prepacked B, %s build', (variant) => {
  let wasm: WasmBackend;
  beforeAll(async () => {
    wasm = await createWasmBackend(await embeddedBytes(variant));
    expect(wasm.variant).toBe(variant);
  });

  /** Three products with one B storage: unpacked, packing, packed. Returns the first. */
  function thrice(s: MatmulSpec, dtype: DType, seed: number): Float64Array {
    const sizeA = (s.batch - 1) * s.strideA + s.m * s.k;
    const A = values(sizeA, seed), B = values(s.n * s.k, seed + 1);
    const a = stored(wasm, A, dtype), b = stored(wasm, B, dtype);
    const before = wasm.packCache.bytes();
    const first = product(wasm, a, b, s, dtype);
    expect(wasm.packCache.bytes()).toBe(before);
    const second = product(wasm, a, b, s, dtype);
    const packs = s.n * s.k >= MIN_PACK_ELEMENTS && s.m > 1 && s.n > 1;
    expect(wasm.packCache.bytes() > before, `packed after the second product: ${JSON.stringify(s)}`).toBe(packs);
    const third = product(wasm, a, b, s, dtype);
    const what = `${variant} ${dtype} ${JSON.stringify(s)}`;
    expectSame(second, first, what);
    expectSame(third, first, what);
    expectNearJs(first, A, B, s, dtype);
    wasm.free(a);
    wasm.free(b);
    expect(wasm.packCache.bytes()).toBe(before); // freeing B releases its pack
    return first;
  }

  for (const dtype of DTYPES) {
    it(`${dtype}: awkward sizes, both transposes of A and B`, () => {
      let seed = 1;
      for (const m of [1, 3, 17, 33, 100]) {
        for (const [n, k] of [[33, 33], [100, 17], [17, 100], [64, 64], [1, 2048], [100, 100]]) {
          for (const tA of [false, true]) for (const tB of [false, true]) thrice(spec(m, n, k, tA, tB), dtype, seed++);
        }
      }
    });

    it(`${dtype}: the blocking boundaries (k > KC, n > NC) and batches sharing B (folded and not)`, () => {
      thrice(spec(7, 40, 600, false, true), dtype, 91);
      thrice(spec(9, 2100, 3, false, false), dtype, 92);
      thrice(spec(9, 2100, 300, true, true), dtype, 93);
      thrice(spec(5, 40, 60, false, true, 3), dtype, 94); // folds into one 15-row product
      thrice(spec(5, 40, 60, true, false, 3), dtype, 95); // transposed A: three products
    });
  }

  it('one storage keeps a pack per orientation (z W^T forward and g W backward)', () => {
    const W = values(64 * 64, 7), Z = values(8 * 64, 8);
    const w = stored(wasm, W, 'float32'), z = stored(wasm, Z, 'float32');
    const fwd = spec(8, 64, 64, false, true), bwd = spec(8, 64, 64, false, false);
    const f1 = product(wasm, z, w, fwd, 'float32'), b1 = product(wasm, z, w, bwd, 'float32');
    const f2 = product(wasm, z, w, fwd, 'float32'), b2 = product(wasm, z, w, bwd, 'float32');
    expect(wasm.packCache.bytes()).toBe(2 * 64 * 64 * 4);
    expectSame(product(wasm, z, w, fwd, 'float32'), f1, 'forward');
    expectSame(product(wasm, z, w, bwd, 'float32'), b1, 'backward');
    expectSame(f2, f1, 'forward');
    expectSame(b2, b1, 'backward');
    expectNearJs(f1, Z, W, fwd, 'float32');
    expectNearJs(b1, Z, W, bwd, 'float32');
    wasm.free(w);
    wasm.free(z);
    expect(wasm.packCache.bytes()).toBe(0);
  });

  it('every kernel that writes into a packed B drops the pack: the next product sees the new values', () => {
    const n = 48, k = 40, m = 6, D = n * k;
    const s = spec(m, n, k, false, true);
    const A = values(m * k, 3);
    const other = values(D, 4);
    type Writer = (b: Storage, o: Storage) => void;
    const writers: [string, Writer][] = [
      ['write', (b) => wasm.write(b, other)],
      ['write at an offset', (b) => wasm.write(b, other.subarray(0, 5), 7)],
      ['fill', (b) => wasm.fill(b, 0.25)],
      ['unary', (b, o) => wasm.unary('tanh', o, b)],
      ['binary', (b, o) => wasm.binary('mul', o, o, b, [D], [1], [1])],
      ['where', (b, o) => wasm.where(o, o, o, b, [D], [1], [1], [1])],
      ['axpby in place', (b, o) => wasm.axpby(0.5, b, 2, o, b)],
      ['cast', (b, o) => wasm.cast(o, b)],
      ['copy', (b, o) => wasm.copy(o, 0, [1], b, 0, [1], [D])],
      ['reduce', (b, o) => wasm.reduce('sum', o, b, D, 1, 1)],
      ['matmul', (b, o) => wasm.matmul(o, o, b, { batch: 1, m: 1, n: 1, k: D, transA: false, transB: true, strideA: 0, strideB: 0 })],
      ['batchedDot', (b, o) => wasm.batchedDot(o, o, b, D, 1)],
      ['batchedNorm', (b, o) => wasm.batchedNorm(o, b, D, 1)],
      ['gram', (b, o) => wasm.gram(o, b, 1, 1, D, 0.5)],
      ['lowRankMatvec', (b, o) => wasm.lowRankMatvec(o, o, o, b, 1, 0, 1, D, 3)],
      ['lowRankMatvecPair', (b, o) => wasm.lowRankMatvecPair(o, o, o, o, b, b, 1, 0, 1, D, 3)],
      ['addTanh', (b, o) => wasm.addTanh(b, o, b, 1, D, D)],
      ['tanhGrad', (b, o) => wasm.tanhGrad(o, o, b)],
      ['fixedPointStep', (b, o) => { const nr = wasm.alloc(2, 'float32'); wasm.fixedPointStep(o, o, 0.5, b, nr, 1, D); wasm.free(nr); }],
      ['solve', (b, o) => wasm.solve(o, o, b, D, 1)],
      ['andersonRecord', (b, o) => {
        const g = wasm.alloc(D, 'float32'), gr = wasm.alloc(1, 'float32'), nr = wasm.alloc(2, 'float32');
        wasm.andersonRecord(o, o, b, g, g, gr, nr, 0, 1, 1, D);
        for (const x of [g, gr, nr]) wasm.free(x);
      }],
      ['andersonMix', (b, o) => {
        const gr = stored(wasm, [2], 'float32');
        wasm.andersonMix(gr, o, o, b, 1, 1e-4, 1, 1, 1, D);
        wasm.free(gr);
      }],
      ['broydenAdvance', (b, o) => {
        const t = [0, 1, 2, 3].map(() => wasm.alloc(D, 'float32')), nr = wasm.alloc(2, 'float32');
        wasm.broydenAdvance(o, o, t[0], t[1], b, t[2], t[3], nr, 1, D);
        for (const x of [...t, nr]) wasm.free(x);
      }],
      ['broydenStep (d)', (b, o) => {
        const U = wasm.alloc(D, 'float32'), V = wasm.alloc(D, 'float32');
        wasm.broydenStep(o, o, o, b, U, V, 0, 0, true, 1, 1, D);
        for (const x of [U, V]) wasm.free(x);
      }],
      ['broydenStep (U)', (b, o) => {
        const d = wasm.alloc(D, 'float32'), V = wasm.alloc(D, 'float32');
        wasm.broydenStep(o, o, o, d, b, V, 0, 0, true, 1, 1, D);
        for (const x of [d, V]) wasm.free(x);
      }],
      ['im2col', (b, o) => wasm.im2col(o, b, { n: 1, c: 1, h: 1, w: D, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, oh: 1, ow: D })],
      ['col2im', (b, o) => wasm.col2im(o, b, { n: 1, c: 1, h: 1, w: D, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, oh: 1, ow: D })],
    ];
    for (const [name, writeInto] of writers) {
      const a = stored(wasm, A, 'float32'), b = stored(wasm, values(D, 5), 'float32'), o = stored(wasm, other, 'float32');
      product(wasm, a, b, s, 'float32');
      product(wasm, a, b, s, 'float32');
      expect(wasm.packCache.bytes(), name).toBeGreaterThan(0);
      writeInto(b, o);
      expect(wasm.packCache.bytes(), `${name} released the pack`).toBe(0);
      const got = product(wasm, a, b, s, 'float32');
      const Bnow = Float64Array.from(wasm.readSync(b));
      expectNearJs(got, A, Bnow, s, 'float32');
      for (const x of [a, b, o]) wasm.free(x);
    }
  });

  it('budgets: maxBytes 0 turns packing off and releases packs; maxStorages evicts the least recently used', () => {
    const s = spec(4, 64, 64, false, true);
    const a = stored(wasm, values(4 * 64, 1), 'float32');
    const bs = [0, 1, 2].map((i) => stored(wasm, values(64 * 64, 10 + i), 'float32'));
    for (const b of bs) product(wasm, a, b, s, 'float32'), product(wasm, a, b, s, 'float32');
    expect(wasm.packCache.bytes()).toBe(3 * 64 * 64 * 4);
    wasm.packCache.maxStorages = 2; // drops bs[0], the least recently used
    expect(wasm.packCache.bytes()).toBe(2 * 64 * 64 * 4);
    expect(wasm.packCache.size).toBe(2);
    wasm.packCache.maxBytes = 64 * 64 * 4; // room for one pack: keeps the most recent (bs[2])
    expect(wasm.packCache.bytes()).toBe(64 * 64 * 4);
    wasm.packCache.maxBytes = 0;
    expect(wasm.packCache.bytes()).toBe(0);
    const off = product(wasm, a, bs[1], s, 'float32');
    product(wasm, a, bs[1], s, 'float32');
    expect(wasm.packCache.bytes()).toBe(0);
    wasm.packCache.maxBytes = PACK_CACHE_BYTES;
    wasm.packCache.maxStorages = 64;
    product(wasm, a, bs[1], s, 'float32');
    expectSame(product(wasm, a, bs[1], s, 'float32'), off, 'packed again');
    expect(wasm.packCache.bytes()).toBe(64 * 64 * 4);
    for (const b of [a, ...bs]) wasm.free(b);
    expect(wasm.packCache.bytes()).toBe(0);
    expect(wasm.packCache.size).toBe(0);
  });

  it('bad budgets throw naming the setting', () => {
    expect(() => { wasm.packCache.maxBytes = -1; }).toThrow('PackCache.maxBytes: expected a number of bytes >= 0, received -1');
    expect(() => { wasm.packCache.maxStorages = 1.5; }).toThrow('PackCache.maxStorages: expected an integer >= 0, received 1.5');
  });
});

describe.each(VARIANTS)('prepacked B on the thread pool, %s-threads build', (variant) => {
  const pool = usePooledBackend(variant);
  let wasm: WasmBackend;
  beforeAll(() => {
    wasm = pool.wasm;
    wasm.parallel!.minFlops = 0;
  });

  for (const dtype of DTYPES) {
    it(`${dtype}: packed products split across 2 threads equal the one-thread unpacked product bit for bit`, () => {
      let seed = 200;
      for (const [m, n, k, tA, tB] of [[64, 256, 256, false, true], [33, 100, 17, true, false], [3, 2100, 40, false, true],
        [100, 33, 300, false, false]] as [number, number, number, boolean, boolean][]) {
        const s = spec(m, n, k, tA, tB);
        const A = values(m * k, seed++), B = values(n * k, seed++);
        const a = stored(wasm, A, dtype), b = stored(wasm, B, dtype);
        pool.want = 1;
        const one = product(wasm, a, b, s, dtype);
        pool.want = 2;
        product(wasm, a, b, s, dtype); // packs
        const jobs = wasm.parallel!.pool.jobs;
        const two = product(wasm, a, b, s, dtype);
        expect(wasm.parallel!.pool.jobs - jobs, 'the packed product ran on the pool').toBe(1);
        expect(wasm.packCache.bytes()).toBeGreaterThan(0);
        expectSame(two, one, `${variant} ${dtype} ${JSON.stringify(s)}`);
        expectNearJs(one, A, B, s, dtype);
        wasm.free(a);
        wasm.free(b);
      }
      expect(wasm.packCache.bytes()).toBe(0);
    });
  }
});

describe('a DEQ training step with packed weights', () => {
  it('gives bit-identical gradients to the step without packing, and packs W in both orientations', async () => {
    const { init } = await import('../src/init.js');
    const { getBackend } = await import('../src/backend/registry.js');
    const { StepModel, deqStep } = await import('../src/bench/deq_step_model.js');
    await init();
    const wasm = getBackend() as WasmBackend;
    expect(wasm.name).toBe('wasm');
    const model = new StepModel(40, 6, wasm);
    const grads = async (maxBytes: number): Promise<Float64Array[]> => {
      wasm.packCache.maxBytes = maxBytes;
      const step = deqStep(model, 'ift');
      await step();
      return model.params.map((p) => Float64Array.from(p.grad!.dataSync()));
    };
    const plain = await grads(0);
    expect(wasm.packCache.bytes()).toBe(0);
    const packed = await grads(PACK_CACHE_BYTES);
    expect(wasm.packCache.bytes()).toBeGreaterThanOrEqual(2 * 40 * 40 * 4); // W forward and W in the adjoint
    for (let i = 0; i < plain.length; i++) expectSame(packed[i], plain[i], `gradient of parameter ${i}`);
    expect(plain[0].some((v) => v !== 0)).toBe(true);
    model.dispose();
  });
});
