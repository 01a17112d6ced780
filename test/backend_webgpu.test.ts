/**
 * Every primitive of the webgpu backend against the js reference backend in float32, on
 * awkward sizes (1, 3, 17, 33, 100), broadcasting and strided/permuted layouts, aliasing
 * outputs, NaN inputs, and the optional fused kernels; on the test adapter (Node + npm webgpu
 * + SwiftShader, test/helpers/webgpu.ts). Sizes stay small: CPU adapters are slow.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, BinaryOp, ConvSpec, ReduceOp, Storage, UnaryOp } from '../src/backend/backend.js';
import { stridesOf } from '../src/backend/backend.js';
import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';
import { jsRef, rng } from './helpers/backend_compare.js';
import { assertClose, type Tol } from './helpers/tolerance.js';
import { WEBGPU, WEBGPU_UNAVAILABLE } from './helpers/webgpu.js';

const SIZES = [1, 3, 17, 33, 100];
/** Tolerances of this file: exact IEEE ops, f32 transcendental functions, and sums scaled by sum |terms|. */
const TOL: Record<'exact' | 'arith' | 'transcendental', Tol> = {
  exact: { rtol: 0, atol: 0 },
  arith: { rtol: 4e-7, atol: 1e-7 },
  transcendental: { rtol: 4e-6, atol: 4e-7 },
};
/** Sums: |got - want| <= SUM_TOL * (sum of |terms|). */
const SUM_TOL = 2e-6;

const gpuOrSkip = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);

function vals(n: number, seed: number, lo = -2, hi = 2): number[] {
  const g = rng(seed);
  return Array.from({ length: n }, () => Math.fround(g(lo, hi)));
}
function put(b: Backend, data: readonly number[]): Storage {
  const s = b.alloc(data.length, 'float32');
  b.write(s, data);
  return s;
}

/**
 * Runs `call` on js and on webgpu with the same inputs and an output of `outSize` (seeded with
 * `outInit` when given) and returns [js, webgpu] results.
 */
async function both(inputs: readonly (readonly number[])[], outSize: number,
  call: (b: Backend, ins: Storage[], out: Storage) => void | Promise<unknown>, outInit?: readonly number[]): Promise<[Float32Array, Float32Array]> {
  const run = async (b: Backend): Promise<Float32Array> => {
    const ins = inputs.map((d) => put(b, d));
    const out = outInit ? put(b, outInit) : b.alloc(outSize, 'float32');
    await call(b, ins, out);
    const r = (await b.readAsync(out)) as Float32Array;
    for (const s of [...ins, out]) b.free(s);
    return r;
  };
  return [await run(jsRef), await run(WEBGPU!)];
}

function sumScale(inputs: readonly (readonly number[])[], outSize: number,
  call: (b: Backend, ins: Storage[], out: Storage) => void): number[] {
  const ins = inputs.map((d) => put(jsRef, d.map(Math.abs)));
  const out = jsRef.alloc(outSize, 'float32');
  call(jsRef, ins, out);
  const r = Array.from(jsRef.readSync(out), (v) => Math.max(v, 1e-30));
  return r;
}
function assertSums(got: ArrayLike<number>, want: ArrayLike<number>, scale: number[], label: string): void {
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) { expect(got[i], `${label}[${i}]`).toBeNaN(); continue; }
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= SUM_TOL * scale[i] + 1e-7)) throw new Error(`${label}: element ${i} is ${got[i]}, expected ${want[i]} (error ${err}, scale ${scale[i]})`);
  }
}

describe('webgpu adapter', () => {
  it('is found (the suite may not skip under CI)', () => {
    if (process.env.CI) expect(WEBGPU_UNAVAILABLE, 'no WebGPU adapter under CI').toBeNull();
    if (!WEBGPU) console.warn(`webgpu kernel tests skipped: ${WEBGPU_UNAVAILABLE}`);
  });
});

gpuOrSkip('webgpu backend vs js (float32)', () => {
  const gpu = (): WebGpuBackend => WEBGPU!;

  it('fill, write at an offset, and alloc zero-fills reused buffers', async () => {
    for (const n of SIZES) {
      const [w, g] = await both([], n, (b, _i, o) => b.fill(o, -1.25));
      assertClose(g, w, TOL.exact, `fill ${n}`);
    }
    const s = gpu().alloc(8, 'float32');
    gpu().fill(s, 7);
    gpu().write(s, [1, 2, 3], 4);
    expect(Array.from(await gpu().readAsync(s))).toEqual([7, 7, 7, 7, 1, 2, 3, 7]);
    gpu().free(s);
    const again = gpu().alloc(8, 'float32');
    expect(Array.from(await gpu().readAsync(again))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    gpu().free(again);
  });

  const unaryOps: [UnaryOp, 'exact' | 'transcendental', number, number][] = [
    ['neg', 'exact', -3, 3], ['abs', 'exact', -3, 3], ['square', 'arith' as 'exact', -3, 3], ['relu', 'exact', -3, 3],
    ['sign', 'exact', -3, 3], ['step', 'exact', -3, 3], ['reciprocal', 'arith' as 'exact', 0.2, 3],
    ['sqrt', 'transcendental', 0, 9], ['exp', 'transcendental', -5, 5], ['log', 'transcendental', 0.01, 9],
    ['tanh', 'transcendental', -20, 20], ['sigmoid', 'transcendental', -30, 30], ['gelu', 'transcendental', -5, 5],
    ['geluGrad', 'transcendental', -5, 5], ['softplus', 'transcendental', -25, 25],
    ['sin', 'transcendental', -4, 4], ['cos', 'transcendental', -4, 4],
  ];
  it.each(unaryOps)('unary %s on every size', async (op, kind, lo, hi) => {
    for (const n of SIZES) {
      const x = vals(n, n * 31 + op.length, lo, hi);
      const [w, g] = await both([x], n, (b, [a], o) => b.unary(op, a, o));
      assertClose(g, w, kind === 'exact' && (op === 'square' || op === 'reciprocal') ? TOL.arith : TOL[kind], `unary ${op} n=${n}`);
    }
  });

  it('unary keeps NaN and handles infinities and out-of-domain inputs', async () => {
    const x = [NaN, Infinity, -Infinity, -1, 0, 1e30];
    for (const op of ['neg', 'abs', 'exp', 'tanh', 'sqrt', 'log', 'relu', 'sigmoid'] as UnaryOp[]) {
      const [w, g] = await both([x], x.length, (b, [a], o) => b.unary(op, a, o));
      assertClose(g, w, TOL.transcendental, `unary ${op} specials`);
    }
  });

  const binaryOps: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
  it.each(binaryOps)('binary %s with broadcasting', async (op) => {
    const shapes: [number[], number[], number[]][] = [
      [[1], [1], [1]], [[17], [17], [17]], [[3, 17], [3, 17], [3, 17]], [[33, 3], [1, 3], [33, 3]],
      [[100], [1], [100]], [[2, 3, 17], [2, 1, 17], [1, 3, 1]], [[4, 1, 5], [4, 1, 5], [1, 3, 1]],
    ];
    for (const [, sa, sb] of shapes) {
      const shape = sa.map((d, i) => Math.max(d, sb[i]));
      const n = shape.reduce((p, d) => p * d, 1);
      const st = (s: number[]): number[] => stridesOf(s).map((v, i) => (s[i] === 1 ? 0 : v));
      const a = vals(sa.reduce((p, d) => p * d, 1), 3 + n, op === 'pow' ? 0.1 : -2, 2);
      const bv = vals(sb.reduce((p, d) => p * d, 1), 5 + n);
      if (op === 'eq' || op === 'ne' || op === 'le' || op === 'ge') { a[0] = 1; bv[0] = 1; }
      const [w, g] = await both([a, bv], n, (b, [x, y], o) => b.binary(op, x, y, o, shape, st(sa), st(sb)));
      assertClose(g, w, op === 'pow' ? TOL.transcendental : TOL.arith, `binary ${op} ${JSON.stringify(shape)}`);
    }
  });

  it('pow of negative bases with integer and fractional exponents, maximum/minimum with NaN', async () => {
    const a = [-2, -2, -2, 0, 0, 3, NaN, 1];
    const b = [3, 2, 0.5, 0, -1, -2, 1, NaN];
    const [w, g] = await both([a, b], 8, (be, [x, y], o) => be.binary('pow', x, y, o, [8], [1], [1]));
    assertClose(g, w, TOL.transcendental, 'pow specials');
    for (const op of ['maximum', 'minimum', 'eq', 'ne', 'lt'] as BinaryOp[]) {
      const [w2, g2] = await both([a, b], 8, (be, [x, y], o) => be.binary(op, x, y, o, [8], [1], [1]));
      assertClose(g2, w2, TOL.exact, `${op} with NaN`);
    }
  });

  it('where with three broadcast operands (NaN condition picks a)', async () => {
    const shape = [3, 17];
    const c = vals(17, 1).map((v, i) => (i % 3 === 0 ? 0 : i === 5 ? NaN : v));
    const a = vals(51, 2), bv = vals(3, 3);
    const [w, g] = await both([c, a, bv], 51, (b, [x, y, z], o) => b.where(x, y, z, o, shape, [0, 1], [17, 1], [1, 0]));
    assertClose(g, w, TOL.exact, 'where');
  });

  it('axpby, also into an aliased output, and cast', async () => {
    for (const n of SIZES) {
      const x = vals(n, n), y = vals(n, n + 1);
      const [w, g] = await both([x, y], n, (b, [p, q], o) => b.axpby(0.3, p, -1.7, q, o));
      assertClose(g, w, TOL.arith, `axpby ${n}`);
      const [w2, g2] = await both([x, y], n, (b, [p, q]) => { b.axpby(0.3, p, -1.7, q, p); b.copy(p, 0, [1], q, 0, [1], [n]); }, y);
      void w2; void g2;
      // aliasing: compare the aliased input itself
      const run = async (b: Backend): Promise<Float32Array> => {
        const p = put(b, x), q = put(b, y);
        b.axpby(0.3, p, -1.7, q, q);
        const r = (await b.readAsync(q)) as Float32Array;
        b.free(p); b.free(q);
        return r;
      };
      assertClose(await run(gpu()), await run(jsRef), TOL.arith, `axpby aliased ${n}`);
      const [w3, g3] = await both([x], n, (b, [p], o) => b.cast(p, o));
      assertClose(g3, w3, TOL.exact, `cast ${n}`);
    }
  });

  it('strided copies: permute, slice with offsets, pad into a larger output, broadcast', async () => {
    const x = vals(2 * 3 * 17, 9);
    const cases: [number, number[], number, number[], number[], number][] = [
      [0, [51, 17, 1], 0, [1, 2, 6], [2, 3, 17], 102], // permute (2,3,17) -> (17,3,2)
      [5, [17, 1], 0, [12, 1], [3, 12], 36], // slice
      [0, [17, 1], 21, [19, 1], [6, 17], 140], // pad
      [0, [0, 1], 0, [17, 1], [4, 17], 68], // broadcast a row
      [3, [1], 0, [1], [33], 33], // contiguous with offset
    ];
    for (const [xo, xs, oo, os, shape, outSize] of cases) {
      const [w, g] = await both([x], outSize, (b, [p], o) => b.copy(p, xo, xs, o, oo, os, shape));
      assertClose(g, w, TOL.exact, `copy ${JSON.stringify(shape)}`);
    }
  });

  const reduceOps: ReduceOp[] = ['sum', 'max', 'min', 'argmax', 'argmin'];
  it.each(reduceOps)('reduce %s over (outer, n, inner), short and long rows, with ties and NaN', async (op) => {
    for (const [outer, n, inner] of [[1, 1, 1], [3, 17, 1], [1, 100, 1], [2, 33, 3], [17, 3, 17], [3, 300, 1]]) {
      const x = vals(outer * n * inner, outer + n + inner).map((v) => Math.round(v * 4) / 4); // ties
      if (n > 3) x[2] = NaN;
      const call = (b: Backend, [p]: Storage[], o: Storage): void => b.reduce(op, p, o, outer, n, inner);
      const [w, g] = await both([x], outer * inner, call);
      if (op === 'sum') assertSums(g, w, sumScale([x], outer * inner, call), `reduce sum ${outer},${n},${inner}`);
      else assertClose(g, w, TOL.exact, `reduce ${op} ${outer},${n},${inner}`);
    }
  });

  it('matmul: transposes, batches, broadcast operands, awkward sizes', async () => {
    const dims: [number, number, number][] = [[1, 1, 1], [3, 17, 33], [17, 3, 1], [33, 100, 17], [100, 33, 3], [64, 64, 64]];
    for (const [m, n, k] of dims) {
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
        for (const [batch, bcastA] of [[1, false], [3, false], [2, true]] as const) {
          const a = vals((bcastA ? 1 : batch) * m * k, m + 3 * k), bb = vals(batch * k * n, n + 7 * k);
          const spec = { batch, m, n, k, transA: tA, transB: tB, strideA: bcastA ? 0 : m * k, strideB: k * n };
          const call = (be: Backend, [x, y]: Storage[], o: Storage): void => be.matmul(x, y, o, spec);
          const [w, g] = await both([a, bb], batch * m * n, call);
          assertSums(g, w, sumScale([a, bb], batch * m * n, call), `matmul ${JSON.stringify(spec)}`);
        }
      }
    }
  });

  it('batchedDot, batchedNorm and gram with ridge', async () => {
    for (const [B, D] of [[1, 1], [3, 17], [17, 100], [2, 333]]) {
      const x = vals(B * D, B + D), y = vals(B * D, B * D);
      const dot = (b: Backend, [p, q]: Storage[], o: Storage): void => b.batchedDot(p, q, o, B, D);
      const [w, g] = await both([x, y], B, dot);
      assertSums(g, w, sumScale([x, y], B, dot), `batchedDot ${B}x${D}`);
      const [w2, g2] = await both([x], B, (b, [p], o) => b.batchedNorm(p, o, B, D));
      assertClose(g2, w2, { rtol: 2e-6, atol: 1e-7 }, `batchedNorm ${B}x${D}`);
      for (const m of [1, 3, 5]) {
        const G = vals(B * m * D, m + D);
        const gram = (b: Backend, [p]: Storage[], o: Storage): void => b.gram(p, o, B, m, D, 0.25);
        const [w3, g3] = await both([G], B * m * m, gram);
        assertSums(g3, w3, sumScale([G], B * m * m, gram).map((s) => s + 0.25), `gram ${B},${m},${D}`);
      }
    }
  });

  it('solve with partial pivoting, and singular systems flagged with NaN rows', async () => {
    for (const [B, n] of [[1, 1], [3, 4], [17, 6], [2, 17]]) {
      const A = vals(B * n * n, B + n);
      for (let b = 0; b < B; b++) for (let i = 0; i < n; i++) A[b * n * n + i * n + i] += n; // well conditioned
      if (B > 2) for (let i = 0; i < n * n; i++) A[2 * n * n + i] = i < n ? 0 : A[2 * n * n + i]; // row 0 zero: singular
      const rhs = vals(B * n, n);
      let okJs: boolean[] = [], okGpu: boolean[] = [];
      const [w, g] = await both([A, rhs], B * n, async (b, [a, r], o) => {
        const ok = await b.solve(a, r, o, B, n);
        if (b === jsRef) okJs = ok; else okGpu = ok;
      });
      expect(okGpu).toEqual(okJs);
      assertClose(g, w, { rtol: 2e-5, atol: 2e-5 }, `solve ${B}x${n}`);
    }
  });

  it('lowRankMatvec with r < rmax', async () => {
    for (const [B, r, rmax, D] of [[1, 0, 2, 3], [3, 1, 4, 17], [2, 3, 3, 100], [5, 2, 6, 33]]) {
      const U = vals(B * rmax * D, 1 + D), V = vals(B * rmax * D, 2 + D), x = vals(B * D, 3 + D);
      const call = (b: Backend, [u, v, p]: Storage[], o: Storage): void => b.lowRankMatvec(u, v, p, o, B, r, rmax, D, -1);
      const [w, g] = await both([U, V, x], B * D, call);
      assertClose(g, w, { rtol: 1e-5, atol: 1e-5 * Math.max(1, D / 10) }, `lowRankMatvec ${B},${r},${rmax},${D}`);
    }
  });

  it('im2col and col2im (stride, padding, dilation)', async () => {
    const specs: ConvSpec[] = [
      { n: 1, c: 1, h: 3, w: 3, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, oh: 3, ow: 3 },
      { n: 2, c: 3, h: 7, w: 5, kh: 3, kw: 2, sh: 2, sw: 1, ph: 1, pw: 1, dh: 1, dw: 2, oh: 4, ow: 4 },
      { n: 1, c: 2, h: 9, w: 9, kh: 3, kw: 3, sh: 3, sw: 2, ph: 2, pw: 0, dh: 2, dw: 1, oh: 3, ow: 4 },
    ];
    for (const sp of specs) {
      const inSize = sp.n * sp.c * sp.h * sp.w, colSize = sp.n * sp.c * sp.kh * sp.kw * sp.oh * sp.ow;
      const [w, g] = await both([vals(inSize, 4)], colSize, (b, [x], o) => b.im2col(x, o, sp));
      assertClose(g, w, TOL.exact, `im2col ${JSON.stringify(sp)}`);
      const [w2, g2] = await both([vals(colSize, 5)], inSize, (b, [c], o) => b.col2im(c, o, sp));
      assertClose(g2, w2, { rtol: 1e-6, atol: 1e-6 }, `col2im ${JSON.stringify(sp)}`);
    }
  });

  it('fused addTanh (bias and full u, aliased) and tanhGrad', async () => {
    for (const [rows, cols] of [[1, 1], [3, 17], [33, 100]]) {
      const x = vals(rows * cols, rows), ufull = vals(rows * cols, cols), bias = vals(cols, 7);
      const [w, g] = await both([x, ufull], rows * cols, (b, [p, q], o) => b.addTanh!(p, q, o, rows, cols, cols));
      assertClose(g, w, TOL.transcendental, 'addTanh full');
      const [w2, g2] = await both([x, bias], rows * cols, (b, [p, q], o) => { b.addTanh!(p, q, p, rows, cols, 0); b.copy(p, 0, [1], o, 0, [1], [rows * cols]); });
      assertClose(g2, w2, TOL.transcendental, 'addTanh bias aliased');
      const [w3, g3] = await both([x, ufull], rows * cols, (b, [p, q], o) => b.tanhGrad!(p, q, o));
      assertClose(g3, w3, TOL.arith, 'tanhGrad');
    }
  });

  it('fused solver steps: fixedPointStep, andersonRecord, broydenAdvance', async () => {
    const B = 3, D = 17, m = 4;
    const f = vals(B * D, 1), x = vals(B * D, 2);
    const [w, g] = await both([f, x], 2 * B, (b, [p, q], o) => { const out = b.alloc(B * D, 'float32'); b.fixedPointStep!(p, q, 0.7, out, o, B, D); b.free(out); });
    assertClose(g, w, { rtol: 2e-6, atol: 1e-6 }, 'fixedPointStep norms');
    const [w1, g1] = await both([f, x], B * D, (b, [p, q], o) => { const n = b.alloc(2 * B, 'float32'); b.fixedPointStep!(p, q, 0.7, o, n, B, D); b.free(n); });
    assertClose(g1, w1, TOL.arith, 'fixedPointStep out');
    for (const part of ['X', 'gram', 'norms'] as const) {
      const [w2, g2] = await both([x, f], part === 'X' ? B * m * D : part === 'gram' ? B * m * m : 2 * B, (b, [p, q], o) => {
        const bufs = { X: b.alloc(B * m * D, 'float32'), F: b.alloc(B * m * D, 'float32'), G: b.alloc(B * m * D, 'float32'), gram: b.alloc(B * m * m, 'float32'), norms: b.alloc(2 * B, 'float32') };
        for (const slot of [0, 1, 2]) {
          b.axpby(1, p, 0.1 * slot, q, p);
          b.andersonRecord!(p, q, bufs.X, bufs.F, bufs.G, bufs.gram, bufs.norms, slot, B, m, D);
        }
        b.copy(bufs[part], 0, [1], o, 0, [1], [o.size]);
        for (const s of Object.values(bufs)) b.free(s);
      });
      assertClose(g2, w2, { rtol: 1e-5, atol: 1e-5 }, `andersonRecord ${part}`);
    }
    const [w4, g4] = await both([f, x, vals(B * D, 3), vals(B * D, 4)], 2 * B, (b, [ff, xn, xo, gg], o) => {
      const [gNew, dx, dg] = [0, 1, 2].map(() => b.alloc(B * D, 'float32'));
      b.broydenAdvance!(ff, xn, xo, gg, gNew, dx, dg, o, B, D);
      b.axpby(1, dg, 1, dx, gNew);
      b.batchedNorm(gNew, dx, B, D);
      b.copy(dx, 0, [1], o, 0, [1], [B]);
      for (const s of [gNew, dx, dg]) b.free(s);
    });
    assertClose(g4, w4, { rtol: 2e-6, atol: 1e-6 }, 'broydenAdvance');
  });

  it('many dispatches between reads run in order (batches are submitted in recording order)', async () => {
    const be = gpu();
    const s = put(be, [0, 0, 0]);
    const one = put(be, [1, 1, 1]);
    for (let i = 0; i < 500; i++) be.axpby(1, s, 1, one, s);
    expect(Array.from(await be.readAsync(s))).toEqual([500, 500, 500]);
    be.free(s);
    be.free(one);
  });

  it('buffers are pooled by size, reused after submission, and never leak without reads', async () => {
    const be = gpu();
    const live = be.liveBytes();
    for (let i = 0; i < 300; i++) {
      const s = be.alloc(1000, 'float32');
      be.write(s, [i]);
      be.free(s);
    }
    // Without any read in between, the same buffer keeps coming back from the pool.
    const st = be.ctx.stats();
    expect(st.inUseBytes).toBeLessThanOrEqual(70 * 4000);
    expect(be.liveBytes()).toBe(live);
    const t = be.alloc(1000, 'float32');
    const u = be.alloc(1000, 'float32');
    be.fill(t, 3);
    be.unary('square', t, u);
    be.free(t); // freed while the square that reads it is only recorded
    const v = be.alloc(1000, 'float32'); // must not get t's buffer before that work is submitted
    be.fill(v, -1);
    expect((await be.readAsync(u))[999]).toBe(9);
    expect((await be.readAsync(v))[0]).toBe(-1);
    be.free(u);
    be.free(v);
  });

  it('one pipeline per structure: other sizes and strides reuse it', async () => {
    const be = gpu();
    const run = async (n: number): Promise<void> => {
      const a = put(be, vals(n, n)), b = put(be, vals(n, n + 1)), o = be.alloc(n, 'float32');
      be.binary('mul', a, b, o, [n], [1], [1]);
      await be.readAsync(o);
      for (const s of [a, b, o]) be.free(s);
    };
    await run(5);
    const before = be.ctx.stats().pipelines;
    for (const n of [3, 17, 1000]) await run(n); // (n = 1 collapses to rank 0: another structure)
    expect(be.ctx.stats().pipelines).toBe(before);
  });

  it('workgroup counts above 65535 fold into a 2-D grid', async () => {
    const be = gpu();
    const n = 65536 * 64 + 3; // 65537 workgroups of 64
    const s = be.alloc(n, 'float32');
    be.fill(s, 2);
    const t = be.alloc(n, 'float32');
    be.unary('square', s, t);
    const r = await be.readAsync(t);
    expect(r[0]).toBe(4);
    expect(r[n - 1]).toBe(4);
    expect(r[65535 * 64 + 5]).toBe(4);
    be.free(s);
    be.free(t);
  });
});
