/**
 * Fused ops (addTanh, linearTanh, tanhBackward): forward against plain-JS references, float64
 * gradient and double-backward checks, float32 vs float64 gradients, wasm vs js (the op
 * suite); the fused kernels of both wasm builds against the js backend's on awkward sizes in
 * both dtypes; and the fallback path (a backend without the optional kernels) against the
 * fused one.
 */
import v8 from 'node:v8';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { JsBackend } from '../src/backend/js.js';
import { findBackend } from '../src/backend/registry.js';
import { createWasmBackend, embeddedBytes } from '../src/backend/wasm_loader.js';
import type { WasmBackend } from '../src/backend/wasm.js';
import type { DType } from '../src/dtype.js';
import { defineOpSuite, type OpCase } from './helpers/opcase.js';
import { Nd, bAt, bshape } from './helpers/ref.js';
import { compareOn, expectClose, rng, values } from './helpers/backend_compare.js';
import { assertClose } from './helpers/tolerance.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

function addTanhRef(a: Nd, b: Nd): Nd {
  const shape = bshape(a.shape, b.shape);
  return Nd.fromFn(shape, (idx) => Math.tanh(bAt(a, idx) + bAt(b, idx)));
}

function linearTanhRef(x: Nd, w: Nd, b?: Nd): Nd {
  const [o, inF] = w.shape;
  const shape = [...x.shape.slice(0, -1), o];
  return Nd.fromFn(shape, (idx) => {
    const j = idx[idx.length - 1];
    let s = b ? bAt(b, idx) : 0;
    for (let p = 0; p < inF; p++) s += x.at([...idx.slice(0, -1), p]) * w.at([j, p]);
    return Math.tanh(s);
  });
}

const ADD_TANH: OpCase[] = [
  { name: 'addTanh same shape [17,33]', inputs: [{ shape: [17, 33] }, { shape: [17, 33] }], fn: T.addTanh, ref: addTanhRef },
  { name: 'addTanh row bias [3,100]+[100]', inputs: [{ shape: [3, 100] }, { shape: [100] }], fn: T.addTanh, ref: addTanhRef },
  { name: 'addTanh bias first [1,17]+[33,17]', inputs: [{ shape: [1, 17] }, { shape: [33, 17] }], fn: T.addTanh, ref: addTanhRef },
  { name: 'addTanh column broadcast [17,3]+[17,1]', inputs: [{ shape: [17, 3] }, { shape: [17, 1] }], fn: T.addTanh, ref: addTanhRef, doubleBackward: true },
  { name: 'addTanh both broadcast [3,1]+[1,17]', inputs: [{ shape: [3, 1] }, { shape: [1, 17] }], fn: T.addTanh, ref: addTanhRef },
  { name: 'addTanh scalars [1]+[]', inputs: [{ shape: [1] }, { shape: [] }], fn: T.addTanh, ref: addTanhRef },
];

const LINEAR_TANH: OpCase[] = [
  { name: 'linearTanh full injection x[3,17] w[33,17] u[3,33]', inputs: [{ shape: [3, 17] }, { shape: [33, 17] }, { shape: [3, 33] }], fn: (x, w, u) => T.linearTanh(x, w, u), ref: linearTanhRef },
  { name: 'linearTanh full injection x[3,4] w[5,4] u[3,5]', inputs: [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [3, 5] }], fn: (x, w, u) => T.linearTanh(x, w, u), ref: linearTanhRef, doubleBackward: true },
  { name: 'linearTanh bias x[100,3] w[1,3] b[1]', inputs: [{ shape: [100, 3] }, { shape: [1, 3] }, { shape: [1] }], fn: (x, w, b) => T.linearTanh(x, w, b), ref: linearTanhRef },
  { name: 'linearTanh no bias x[17,33] w[3,33]', inputs: [{ shape: [17, 33] }, { shape: [3, 33] }], fn: (x, w) => T.linearTanh(x, w), ref: (x, w) => linearTanhRef(x, w), doubleBackward: true },
  { name: 'linearTanh 3-D input x[2,3,17] w[4,17] b[4]', inputs: [{ shape: [2, 3, 17] }, { shape: [4, 17] }, { shape: [4] }], fn: (x, w, b) => T.linearTanh(x, w, b), ref: linearTanhRef },
  { name: 'linearTanh 1-D input x[33] w[17,33] b[17]', inputs: [{ shape: [33] }, { shape: [17, 33] }, { shape: [17] }], fn: (x, w, b) => T.linearTanh(x, w, b), ref: linearTanhRef },
  { name: 'linearTanh column bias x[17,3] w[5,3] u[17,1]', inputs: [{ shape: [17, 3] }, { shape: [5, 3] }, { shape: [17, 1] }], fn: (x, w, u) => T.linearTanh(x, w, u), ref: linearTanhRef },
];

const TANH_BACKWARD: OpCase[] = [
  { name: 'tanhBackward [17,33]', inputs: [{ shape: [17, 33] }, { shape: [17, 33], gen: 'unit' }], fn: T.tanhBackward, ref: (g, y) => Nd.fromFn(g.shape, (i) => g.at(i) * (1 - y.at(i) ** 2)), doubleBackward: true },
  { name: 'tanhBackward [100]', inputs: [{ shape: [100] }, { shape: [100], gen: 'unit' }], fn: T.tanhBackward, ref: (g, y) => Nd.fromFn(g.shape, (i) => g.at(i) * (1 - y.at(i) ** 2)) },
];

const SCALED_ADD: OpCase[] = [
  { name: 'scaledAdd 0.5 x + 0.5 y [17,33]', inputs: [{ shape: [17, 33] }, { shape: [17, 33] }], fn: (x, y) => T.scaledAdd(x, 0.5, y, 0.5), ref: (x, y) => Nd.fromFn(x.shape, (i) => 0.5 * x.at(i) + 0.5 * y.at(i)), doubleBackward: true },
  { name: 'scaledAdd 1 x - 3 y [100]', inputs: [{ shape: [100] }, { shape: [100] }], fn: (x, y) => T.scaledAdd(x, 1, y, -3), ref: (x, y) => Nd.fromFn(x.shape, (i) => x.at(i) - 3 * y.at(i)) },
];

defineOpSuite('scaledAdd', SCALED_ADD);
defineOpSuite('addTanh', ADD_TANH);
defineOpSuite('linearTanh', LINEAR_TANH);
defineOpSuite('tanhBackward', TANH_BACKWARD);

describe('fused ops: agreement with the unfused composition', () => {
  it('linearTanh and tanh(add(linear(x, W), u)) give the same values and gradients (float64, js)', async () => {
    const o = { dtype: 'float64' as const, requiresGrad: true };
    const x = T.randn([5, 7], { ...o, seed: 1 }), w = T.randn([6, 7], { ...o, seed: 2 }), u = T.randn([5, 6], { ...o, seed: 3 });
    const c = T.randn([5, 6], { dtype: 'float64', seed: 4 });
    const run = async (fused: boolean) => T.tidy(async () => {
      const y = fused ? T.linearTanh(x, w, u) : T.tanh(T.add(T.linear(x, w), u));
      const gs = await T.grad(T.mul(y, c).sum(), [x, w, u]);
      return [Array.from(y.dataSync()), ...gs.map((g) => Array.from(g!.dataSync()))];
    });
    const [a, b] = [await run(true), await run(false)];
    a.forEach((v, i) => assertClose(v, b[i], { rtol: 1e-13, atol: 1e-14 }, `output ${i}`));
    for (const t of [x, w, u, c]) t.dispose();
  });

  it('the tanh op backward equals tanhBackward (it uses it)', async () => {
    const x = T.randn([4, 9], { dtype: 'float64', requiresGrad: true, seed: 5 });
    const g = T.randn([4, 9], { dtype: 'float64', seed: 6 });
    const [gx] = await T.grad(T.tanh(x), [x], { gradOutputs: [g] });
    const want = Array.from(x.dataSync(), (v, i) => g.dataSync()[i] * (1 - Math.tanh(v) ** 2));
    assertClose(gx!.dataSync(), want, { rtol: 1e-14, atol: 1e-15 }, 'tanh grad');
    for (const t of [x, g, gx!]) t.dispose();
  });

  it('errors name the op and argument', () => {
    const x = T.zeros([3, 4]), w = T.zeros([5, 4]);
    expect(() => T.linearTanh(x, T.zeros([5, 3]))).toThrow(/linearTanh: expected input with last dimension 3 \(weight \[5, 3\]\), received \[3, 4\]/);
    expect(() => T.linearTanh(x, T.zeros([4]))).toThrow(/linearTanh: expected weight of shape \(out, in\), received \[4\]/);
    expect(() => T.linearTanh(x, w, T.zeros([2, 3, 5]))).toThrow(/linearTanh: expected a bias that broadcasts to the output shape \[3, 5\], received \[2, 3, 5\]/);
    expect(() => T.linearTanh(x, w, T.zeros([4]))).toThrow(/linearTanh: shapes \[3, 5\] and \[4\] cannot be broadcast/);
    expect(() => T.addTanh(x, T.zeros([3, 4], { dtype: 'float64' }))).toThrow(/addTanh: dtype mismatch/);
    expect(() => T.tanhBackward(x, T.zeros([4, 3]))).toThrow(/tanhBackward: expected g and y of one shape, received \[3, 4\] and \[4, 3\]/);
    expect(() => T.scaledAdd(x, 1, T.zeros([4]), 1)).toThrow(/scaledAdd: expected x and y of one shape, received \[3, 4\] and \[4\]/);
    const d = T.zeros([3, 4]);
    d.dispose();
    expect(() => T.addTanh(d, x)).toThrow(/addTanh \(argument 'a'\): expected a live tensor, received a disposed tensor/);
    for (const t of [x, w]) t.dispose();
  });
});

describe('fused ops without the optional backend kernels (composition fallback)', () => {
  // A js backend whose fused kernels are hidden: the ops must compose them from primitives.
  const plain = new JsBackend();
  (plain as { addTanh?: unknown }).addTanh = undefined;
  (plain as { tanhGrad?: unknown }).tanhGrad = undefined;
  const fused = new JsBackend();

  it.each(['float32', 'float64'] as const)('addTanh, linearTanh and their gradients match the fused kernels (%s)', async (dtype) => {
    const run = async (be: JsBackend) => T.tidy(async () => {
      const o = { dtype, backend: be, requiresGrad: true };
      const x = T.randn([17, 3], { ...o, seed: 1 }), w = T.randn([33, 3], { ...o, seed: 2 });
      const u = T.randn([17, 33], { ...o, seed: 3 }), b = T.randn([33], { ...o, seed: 4 });
      const y = T.add(T.linearTanh(x, w, u), T.addTanh(T.linearTanh(x, w), b));
      const gs = await T.grad(y.sum(), [x, w, u, b]);
      return [y, ...gs].map((t) => Array.from(t!.dataSync()));
    });
    const [a, r] = [await run(plain), await run(fused)];
    const tol = dtype === 'float32' ? { rtol: 1e-6, atol: 1e-6 } : { rtol: 1e-14, atol: 1e-14 };
    a.forEach((v, i) => assertClose(v, r[i], tol, `output ${i}`));
  });
});

describe('fused kernels: both wasm builds against the js backend', () => {
  const builds: Record<'simd' | 'relaxed', WasmBackend | null> = { simd: null, relaxed: null };
  beforeAll(async () => {
    builds.simd = await createWasmBackend(await embeddedBytes('simd'));
    builds.relaxed = await createWasmBackend(await embeddedBytes('relaxed'));
  });
  const SIZES = [1, 3, 17, 33, 100];
  // f32 tanh is a polynomial (a few ulp); the rest is one IEEE operation per step.
  const tanhTol: Record<DType, { rtol: number; atol: number }> = {
    float32: { rtol: 1e-6, atol: 1e-7 }, float64: { rtol: 1e-14, atol: 1e-15 },
  };
  const gradTol: Record<DType, { rtol: number; atol: number }> = {
    float32: { rtol: 4e-7, atol: 1e-7 }, float64: { rtol: 1e-15, atol: 1e-16 },
  };

  for (const variant of ['simd', 'relaxed'] as const) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`addTanh with full and row-broadcast u, and in place (${variant}, ${dtype})`, () => {
        const be = builds[variant]!;
        for (const rows of SIZES) {
          for (const cols of SIZES) {
            const x = values(rows * cols, dtype, () => rng(rows * 131 + cols)(-4, 4));
            const full = values(rows * cols, dtype, () => rng(rows + cols * 7)(-2, 2));
            const row = values(cols, dtype, () => rng(cols * 3)(-2, 2));
            for (const [u, stride] of [[full, cols], [row, 0]] as const) {
              const [want, got] = compareOn(be, dtype, [x, u], rows * cols, (b, [xs, us], out) => b.addTanh!(xs, us, out, rows, cols, stride));
              expectClose(got, want, tanhTol[dtype], `addTanh ${rows}x${cols} stride ${stride}`);
              const inPlace = (b: typeof be | JsBackend) => {
                const xs = b.alloc(x.length, dtype), us = b.alloc(u.length, dtype);
                b.write(xs, x);
                b.write(us, u);
                b.addTanh!(xs, us, xs, rows, cols, stride);
                const r = b.readSync(xs);
                b.free(xs);
                b.free(us);
                return r;
              };
              expectClose(inPlace(be), inPlace(new JsBackend()), tanhTol[dtype], `addTanh in place ${rows}x${cols}`);
            }
          }
        }
        const specials = [0, -0, NaN, Infinity, -Infinity, 1e-30, 20, -21, 100];
        const [want, got] = compareOn(be, dtype, [specials.map((v) => (dtype === 'float32' ? Math.fround(v) : v)), specials.map(() => 0)], specials.length,
          (b, [xs, us], out) => b.addTanh!(xs, us, out, 1, specials.length, specials.length));
        expectClose(got, want, tanhTol[dtype], 'addTanh special values');
      });

      it(`tanhGrad on awkward sizes, and in place (${variant}, ${dtype})`, () => {
        const be = builds[variant]!;
        for (const n of [...SIZES, 1001]) {
          const g = values(n, dtype, () => rng(n)(-3, 3));
          const y = values(n, dtype, () => rng(n + 9)(-1, 1));
          const [want, got] = compareOn(be, dtype, [g, y], n, (b, [gs, ys], out) => b.tanhGrad!(gs, ys, out));
          expectClose(got, want, gradTol[dtype], `tanhGrad n=${n}`);
          const [w2, g2] = compareOn(be, dtype, [g, y], n, (b, [gs, ys], out) => {
            b.tanhGrad!(gs, ys, gs);
            b.copy(gs, 0, [1], out, 0, [1], [n]);
          });
          expectClose(g2, w2, gradTol[dtype], `tanhGrad in place n=${n}`);
        }
      });
    }
  }
});

describe('linearTanh keeps its inputs and frees its temporaries', () => {
  it('inputs unchanged, no leaked tensors', async () => {
    const before = T.memory().numTensors;
    const x = T.randn([4, 3], { seed: 1, requiresGrad: true }), w = T.randn([5, 3], { seed: 2, requiresGrad: true });
    const u = T.randn([4, 5], { seed: 3 });
    const xs = Array.from(x.dataSync()), us = Array.from(u.dataSync());
    await T.tidy(async () => {
      const y = T.linearTanh(x, w, u);
      await y.sum().backward();
    });
    expect(Array.from(x.dataSync())).toEqual(xs);
    expect(Array.from(u.dataSync())).toEqual(us);
    expect(x.grad!.shape).toEqual([4, 3]);
    T.zeroGrad([x, w]);
    for (const t of [x, w, u]) t.dispose();
    expect(T.memory().numTensors).toBe(before);
  });
});


describe('outputs allocated without zero-fill (allocUninit) are fully written', () => {
  it('after the wasm heap is dirtied with NaN, ops give the js results', async () => {
    const info = await T.init();
    expect(info.backend).toBe('wasm');
    T.setBackend('js');
    const wb = findBackend('wasm')!;
    expect(typeof wb.allocUninit).toBe('function');
    const s = wb.allocUninit!(7, 'float32');
    expect(s.size).toBe(7);
    wb.write(s, [1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(wb.readSync(s))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    wb.free(s);
    const run = async (backendName: 'js' | 'wasm', dirty: boolean) => {
      const be = findBackend(backendName)!;
      if (dirty) {
        // Freed blocks full of NaN: an output that skipped an element would show it.
        const blocks = [33, 100, 1000, 3 * 33, 17 * 33].map((n) => { const b = be.alloc(n, 'float32'); be.fill(b, NaN); return b; });
        for (const b of blocks) be.free(b);
      }
      return T.tidy(async () => {
        const o = { backend: be, requiresGrad: true };
        const x = T.randn([3, 17], { ...o, seed: 1 }), w = T.randn([33, 17], { ...o, seed: 2 }), u = T.randn([3, 33], { ...o, seed: 3 });
        const y = T.add(T.linearTanh(x, w, u), T.mul(T.tanh(T.matmul(x, T.transpose(w, 0, 1))), 2));
        const gs = await T.grad(y.sum(), [x, w, u]);
        return [y, ...gs].map((t) => Array.from(t!.dataSync()));
      });
    };
    const [want, got] = [await run('js', false), await run('wasm', true)];
    got.forEach((v, i) => {
      expect(v.some(Number.isNaN), `output ${i} has NaN`).toBe(false);
      assertClose(v, want[i], { rtol: 2e-5, atol: 2e-5 }, `output ${i}`);
    });
  });
});

describe('vjp pullbacks through one fused node (the planned single-node pass)', () => {
  it('match grad() for every call, with one and two inputs, and keep memory flat', async () => {
    const o = { dtype: 'float64' as const };
    const W = T.randn([5, 4], { ...o, seed: 1 }), inj = T.randn([3, 5], { ...o, seed: 2 });
    const z = T.randn([3, 4], { ...o, seed: 3 }), u = T.randn([3, 5], { ...o, seed: 4 });
    const [y1, pb1] = T.vjp((zz) => T.linearTanh(zz, W, inj), z);
    const [y2, pb2] = T.vjp((a, b) => T.addTanh(a, b), [u, inj]);
    const before = T.memory().numTensors;
    for (let s = 0; s < 3; s++) {
      const v = T.randn([3, 5], { ...o, seed: 10 + s });
      const [g1] = await pb1(v);
      const [ga, gb] = await pb2(v);
      // The same gradients through the general engine path.
      const ref = await T.tidy(async () => {
        const zl = z.detach().requireGrad(), ul = u.detach().requireGrad(), il = inj.detach().requireGrad();
        const [r1] = await T.grad(T.linearTanh(zl, W, inj), [zl], { gradOutputs: [v] });
        const [ra, rb] = await T.grad(T.addTanh(ul, il), [ul, il], { gradOutputs: [v] });
        return [r1, ra, rb].map((t) => Array.from(t!.dataSync()));
      });
      [g1, ga, gb].forEach((g, i) => assertClose(g.dataSync(), ref[i], { rtol: 1e-15, atol: 1e-15 }, `pullback ${i}, call ${s}`));
      for (const t of [g1, ga, gb, v]) t.dispose();
      expect(T.memory().numTensors).toBe(before);
    }
    // createGraph takes the general path and gives the same values.
    const v = T.randn([3, 5], { ...o, seed: 20 });
    const [gDirect] = await pb1(v);
    const [, pbGraph] = T.vjp((zz) => T.linearTanh(zz, W, inj), z, { createGraph: true });
    const [gGraph] = await pbGraph(v);
    assertClose(gGraph.dataSync(), gDirect.dataSync(), { rtol: 1e-15, atol: 1e-15 }, 'createGraph');
    await expect(pb1(T.zeros([2, 5], o))).rejects.toThrow(/vjp pullback: expected a cotangent of shape \[3, 5\], received \[2, 5\]/);
    for (const t of [gDirect, gGraph, v, y1, y2, W, inj, z, u]) t.dispose();
    for (const p of [pb1, pb2, pbGraph]) p.dispose();
  });
});
