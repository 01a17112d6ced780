/**
 * init({ dtypes: ['float32'] }): the float32-only build of the WASM module (tsdeq-*-f32.wasm),
 * which pages load to download less. Where threads are impossible (a page that is not
 * cross-origin isolated; here `crossOriginIsolated = false`) it loads that build and computes
 * exactly what the full build computes in float32 (its kernels are the same code), a whole DEQ
 * training step included; float64 tensors on it throw a clear error and leave the library
 * working; float64 stays available on the js backend. Where threads are possible the
 * shared-memory build (both dtypes) runs as before. Modules passed by hand are checked against
 * `dtypes`. Each case imports a fresh copy of the library.
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { wasmUrl } from '../src/wasm_urls.js';
import { createWasmBackend } from '../src/backend/wasm_loader.js';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

type Lib = typeof import('../src/index.js');
const file = (name: string): Uint8Array => readFileSync(new URL(`../build/wasm/${name}`, import.meta.url));
const g = globalThis as { crossOriginIsolated?: boolean };

async function fresh(): Promise<Lib> {
  vi.resetModules();
  return import('../src/index.js');
}

afterEach(() => {
  delete g.crossOriginIsolated;
});

/** One DEQ training step (Anderson + IFT, layer norm, cross entropy, clipGradNorm, Adam) on the current backend. */
async function trainStep(T: Lib): Promise<{ loss: number; norm: number; weights: number[][] }> {
  const inj = new T.nn.Linear(17, 33, { seed: 0 });
  const cell = new T.nn.Linear(33, 33, { bias: false, seed: 1 });
  const head = new T.nn.Linear(33, 3, { seed: 2 });
  const params = [...inj.parameters(), ...cell.parameters(), ...head.parameters()];
  const opt = new T.optim.Adam(params, { lr: 1e-2 });
  const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 12, fTol: 1e-4, ift: true, bMaxIter: 12, bFailure: 'ignore' });
  const x = T.randn([5, 17], { seed: 3 });
  const u = inj.forward(x);
  const f = (z: InstanceType<typeof T.Tensor>) => T.tanh(T.layerNorm(T.add(T.linear(z, cell.weight), u), [33]));
  const { zOut } = await deq.forward(f, T.zeros([5, 33]));
  const loss = T.crossEntropy(head.forward(zOut[0]), [0, 1, 2, 1, 0]);
  await loss.backward();
  const norm = T.optim.clipGradNorm(params, 0.5);
  opt.step();
  return { loss: loss.item(), norm: norm.item(), weights: params.map((p) => Array.from(p.dataSync())) };
}

describe("init({ dtypes: ['float32'] })", () => {
  it('the float32-only builds are separate files next to the full ones', () => {
    expect(wasmUrl('relaxed', false, true).href).toMatch(/\/build\/wasm\/tsdeq-relaxed-f32\.wasm$/);
    expect(wasmUrl('simd', false, true).href).toMatch(/\/build\/wasm\/tsdeq-simd-f32\.wasm$/);
    expect(wasmUrl('simd', true, true).href).toMatch(/\/build\/wasm\/tsdeq-simd-threads\.wasm$/); // no float32-only shared build
    expect(file('tsdeq-relaxed-f32.wasm').length).toBeLessThan(0.7 * file('tsdeq-relaxed.wasm').length);
  });

  it.each(['simd', 'relaxed'] as const)('on one thread loads the float32-only %s build; a DEQ training step gives bit for bit what the full build gives', async (variant) => {
    g.crossOriginIsolated = false; // as on a page without COOP/COEP: no threads
    const T = await fresh();
    const info = await T.init({ dtypes: ['float32'], variant });
    expect(info).toMatchObject({ backend: 'wasm', variant, dtypes: ['float32'] });
    expect(info.message).toMatch(/, float32-only build$/);
    expect(T.getBackend().dtypes).toEqual(['float32']);
    const got = await trainStep(T);
    // the same step on the full build of the same variant, in the same process
    T.registerBackend('full', await createWasmBackend(file(`tsdeq-${variant}.wasm`)));
    T.setBackend('full');
    const want = await trainStep(T);
    expect(got).toEqual(want);
    expect(Number.isFinite(got.loss) && got.norm > 0).toBe(true);
    // and on js, to tolerance (different summation orders)
    T.setBackend('js');
    const ref = await trainStep(T);
    expect(got.loss).toBeCloseTo(ref.loss, 4);
  });

  it('float64 on the float32-only build throws a clear error and the library keeps working; js still takes float64', async () => {
    g.crossOriginIsolated = false;
    const T = await fresh();
    await T.init({ dtypes: ['float32'] });
    const before = T.memory();
    const x = T.tensor([1, 2, 3]);
    expect(() => T.tensor([1, 2], undefined, { dtype: 'float64' })).toThrow(/^wasm backend: float64 tensors are not available: this instance runs the float32-only build of the module/);
    expect(() => T.cast(x, 'float64')).toThrow(/float32-only build.*keep float64 tensors on the js backend/);
    expect(() => x.to('float64')).toThrow(/float32-only build/);
    const y = T.tensor([1, 2], undefined, { dtype: 'float64', backend: 'js' });
    T.tidy(() => {
      expect(Array.from(T.mul(y, 2).dataSync())).toEqual([2, 4]);
      expect(Array.from(T.add(x, 1).dataSync())).toEqual([2, 3, 4]);
    });
    x.dispose();
    y.dispose();
    expect(T.memory()).toEqual(before);
  });

  it('where threads are possible, the shared-memory build runs as usual (both dtypes): threads are not traded for bytes', async () => {
    const T = await fresh();
    const info = await T.init({ dtypes: ['float32'] });
    expect(info.dtypes).toEqual(['float32', 'float64']);
    expect(info.message).not.toMatch(/float32-only/);
    expect(T.getBackend().dtypes).toEqual(['float32', 'float64']);
    expect(T.tensor([1], undefined, { dtype: 'float64' }).exp().item()).toBeCloseTo(Math.E, 14);
  });

  it("dtypes: ['float32', 'float64'] (or ['float64']) loads the full build", async () => {
    g.crossOriginIsolated = false;
    for (const dtypes of [['float32', 'float64'], ['float64']] as const) {
      const T = await fresh();
      expect(await T.init({ dtypes })).toMatchObject({ dtypes: ['float32', 'float64'] });
      expect(T.tensor([2], undefined, { dtype: 'float64' }).sqrt().item()).toBe(Math.SQRT2);
    }
  });

  it('a float32-only module passed by hand runs as such, and is refused when dtypes asks for float64 (a failed init can be retried)', async () => {
    const T = await fresh();
    const info = await T.init(await WebAssembly.compile(file('tsdeq-simd-f32.wasm') as BufferSource));
    expect(info).toMatchObject({ backend: 'wasm', variant: 'simd', dtypes: ['float32'] });
    expect(() => T.zeros([2], { dtype: 'float64' })).toThrow(/float32-only build/);
    const T2 = await fresh();
    await expect(T2.init({ simd: file('tsdeq-simd-f32.wasm'), variant: 'simd', dtypes: ['float32', 'float64'] }))
      .rejects.toThrow(/^init: option 'dtypes' asks for float64, but the module given is a float32-only build \(tsdeq-\*-f32\.wasm\); pass a full build/);
    expect(T2.getBackend().name).toBe('js');
    expect(await T2.init({ simd: file('tsdeq-simd.wasm'), variant: 'simd', dtypes: ['float32', 'float64'] })).toMatchObject({ dtypes: ['float32', 'float64'] });
  });
});
