/**
 * Moving tensors and modules onto and off the webgpu backend: `t.to('webgpu')` (synchronous,
 * a write) and `await t.toAsync('wasm')` (a read), gradients flowing back across both moves,
 * `t.to('wasm')` from webgpu pointing to `toAsync`, float64 needing a dtype change, and
 * `Module.to('webgpu')` / `await Module.toAsync('wasm')` with the layer giving wasm's results.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { GPU_OBJECT, WEBGPU, WEBGPU_UNAVAILABLE } from './helpers/webgpu.js';
import { assertClose } from './helpers/tolerance.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);
const F32 = { rtol: 2e-5, atol: 2e-5 };

run('to() between wasm and webgpu', () => {
  beforeAll(async () => {
    if (process.env.CI) expect(WEBGPU_UNAVAILABLE).toBeNull();
    await T.init({ gpu: GPU_OBJECT as object });
  });

  it('wasm -> webgpu is differentiable: the gradient comes back to wasm', async () => {
    const x = T.tensor([1, -2, 3, 0.5], [4], { requiresGrad: true });
    expect(x.backend.name).toBe('wasm');
    const g = x.to('webgpu');
    expect(g.backend.name).toBe('webgpu');
    expect(g.requiresGrad).toBe(true);
    const loss = g.square().mul(g.tanh()).sum();
    await loss.backward();
    expect(x.grad!.backend.name).toBe('wasm');
    const want = [1, -2, 3, 0.5].map((v) => 2 * v * Math.tanh(v) + v * v * (1 - Math.tanh(v) ** 2));
    assertClose(x.grad!.dataSync(), want, F32, 'd/dx through to(webgpu)');
    expect(x.to('webgpu', 'float32').backend.name).toBe('webgpu');
  });

  it('webgpu -> wasm with toAsync is differentiable: the gradient goes back to webgpu', async () => {
    const g = T.tensor([0.5, 1.5, -1], [3], { backend: 'webgpu', requiresGrad: true });
    const c = await g.toAsync('wasm');
    expect(c.backend.name).toBe('wasm');
    expect(Array.from(c.dataSync())).toEqual([0.5, 1.5, -1]);
    const loss = c.exp().sum();
    await loss.backward();
    expect(g.grad!.backend.name).toBe('webgpu');
    assertClose(await g.grad!.data(), [0.5, 1.5, -1].map(Math.exp), F32, 'd/dg through toAsync(wasm)');
    expect(await g.toAsync('webgpu')).toBe(g);
  });

  it('to() off webgpu throws and points to toAsync; float64 onto webgpu is an error', () => {
    const g = T.tensor([1, 2], [2], { backend: 'webgpu' });
    expect(() => g.to('wasm')).toThrow(/toAsync/);
    const d = T.tensor([1, 2], [2], { dtype: 'float64' });
    expect(() => d.to('webgpu')).toThrow(/float64.*not supported.*wasm/);
    const f = d.to('webgpu', 'float32');
    expect(f.dtype).toBe('float32');
    expect(f.backend.name).toBe('webgpu');
  });

  it('Module.to(webgpu) runs the layer on the GPU with wasm results; toAsync brings it back', async () => {
    const lin = new T.nn.Linear(17, 5, { seed: 3 });
    const x = T.randn([3, 17], { seed: 4 });
    const want = lin.forward(x).dataSync();
    lin.to('webgpu');
    for (const p of lin.parameters()) expect(p.backend.name).toBe('webgpu');
    const y = lin.forward(x.to('webgpu'));
    assertClose(await y.data(), want, F32, 'Linear on webgpu vs wasm');
    await lin.toAsync('wasm');
    for (const p of lin.parameters()) expect(p.backend.name).toBe('wasm');
    assertClose(lin.forward(x).dataSync(), want, F32, 'Linear back on wasm');
  });
});
