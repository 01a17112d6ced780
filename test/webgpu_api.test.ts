/**
 * The webgpu backend through the public API: `init({ gpu })` and what it reports, tensors
 * placed on 'webgpu', asynchronous reads, memory accounting, autograd through webgpu tensors
 * against the same computation on wasm, and the errors: float64, synchronous reads, a buffer
 * over the binding limit, a lost device (and a new device from `init({ gpu })` afterwards),
 * a `gpu` option of the wrong kind.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { findBackend } from '../src/backend/registry.js';
import { createWebGpuBackend } from '../src/backend/webgpu/setup.js';
import type { WebGpuBackend } from '../src/backend/webgpu/backend.js';
import { GPU_OBJECT, WEBGPU, WEBGPU_UNAVAILABLE } from './helpers/webgpu.js';
import { assertClose } from './helpers/tolerance.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);
const F32 = { rtol: 2e-5, atol: 2e-5 };

describe('webgpu adapter for the API tests', () => {
  it('is found (the suite may not skip under CI)', () => {
    if (process.env.CI) expect(WEBGPU_UNAVAILABLE).toBeNull();
  });
});

run('webgpu through the public API', () => {
  beforeAll(async () => { await T.init({ gpu: GPU_OBJECT as object }); });
  it('init({ gpu }) registers webgpu, reports the adapter, and keeps wasm the default', async () => {
    const info = await T.init({ gpu: GPU_OBJECT as object });
    expect(info.backend).toBe('wasm');
    expect(T.getBackend().name).toBe('wasm');
    expect(info.webgpu.available).toBe(true);
    expect(info.webgpu.adapter!.isFallbackAdapter).toBe(true); // SwiftShader: a CPU adapter
    expect(info.webgpu.adapter!.architecture).toMatch(/swiftshader/i);
    expect(T.listBackends()).toContain('webgpu');
    const again = await T.init();
    expect(again.webgpu.available).toBe(true);
  });

  it("the device gets the adapter's limits, not WebGPU's defaults", async () => {
    const adapter = await (GPU_OBJECT as GPU).requestAdapter();
    const be = findBackend('webgpu') as WebGpuBackend;
    for (const name of ['maxStorageBufferBindingSize', 'maxStorageBuffersPerShaderStage', 'maxBufferSize'] as const) {
      expect(be.device.limits[name], name).toBe(adapter!.limits[name]);
    }
    expect(be.device.limits.maxStorageBufferBindingSize).toBeGreaterThan(128 * 1024 * 1024); // SwiftShader: 1 GiB
  });

  it("setBackend('webgpu') makes it the default for new tensors", async () => {
    T.setBackend('webgpu');
    try {
      const t = T.ones([3]).mul(2);
      expect(t.backend.name).toBe('webgpu');
      expect(Array.from(await t.data())).toEqual([2, 2, 2]);
    } finally {
      T.setBackend('wasm');
    }
  });

  it('an uncaptured GPU error surfaces as an error from the next call (then the backend works again)', async () => {
    const { backend } = await createWebGpuBackend(GPU_OBJECT, 'test');
    const be = backend as WebGpuBackend;
    be.device.createBuffer({ size: 4, usage: 0 }); // invalid outside any error scope
    await new Promise((r) => setTimeout(r, 50));
    await be.device.queue.onSubmittedWorkDone();
    expect(() => be.alloc(4, 'float32')).toThrow(/uncaptured GPU error/);
    const s = be.alloc(2, 'float32');
    be.write(s, [5, 6]);
    expect(Array.from(await be.readAsync(s))).toEqual([5, 6]);
    be.device.destroy();
  });

  it('init rejects a gpu option that is not a GPU, adapter or device', async () => {
    await expect(T.init({ gpu: { foo: 1 } })).rejects.toThrow(/init: option 'gpu': expected a GPU .*GPUAdapter or a GPUDevice/);
  });

  it('tensors on webgpu: ops, broadcasting, reductions and matmul agree with wasm', async () => {
    await T.init({ gpu: GPU_OBJECT as object });
    const xs = Array.from({ length: 3 * 17 }, (_, i) => Math.sin(i) * 2);
    const ws = Array.from({ length: 17 * 5 }, (_, i) => Math.cos(i * 0.7));
    const f = (be: string): T.Tensor => T.tidy(() => {
      const x = T.tensor(xs, [3, 17], { backend: be });
      const w = T.tensor(ws, [17, 5], { backend: be });
      const h = x.matmul(w).tanh().add(T.tensor([1, 2, 3, 4, 5], [5], { backend: be }));
      return T.softmax(h, 1).mul(h.sum(1, { keepDims: true })).sub(h.max(0)).exp().mean(0);
    });
    const g = f('webgpu'), c = f('wasm');
    expect(g.backend.name).toBe('webgpu');
    assertClose(await g.data(), c.dataSync(), F32, 'composite op on webgpu vs wasm');
    g.dispose();
    c.dispose();
  });

  it('float64 on webgpu is a clear error pointing to wasm', () => {
    expect(() => T.tensor([1, 2], [2], { dtype: 'float64', backend: 'webgpu' })).toThrow(/float64.*not supported.*'wasm' backend/);
    const x = T.tensor([1, 2], [2], { backend: 'webgpu' });
    expect(() => x.cast('float64')).toThrow(/float64.*wasm/);
    x.dispose();
  });

  it('synchronous reads throw and name await t.data()', async () => {
    const x = T.tensor([1, 2, 3], [3], { backend: 'webgpu' });
    expect(() => x.dataSync()).toThrow(/dataSync: .*'webgpu' backend.*await t\.data\(\)/);
    expect(() => x.toArray()).toThrow(/toArray: .*await t\.data\(\)/);
    expect(() => x.sum().item()).toThrow(/item: .*await t\.data\(\)/);
    expect(Array.from(await x.data())).toEqual([1, 2, 3]);
    x.dispose();
  });

  it('memory() counts webgpu bytes; dispose and tidy free them', () => {
    const before = T.memory().backends.webgpu;
    const x = T.zeros([100], { backend: 'webgpu' });
    expect(T.memory().backends.webgpu).toBe(before + 400);
    const y = T.tidy(() => x.add(1).mul(3).exp());
    expect(T.memory().backends.webgpu).toBe(before + 800);
    y.dispose();
    expect(T.memory().backends.webgpu).toBe(before + 400);
    x.dispose();
    expect(T.memory().backends.webgpu).toBe(before);
  });

  it('autograd through webgpu tensors matches wasm gradients', async () => {
    const xs = Array.from({ length: 4 * 33 }, (_, i) => Math.sin(i * 1.3));
    const ws = Array.from({ length: 33 * 17 }, (_, i) => Math.cos(i * 0.3) * 0.2);
    const grads = async (be: string): Promise<number[][]> => {
      const x = T.tensor(xs, [4, 33], { backend: be, requiresGrad: true });
      const w = T.tensor(ws, [33, 17], { backend: be, requiresGrad: true });
      const loss = T.tidy(() => x.matmul(w).tanh().square().sum().add(T.logSoftmax(x, 1).mean()));
      await loss.backward();
      const out = [Array.from(await x.grad!.data()), Array.from(await w.grad!.data())];
      for (const t of [x, w, loss, x.grad!, w.grad!]) t.dispose();
      return out;
    };
    const [g, c] = [await grads('webgpu'), await grads('wasm')];
    assertClose(g[0], c[0], F32, 'dx webgpu vs wasm');
    assertClose(g[1], c[1], F32, 'dw webgpu vs wasm');
  });

  it('a tensor over the device binding limit is a clear error', async () => {
    const adapter = await (GPU_OBJECT as GPU).requestAdapter();
    const device = await adapter!.requestDevice(); // WebGPU default limits: 128 MiB per binding
    const { backend } = await createWebGpuBackend(device, 'test');
    const limit = device.limits.maxStorageBufferBindingSize;
    expect(() => backend!.alloc(limit / 4 + 1, 'float32')).toThrow(/exceeds this device's storage binding limit of \d+ bytes \(maxStorageBufferBindingSize\)/);
    // Every kernel also fits the default limits (8 storage buffers per stage at most).
    expect(device.limits.maxStorageBuffersPerShaderStage).toBe(8);
    const be = backend!;
    const B = 3, D = 17, m = 4;
    const mk = (n: number, v: number): ReturnType<typeof be.alloc> => { const s = be.alloc(n, 'float32'); be.fill(s, v); return s; };
    const [f, x, X, F, G, gram, norms, out] = [mk(B * D, 0.5), mk(B * D, 0.25), mk(B * m * D, 0), mk(B * m * D, 0), mk(B * m * D, 0), mk(B * m * m, 0), mk(2 * B, 0), mk(B * D, 0)];
    be.andersonRecord(x, f, X, F, G, gram, norms, 1, B, m, D);
    be.fixedPointStep(f, x, 0.5, out, norms, B, D);
    be.broydenAdvance(f, x, out, f, X, F, G, norms, B, D);
    be.matmul(X, G, gram, { batch: B, m, n: m, k: D, transA: false, transB: true, strideA: m * D, strideB: m * D });
    const want = Array.from({ length: 2 * B }, (_, i) => Math.sqrt(D * (i < B ? 0.25 * 0.25 : 0.5 * 0.5)));
    assertClose(await be.readAsync(norms), want, { rtol: 1e-6, atol: 0 }, 'broydenAdvance norms on a default-limits device');
    for (const s of [f, x, X, F, G, gram, norms, out]) be.free(s);
    device.destroy();
  });

  it('a lost device: later calls say so and why; init({ gpu }) starts a new device', async () => {
    const { backend } = await createWebGpuBackend(GPU_OBJECT, 'test');
    const be = backend as WebGpuBackend;
    const s = be.alloc(4, 'float32');
    be.write(s, [1, 2, 3, 4]);
    expect(Array.from(await be.readAsync(s))).toEqual([1, 2, 3, 4]);
    be.device.destroy();
    await expect(be.readAsync(s)).rejects.toThrow(/device was lost \(reason 'destroyed'.*init\(\{ gpu \}\)/);
    expect(() => be.alloc(4, 'float32')).toThrow(/device was lost/);
    expect(() => be.unary('exp', s, s)).toThrow(/device was lost/);
    // The registered backend is a different device and keeps working; a new one can be started.
    await T.init({ gpu: GPU_OBJECT as object });
    const fresh = findBackend('webgpu')!;
    const t = T.tensor([1, 2], [2], { backend: fresh });
    expect(Array.from(await t.mul(2).data())).toEqual([2, 4]);
    t.dispose();
  });
});
