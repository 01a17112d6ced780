/**
 * Every primitive of the wasm backend against the js reference backend, in float32 and
 * float64, on awkward sizes (1, 3, 17, 33, 100), broadcasting shapes, strided and permuted
 * copies, and NaN/Inf inputs, for BOTH builds of the module (baseline SIMD and relaxed
 * SIMD; Node 20 enables relaxed SIMD only behind a V8 flag, which this file sets first), and
 * for their float32-only builds (tsdeq-*-f32.wasm, `init({ dtypes: ['float32'] })`) in float32,
 * where float64 storages are refused.
 * Matmul only checks the backend's wiring of MatmulSpec; GEMM itself is tested in depth with
 * its kernel.
 */
import v8 from 'node:v8';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, BinaryOp, ConvSpec, ReduceOp, UnaryOp } from '../src/backend/backend.js';
import { stridesOf } from '../src/backend/backend.js';
import { SHARED_CONSTANTS } from '../src/backend/wasm_constants.js';
import { createWasmBackend, embeddedBytes } from '../src/backend/wasm_loader.js';
import type { WasmBackend } from '../src/backend/wasm.js';
import type { DType } from '../src/dtype.js';
import { compareOn, expectClose, jsRef, rng, storageOf, values, type Tol } from './helpers/backend_compare.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const DTYPES: readonly DType[] = ['float32', 'float64'];
const SIZES = [1, 3, 17, 33, 100];

/**
 * THE tolerance table of this file, by dtype and kernel kind. A value passes when
 * |got - want| <= atol * scale + rtol * |want| (scale = sum of |terms| for sums, else 1).
 * - exact: same IEEE operation on both sides (f32 +-x/ and sqrt computed in double and
 *   rounded once give the correctly rounded f32 result, so these are exact too).
 * - arith: f32 kernels that round scalars to f32 or fuse multiply-adds (axpby, lowrank).
 * - transcendental: polynomial f32 exp/log/tanh/sigmoid/softplus (a few ulp); f64 uses our
 *   table-free f64x2 exp/log/pow (~1 ulp, test/wasm_f64_math.test.ts) and erf (~2e-16), vs V8's
 *   and math.ts's.
 * - sum: reassociated sums (SIMD lanes, chunks), relative to the sum of |terms|.
 */
const TOL: Record<DType, Record<'exact' | 'arith' | 'transcendental' | 'sum', Tol>> = {
  float32: {
    exact: { rtol: 0, atol: 0 },
    arith: { rtol: 4e-7, atol: 1e-7 },
    transcendental: { rtol: 1e-6, atol: 1e-7 },
    sum: { rtol: 0, atol: 2e-6 },
  },
  float64: {
    exact: { rtol: 0, atol: 0 },
    arith: { rtol: 1e-15, atol: 1e-16 },
    // atol: math.ts's erf (the js reference) loses up to ~6e-15 to cancellation near
    // |x| = 2.45, which reaches gelu as an absolute error of ~1e-14.
    transcendental: { rtol: 1e-14, atol: 2e-14 },
    sum: { rtol: 0, atol: 1e-14 },
  },
};

type Build = 'simd' | 'relaxed' | 'simd-f32' | 'relaxed-f32';
const BUILDS: readonly Build[] = ['simd', 'relaxed', 'simd-f32', 'relaxed-f32'];
const builds: Record<Build, WasmBackend | null> = { simd: null, relaxed: null, 'simd-f32': null, 'relaxed-f32': null };
const float32Only = (b: Build): boolean => b.endsWith('-f32');

beforeAll(async () => {
  for (const b of BUILDS) {
    builds[b] = await createWasmBackend(await embeddedBytes(float32Only(b) ? (b.slice(0, -4) as 'simd' | 'relaxed') : (b as 'simd' | 'relaxed'), false, 'test', float32Only(b)));
  }
});

describe('module constants', () => {
  it.each(['simd', 'relaxed'] as const)('the %s build exports the same layout constants as src/backend/wasm_constants.ts', async (variant) => {
    const { instance } = await WebAssembly.instantiate(await embeddedBytes(variant), {});
    for (const [name, value] of Object.entries(SHARED_CONSTANTS)) {
      expect((instance.exports[name] as WebAssembly.Global).value, name).toBe(value);
    }
    expect((instance.exports.RELAXED as WebAssembly.Global).value).toBe(variant === 'relaxed' ? 1 : 0);
  });

  it('both builds load, and relaxed SIMD is really used by the relaxed build', () => {
    expect(builds.simd!.variant).toBe('simd');
    expect(builds.relaxed!.variant).toBe('relaxed');
    expect(builds['simd-f32']!.variant).toBe('simd');
    expect(builds['relaxed-f32']!.variant).toBe('relaxed');
  });

  it.each(['simd', 'relaxed'] as const)('the float32-only %s build has every float32 kernel and no float64 one, and refuses float64 storages (the instance stays usable)', async (variant) => {
    const full = (await WebAssembly.instantiate(await embeddedBytes(variant), {})).instance.exports;
    const f32 = (await WebAssembly.instantiate(await embeddedBytes(variant, false, 'test', true), {})).instance.exports;
    const kernels = (ex: WebAssembly.Exports, sfx: string): string[] => Object.keys(ex).filter((k) => k.endsWith(sfx) && typeof ex[k] === 'function').sort();
    expect(kernels(f32, '_f32')).toEqual(kernels(full, '_f32').filter((k) => !/_part_|_scratch_|^cast_/.test(k) || k.startsWith('gemm_part')));
    expect(kernels(f32, '_f64')).toEqual([]);
    expect(kernels(full, '_f64').length).toBeGreaterThan(50);
    for (const [name, value] of Object.entries(SHARED_CONSTANTS)) expect((f32[name] as WebAssembly.Global).value, name).toBe(value);
    const b = builds[`${variant}-f32`]!;
    expect(b.dtypes).toEqual(['float32']);
    expect(builds[variant]!.dtypes).toEqual(['float32', 'float64']);
    const live = b.liveBytes();
    expect(() => b.alloc(3, 'float64')).toThrow(/^wasm backend: float64 tensors are not available: this instance runs the float32-only build of the module \(init\(\{ dtypes: \['float32'\] \}\) or a tsdeq-\*-f32\.wasm module\); load the full build/);
    expect(() => b.allocUninit(3, 'float64')).toThrow(/float32-only build/);
    expect(b.liveBytes()).toBe(live);
    const s = b.alloc(3, 'float32');
    b.write(s, [1, 2, 3]);
    expect(Array.from(b.readSync(s))).toEqual([1, 2, 3]);
    b.free(s);
  });
});

/** Scale for sum tolerances: the same reduction applied to |x|. */
function absScale(dtype: DType, inputs: number[][], outSize: number,
  call: (b: Backend, ins: ReturnType<typeof storageOf>[], out: ReturnType<typeof storageOf>) => void): number[] {
  const [s] = compareOn(jsRef, dtype, inputs.map((a) => a.map(Math.abs)), outSize, call);
  return Array.from(s, (v) => Math.max(v, 1e-300));
}

describe.each(BUILDS)('wasm backend (%s build) vs js', (variant) => {
  const be = (): WasmBackend => builds[variant]!;

  describe.each(float32Only(variant) ? DTYPES.filter((d) => d === 'float32') : DTYPES)('%s', (dtype) => {
    const tol = TOL[dtype];

    it('alloc is zero-filled and 16-byte aligned; write/readSync round-trip; write checks bounds', () => {
      const b = be();
      for (const n of SIZES) {
        const s = b.alloc(n, dtype) as { ptr: number } & ReturnType<typeof b.alloc>;
        expect(s.ptr % 16).toBe(0);
        expect(Array.from(b.readSync(s))).toEqual(new Array(n).fill(0));
        const data = values(n, dtype, rng(n));
        b.write(s, data);
        expect(Array.from(b.readSync(s))).toEqual(data);
        b.write(s, [7], n - 1);
        expect(b.readSync(s)[n - 1]).toBe(7);
        expect(() => b.write(s, [1, 2], n - 1)).toThrow(/write: expected 2 values at offset/);
        b.free(s);
        expect(() => b.free(s)).toThrow(/already freed/);
        expect(() => b.readSync(s)).toThrow(/freed storage/);
      }
    });

    it('fill', () => {
      for (const n of SIZES) {
        const [want, got] = compareOn(be(), dtype, [], n, (b, _, out) => b.fill(out, 0.1));
        expectClose(got, want, tol.exact, `fill n=${n}`);
      }
    });

    const unaryOps: UnaryOp[] = ['neg', 'sqrt', 'exp', 'log', 'abs', 'tanh', 'sigmoid', 'relu', 'gelu',
      'softplus', 'sign', 'square', 'reciprocal', 'step', 'geluGrad', 'sin', 'cos'];
    const transcendental = new Set<UnaryOp>(['exp', 'log', 'tanh', 'sigmoid', 'gelu', 'softplus', 'geluGrad', 'sin', 'cos']);
    const specials = [0, -0, NaN, Infinity, -Infinity, 1e-30, -1e-30, 1e-6, -1e-6, 0.5, -0.5, 1, -1, 2.5, -2.5,
      10, -10, 20, 21, -21, 80, -80, 88, -88, 100, -100, 700, -700, 709.5, -709.5, -740, 1e-40, 3e-45, 1e300];

    it.each(unaryOps)('unary %s on awkward sizes and special values', (op) => {
      const t = transcendental.has(op) ? tol.transcendental : tol.exact;
      const domain = op === 'sqrt' || op === 'log' ? [0, 6] : op === 'exp' ? [-30, 30] : [-6, 6];
      for (const n of [...SIZES, 1001]) {
        const gen = rng(n * 7 + op.length);
        const x = values(n, dtype, () => gen(domain[0], domain[1]));
        const [want, got] = compareOn(be(), dtype, [x], n, (b, [xs], out) => b.unary(op, xs, out));
        expectClose(got, want, t, `${op} n=${n}`);
      }
      const sp = values(specials.length, dtype, ((i) => () => specials[i++])(0));
      const [want, got] = compareOn(be(), dtype, [sp], sp.length, (b, [xs], out) => b.unary(op, xs, out));
      expectClose(got, want, t, `${op} specials ${JSON.stringify(sp)}`);
    });

    it('gelu and geluGrad match 40-digit mpmath references (own erf/erfc, not just agreement with js)', () => {
      const xs = [-7.5, -5, -3.5, -2.25, -1, -0.3125, 2 ** -27, 0.1875, 1.125, 1.5, 3.375, 5.5]; // exact in float32
      const gelu = [-2.393168754683172e-13, -1.4332578593959695e-06, -0.0008142017766243376, -0.027505063473850584,
        -0.15865525393145705, -0.1179157129780759, 3.725290320607659e-09, 0.10769356652923072, 0.97841866822109,
        1.399789198096713, 3.3737543602168216, 5.499999895557407];
      const grad = [-1.7938314830426485e-12, -7.146946001792295e-06, -0.002821760353624635, -0.05918974397520698,
        -0.0833154705876863, 0.2586019670927717, 0.5000000059447032, 0.6478639815782544, 1.108066709360853,
        1.1274691922299795, 1.004157197743755, 1.00000057334724];
      // 1 + erf(x) cancels for x << 0: the absolute error is ~|x| ulp(1), the same in any exact-erf gelu.
      // float32 uses the f32x4 erfc polynomial (a few ulp).
      const tolRef = dtype === 'float64' ? { rtol: 4e-16, atol: 1e-15 } : { rtol: 1e-6, atol: 1e-15 };
      for (const [op, ref] of [['gelu', gelu], ['geluGrad', grad]] as const) {
        const s = storageOf(be(), xs, dtype), out = be().alloc(xs.length, dtype);
        be().unary(op, s, out);
        expectClose(be().readSync(out), ref, tolRef, `${op} vs mpmath`);
        be().free(s);
        be().free(out);
      }
    });

    const binaryOps: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
    /** Broadcast layouts: [name, shape, a strides, b strides, a size, b size]. */
    const layouts = (n: number): [string, number[], number[], number[], number, number][] => [
      ['same shape', [n], [1], [1], n, n],
      ['scalar a', [n], [0], [1], 1, n],
      ['scalar b', [n], [1], [0], n, 1],
      ['row broadcast', [3, n], [n, 1], [0, 1], 3 * n, n],
      ['column broadcast', [n, 3], [3, 1], [1, 0], 3 * n, n],
      ['transposed a, middle-broadcast b', [2, n, 3], [1, 6, 2], [3, 0, 1], 6 * n, 6],
      ['rank 0', [], [], [], 1, 1],
      ['size-1 dims', [1, n, 1], [0, 1, 0], [n, 1, 7], n, n],
    ];

    it.each(binaryOps)('binary %s over broadcast layouts', (op) => {
      const t = op === 'pow' ? tol.transcendental : tol.exact;
      for (const n of SIZES) {
        for (const [name, shape, aStr, bStr, na, nb] of layouts(n)) {
          const g = rng(n + na);
          const a = values(na, dtype, () => op === 'pow' ? g(0.1, 3) : g(-2, 2));
          const b = values(nb, dtype, () => g(-2, 2));
          if (op !== 'pow') for (let i = 0; i < Math.min(na, nb); i += 3) b[i] = a[i]; // ties for comparisons
          const size = shape.reduce((p, d) => p * d, 1);
          const [want, got] = compareOn(be(), dtype, [a, b], size, (bk, [sa, sb], out) => bk.binary(op, sa, sb, out, shape, aStr, bStr));
          expectClose(got, want, t, `${op} ${name} n=${n}`);
        }
      }
    });

    it('binary ops follow js on NaN, infinities and signed zeros (incl. pow special cases)', () => {
      const A = [NaN, 1, -1, 0, -0, Infinity, -Infinity, 2, NaN, 1, -1, 0, -8, 0.5, -0, 3];
      const B = [1, NaN, Infinity, -0, 0, Infinity, 2, NaN, NaN, -Infinity, -Infinity, -1, 1 / 3, -Infinity, -1, 0];
      for (const op of binaryOps) {
        const [want, got] = compareOn(be(), dtype, [A, B], A.length, (b, [sa, sb], out) => b.binary(op, sa, sb, out, [A.length], [1], [1]));
        expectClose(got, want, op === 'pow' ? tol.transcendental : tol.exact, `${op} specials`);
      }
    });

    it('where over broadcast layouts (NaN conditions count as true)', () => {
      for (const n of SIZES) {
        const g = rng(n);
        const cond = values(3 * n, dtype, () => { const u = g(); return u < -0.3 ? 0 : u < 0 ? NaN : u; });
        const a = values(3 * n, dtype, () => g());
        const b = values(n, dtype, () => g());
        const cases: [string, number[], number[], number[], number[]][] = [
          ['all full', [3 * n], [1], [1], [0]],
          ['b row-broadcast', [3, n], [n, 1], [n, 1], [0, 1]],
          ['cond column, a scalar', [n, 3], [3, 1], [0, 0], [1, 0]],
          ['transposed cond', [n, 3], [1, n], [3, 1], [1, 0]],
        ];
        for (const [name, shape, cs, as, bs] of cases) {
          const bb = name === 'all full' ? values(3 * n, dtype, () => g()) : b;
          const bStr = name === 'all full' ? [1] : bs;
          const [want, got] = compareOn(be(), dtype, [cond, a, bb], 3 * n,
            (bk, [sc, sa, sb], out) => bk.where(sc, sa, sb, out, shape, cs, as, bStr));
          expectClose(got, want, tol.exact, `where ${name} n=${n}`);
        }
      }
    });

    it('axpby, including out aliasing x or y', () => {
      for (const n of SIZES) {
        const g = rng(n);
        const x = values(n, dtype, () => g()), y = values(n, dtype, () => g());
        const [want, got] = compareOn(be(), dtype, [x, y], n, (b, [sx, sy], out) => b.axpby(0.3, sx, -1.7, sy, out));
        expectClose(got, want, tol.arith, `axpby n=${n}`);
        for (const alias of ['x', 'y'] as const) {
          const run = (b: Backend): number[] => {
            const sx = storageOf(b, x, dtype), sy = storageOf(b, y, dtype);
            b.axpby(0.3, sx, -1.7, sy, alias === 'x' ? sx : sy);
            const r = Array.from(b.readSync(alias === 'x' ? sx : sy));
            b.free(sx);
            b.free(sy);
            return r;
          };
          expectClose(run(be()), run(jsRef), tol.arith, `axpby out=${alias} n=${n}`);
        }
      }
    });

    it('cast to the other dtype and to the same dtype', () => {
      const other: DType = dtype === 'float32' ? 'float64' : 'float32';
      for (const n of [...SIZES, 4, 8]) {
        const g = rng(n);
        const x = values(n, dtype, () => g(-1e3, 1e3) / 3);
        x[0] = dtype === 'float64' ? 1e300 : x[0]; // overflows to Infinity in float32
        for (const to of be().dtypes.includes(other) ? [other, dtype] : [dtype]) {
          const run = (b: Backend): number[] => {
            const s = storageOf(b, x, dtype), o = b.alloc(n, to);
            b.cast(s, o);
            const r = Array.from(b.readSync(o));
            b.free(s);
            b.free(o);
            return r;
          };
          expectClose(run(be()), run(jsRef), tol.exact, `cast ${dtype}->${to} n=${n}`);
        }
      }
    });

    it('copy: permutations, slices with offsets, broadcasts and negative strides', () => {
      for (const n of SIZES) {
        const g = rng(n);
        const x = values(4 * 3 * n, dtype, () => g());
        type C = [string, number, number[], number, number[], number[], number];
        const cases: C[] = [
          ['contiguous', 0, [3 * n, n, 1], 0, [3 * n, n, 1], [4, 3, n], 12 * n],
          ['permute (2,0,1)', 0, [1, 3 * n, n], 0, stridesOf([n, 4, 3]), [n, 4, 3], 12 * n],
          ['transpose 2-d', 0, [1, n], 0, [12, 1], [n, 12], 12 * n],
          ['slice rows 1..3 into offset 5', n, [n, 1], 5, [n, 1], [2, n], 2 * n + 5],
          ['broadcast column', 2, [0, 1], 0, [n, 1], [6, n], 6 * n],
          ['broadcast scalar', 3, [0, 0], 0, [n, 1], [2, n], 2 * n],
          ['reverse (negative stride)', n - 1, [-1], 0, [1], [n], n],
          ['strided out (pad into every other slot)', 0, [1], 1, [2], [n], 2 * n + 1],
        ];
        for (const [name, xo, xs, oo, os, shape, outSize] of cases) {
          const [want, got] = compareOn(be(), dtype, [x], outSize, (b, [sx], out) => b.copy(sx, xo, xs, out, oo, os, shape));
          expectClose(got, want, tol.exact, `copy ${name} n=${n}`);
        }
      }
    });

    it('copy: tiled transposes (batched, tile edges, offsets, strided output planes)', () => {
      const g = rng(77);
      const x = values(2 * 40 * 70 + 5, dtype, () => g());
      type C = [string, number, number[], number, number[], number[], number];
      const cases: C[] = [
        ['batched (2, 40, 70) -> (2, 70, 40)', 0, [2800, 1, 70], 0, [2800, 40, 1], [2, 70, 40], 5600],
        ['(40, 70)^T from offset 5', 5, [1, 70], 0, [40, 1], [70, 40], 2800],
        ['into every other plane', 0, [2800, 1, 70], 0, [5600, 40, 1], [2, 70, 40], 8400],
        ['narrow rows (n0 = 9)', 0, [1, 9], 3, [9, 1], [33, 9], 300],
      ];
      for (const [name, xo, xs, oo, os, shape, outSize] of cases) {
        const [want, got] = compareOn(be(), dtype, [x], outSize, (b, [sx], out) => b.copy(sx, xo, xs, out, oo, os, shape));
        expectClose(got, want, tol.exact, `copy ${name}`);
      }
    });

    const reduceOps: ReduceOp[] = ['sum', 'max', 'min', 'argmax', 'argmin'];
    it.each(reduceOps)('reduce %s over (outer, n, inner) layouts, with ties and NaNs', (op) => {
      for (const n of SIZES) {
        for (const [outer, inner] of [[1, 1], [3, 1], [2, 3], [2, 17], [1, 5]]) {
          const g = rng(n * 31 + outer * 7 + inner);
          const x = values(outer * n * inner, dtype, () => Math.round(g(-4, 4) * 4) / 4); // many ties
          const [want, got] = compareOn(be(), dtype, [x], outer * inner, (b, [sx], out) => b.reduce(op, sx, out, outer, n, inner));
          const scale = op === 'sum' ? absScale(dtype, [x], outer * inner, (b, [sx], out) => b.reduce('sum', sx, out, outer, n, inner)) : undefined;
          expectClose(got, want, op === 'sum' ? tol.sum : tol.exact, `${op} (${outer}, ${n}, ${inner})`, scale);
          // NaNs at a few positions (first, middle, last) of some lines
          for (const pos of [0, n >> 1, n - 1]) {
            const y = x.slice();
            for (let a = 0; a < outer; a++) y[(a * n + pos) * inner] = NaN;
            if (n > 2) y[(n - 1) * inner + (inner > 1 ? 1 : 0)] = NaN;
            const [w2, g2] = compareOn(be(), dtype, [y], outer * inner, (b, [sx], out) => b.reduce(op, sx, out, outer, n, inner));
            expectClose(g2, w2, op === 'sum' ? { rtol: 0, atol: Infinity } : tol.exact, `${op} NaN@${pos} (${outer}, ${n}, ${inner})`);
            if (op === 'sum') expect(Array.from(g2).map(Number.isNaN)).toEqual(Array.from(w2).map(Number.isNaN));
          }
        }
      }
    });

    it('matmul wiring: transposes, batch strides and broadcast batches', () => {
      for (const [m, n, k] of [[1, 1, 1], [3, 17, 5], [17, 3, 33], [33, 100, 3]]) {
        for (const [transA, transB, batch, bcastA] of [[false, false, 1, false], [true, false, 2, false], [false, true, 3, true], [true, true, 2, false]] as const) {
          const g = rng(m * n * k);
          const a = values((bcastA ? 1 : batch) * m * k, dtype, () => g());
          const b = values(batch * k * n, dtype, () => g());
          const spec = { batch, m, n, k, transA, transB, strideA: bcastA ? 0 : m * k, strideB: k * n };
          const [want, got] = compareOn(be(), dtype, [a, b], batch * m * n, (bk, [sa, sb], out) => bk.matmul(sa, sb, out, spec));
          const scale = absScale(dtype, [a, b], batch * m * n, (bk, [sa, sb], out) => bk.matmul(sa, sb, out, spec));
          expectClose(got, want, tol.sum, `matmul ${JSON.stringify(spec)}`, scale);
        }
      }
    });

    it('batchedDot and batchedNorm (D spanning several chunks)', () => {
      for (const D of [...SIZES, 1000, 2500]) {
        for (const B of [1, 3]) {
          const g = rng(D + B);
          const x = values(B * D, dtype, () => g()), y = values(B * D, dtype, () => g());
          const dot = (b: Backend, [sx, sy]: ReturnType<typeof storageOf>[], out: ReturnType<typeof storageOf>): void => b.batchedDot(sx, sy, out, B, D);
          const [want, got] = compareOn(be(), dtype, [x, y], B, dot);
          expectClose(got, want, tol.sum, `batchedDot B=${B} D=${D}`, absScale(dtype, [x, y], B, dot));
          const [wn, gn] = compareOn(be(), dtype, [x], B, (b, [sx], out) => b.batchedNorm(sx, out, B, D));
          expectClose(gn, wn, { rtol: tol.sum.atol, atol: 0 }, `batchedNorm B=${B} D=${D}`);
        }
      }
    });

    it('gram (+ridge) for several m and D', () => {
      for (const m of [1, 2, 3, 5, 6, 9, 20]) {
        for (const D of m === 20 ? [3, 300] : [1, 3, 17, 100, 1500]) {
          const B = 2, lam = 0.25;
          const g = rng(m * 1000 + D);
          const G = values(B * m * D, dtype, () => g());
          const gram = (b: Backend, [sg]: ReturnType<typeof storageOf>[], out: ReturnType<typeof storageOf>): void => b.gram(sg, out, B, m, D, lam);
          const [want, got] = compareOn(be(), dtype, [G], B * m * m, gram);
          expectClose(got, want, tol.sum, `gram m=${m} D=${D}`, absScale(dtype, [G], B * m * m, gram));
        }
      }
    });

    it('solve: pivoting, singular entries flagged and NaN-filled, inputs untouched', () => {
      for (const n of [1, 2, 3, 6, 17]) {
        const B = 3;
        const g = rng(n);
        const A = values(B * n * n, dtype, () => g());
        for (let b = 0; b < B; b++) A[b * n * n] = dtype === 'float32' ? Math.fround(1e-3 * g()) : 1e-3 * g(); // forces a pivot swap
        for (let t = 0; t < n * n; t++) A[n * n + t] = t % n === 0 ? 0 : A[n * n + t]; // entry 1: zero first column -> singular
        const rhs = values(B * n, dtype, () => g());
        const results = [jsRef, be()].map((bk) => {
          const sa = storageOf(bk, A, dtype), sr = storageOf(bk, rhs, dtype), out = bk.alloc(B * n, dtype);
          const ok = bk.solve(sa, sr, out, B, n);
          const r = { ok, x: Array.from(bk.readSync(out)), a: Array.from(bk.readSync(sa)) };
          for (const s of [sa, sr, out]) bk.free(s);
          return r;
        });
        expect(results[1].ok).toEqual(results[0].ok);
        expect(results[1].ok[1]).toBe(false);
        expect(results[1].a).toEqual(A);
        expectClose(results[1].x, results[0].x, dtype === 'float32' ? { rtol: 1e-6, atol: 1e-6 } : { rtol: 1e-12, atol: 1e-12 }, `solve n=${n}`);
      }
    });

    it('lowRankMatvec with r < rmax, r = 0 and out aliasing x', () => {
      for (const D of SIZES) {
        for (const [r, rmax] of [[0, 2], [1, 1], [3, 5], [9, 11]]) {
          const B = 2, s = -0.7;
          const g = rng(D * 10 + r);
          const u = values(B * rmax * D, dtype, () => g()), v = values(B * rmax * D, dtype, () => g()), x = values(B * D, dtype, () => g());
          const [want, got] = compareOn(be(), dtype, [u, v, x], B * D, (b, [su, sv, sx], out) => b.lowRankMatvec(su, sv, sx, out, B, r, rmax, D, s));
          expectClose(got, want, { rtol: tol.arith.rtol, atol: tol.sum.atol * Math.sqrt(D) * (r + 1) }, `lowRankMatvec D=${D} r=${r}`);
          const sx = storageOf(be(), x, dtype), su = storageOf(be(), u, dtype), sv = storageOf(be(), v, dtype);
          be().lowRankMatvec(su, sv, sx, sx, B, r, rmax, D, s);
          expectClose(be().readSync(sx), want, { rtol: tol.arith.rtol, atol: tol.sum.atol * Math.sqrt(D) * (r + 1) }, `lowRankMatvec aliased D=${D} r=${r}`);
          for (const st of [sx, su, sv]) be().free(st);
        }
      }
    });

    it('lowRankMatvecPair equals the two lowRankMatvec calls (and aliased outputs)', () => {
      for (const D of SIZES) {
        for (const [r, rmax] of [[0, 2], [3, 5], [9, 11]]) {
          const B = 3, s = -1;
          const g = rng(D * 7 + r);
          const u = values(B * rmax * D, dtype, () => g()), v = values(B * rmax * D, dtype, () => g());
          const x = values(B * D, dtype, () => g()), y = values(B * D, dtype, () => g());
          const atol = tol.sum.atol * Math.sqrt(D) * (r + 1);
          const run = (bk: Backend, alias: boolean): number[][] => {
            const su = storageOf(bk, u, dtype), sv = storageOf(bk, v, dtype), sx = storageOf(bk, x, dtype), sy = storageOf(bk, y, dtype);
            const ox = alias ? sx : bk.alloc(B * D, dtype), oy = alias ? sy : bk.alloc(B * D, dtype);
            bk.lowRankMatvecPair!(su, sv, sx, sy, ox, oy, B, r, rmax, D, s);
            const res = [Array.from(bk.readSync(ox)), Array.from(bk.readSync(oy))];
            for (const st of new Set([su, sv, sx, sy, ox, oy])) bk.free(st);
            return res;
          };
          const ref = jsRef;
          const wantX = ref.alloc(B * D, dtype), wantY = ref.alloc(B * D, dtype);
          const [su, sv, sx, sy] = [u, v, x, y].map((a) => storageOf(ref, a, dtype));
          ref.lowRankMatvec(sv, su, sx, wantX, B, r, rmax, D, s);
          ref.lowRankMatvec(su, sv, sy, wantY, B, r, rmax, D, s);
          const want = [Array.from(ref.readSync(wantX)), Array.from(ref.readSync(wantY))];
          for (const st of [wantX, wantY, su, sv, sx, sy]) ref.free(st);
          for (const [i, got] of [run(ref, false), run(be(), false), run(be(), true)].entries()) {
            expectClose(got[0], want[0], { rtol: tol.arith.rtol, atol }, `lowRankMatvecPair x run ${i} D=${D} r=${r}`);
            expectClose(got[1], want[1], { rtol: tol.arith.rtol, atol }, `lowRankMatvecPair y run ${i} D=${D} r=${r}`);
          }
        }
      }
    });

    it('fused addTanh (full u, bias row, aliased out) and tanhGrad', () => {
      for (const cols of SIZES) {
        const rows = 3, g = rng(cols);
        const x = values(rows * cols, dtype, () => g(-4, 4)), u = values(rows * cols, dtype, () => g(-4, 4));
        for (const uRowStride of [cols, 0]) {
          const [want, got] = compareOn(be(), dtype, [x, u], rows * cols, (b, [sx, su], out) => b.addTanh!(sx, su, out, rows, cols, uRowStride));
          expectClose(got, want, tol.transcendental, `addTanh cols=${cols} uRowStride=${uRowStride}`);
          const sx = storageOf(be(), x, dtype), su = storageOf(be(), u, dtype);
          be().addTanh!(sx, su, sx, rows, cols, uRowStride);
          expectClose(be().readSync(sx), want, tol.transcendental, `addTanh aliased cols=${cols}`);
          be().free(sx);
          be().free(su);
        }
        // y = tanh(.) in (-1, 1); 1 - y^2 cancels near |y| = 1, so the error scales with |g|.
        const y = values(rows * cols, dtype, () => g(-0.999, 0.999));
        const [want, got] = compareOn(be(), dtype, [x, y], rows * cols, (b, [sg, sy], out) => b.tanhGrad!(sg, sy, out));
        expectClose(got, want, { rtol: tol.arith.rtol, atol: 3 * tol.arith.atol }, `tanhGrad n=${rows * cols}`, x.map(Math.abs));
      }
    });

    const convSpecs: ConvSpec[] = [
      { n: 1, c: 1, h: 5, w: 5, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, oh: 5, ow: 5 },
      { n: 2, c: 3, h: 7, w: 6, kh: 3, kw: 2, sh: 2, sw: 2, ph: 1, pw: 0, dh: 1, dw: 1, oh: 4, ow: 3 },
      { n: 1, c: 2, h: 9, w: 17, kh: 3, kw: 3, sh: 1, sw: 1, ph: 2, pw: 2, dh: 2, dw: 2, oh: 9, ow: 17 },
      { n: 2, c: 1, h: 4, w: 33, kh: 1, kw: 5, sh: 1, sw: 3, ph: 0, pw: 4, dh: 1, dw: 1, oh: 4, ow: 13 },
      { n: 1, c: 1, h: 3, w: 3, kh: 3, kw: 3, sh: 1, sw: 1, ph: 3, pw: 3, dh: 1, dw: 1, oh: 7, ow: 7 },
    ];
    it.each(convSpecs.map((s, i) => [i, s] as const))('im2col and col2im, spec %i', (_i, sp) => {
      const g = rng(sp.w * sp.h);
      const inSize = sp.n * sp.c * sp.h * sp.w, colSize = sp.n * sp.c * sp.kh * sp.kw * sp.oh * sp.ow;
      const x = values(inSize, dtype, () => g());
      const [want, got] = compareOn(be(), dtype, [x], colSize, (b, [sx], out) => b.im2col(sx, out, sp));
      expectClose(got, want, tol.exact, 'im2col');
      const cols = values(colSize, dtype, () => g());
      const [w2, g2] = compareOn(be(), dtype, [cols], inSize, (b, [sc], out) => b.col2im(sc, out, sp));
      expectClose(g2, w2, tol.sum, 'col2im', new Array(inSize).fill(sp.kh * sp.kw));
    });
  });
});
