/**
 * clipGradNorm on the webgpu backend (float32 only: WGSL has no f64): the norm is accumulated in
 * float32 there (torch accumulates in the gradients' dtype too) and equals the wasm result to
 * float32 tolerance; the gradients are scaled the same way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { GPU_OBJECT, WEBGPU, WEBGPU_UNAVAILABLE } from './helpers/webgpu.js';
import { assertClose } from './helpers/tolerance.js';
import { prng } from './helpers/ref.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);

describe('webgpu adapter for clipGradNorm', () => {
  it('is found (the suite may not skip under CI)', () => {
    if (process.env.CI) expect(WEBGPU_UNAVAILABLE).toBeNull();
  });
});

run('clipGradNorm on webgpu', () => {
  beforeAll(async () => { await T.init({ gpu: GPU_OBJECT as object }); });

  for (const normType of [2, 1, 3, Infinity]) {
    it(`normType ${normType}: same norm and clipped gradients as wasm (float32)`, async () => {
      const u = prng(7);
      const vals = [Array.from({ length: 17 * 3 }, () => u() - 0.5), Array.from({ length: 5 }, () => 3 * (u() - 0.5))];
      const results: { norm: number; grads: number[][] }[] = [];
      for (const backend of ['wasm', 'webgpu']) {
        const ps = [T.zeros([17, 3], { backend }).requireGrad(), T.zeros([5], { backend }).requireGrad()];
        const loss = T.add(T.sum(T.mul(ps[0], T.tensor(vals[0], [17, 3], { backend }))),
          T.sum(T.mul(ps[1], T.tensor(vals[1], [5], { backend }))));
        await loss.backward();
        const norm = T.optim.clipGradNorm(ps, 0.5, { normType });
        expect(norm.backend.name).toBe(backend);
        expect(norm.dtype).toBe('float32');
        results.push({ norm: (await norm.data())[0], grads: await Promise.all(ps.map(async (p) => Array.from(await p.grad!.data()))) });
      }
      const expected = normType === Infinity
        ? Math.max(...vals.flat().map(Math.abs))
        : Math.pow(vals.flat().reduce((s, v) => s + Math.pow(Math.abs(v), normType), 0), 1 / normType);
      expect(Math.abs(results[1].norm - expected)).toBeLessThan(1e-5 * expected);
      assertClose(results[1].norm, results[0].norm, { rtol: 1e-5, atol: 0 });
      for (let i = 0; i < 2; i++) assertClose(results[1].grads[i], results[0].grads[i], { rtol: 1e-5, atol: 1e-7 });
      // Clipped: the joint norm of the gradients is now maxNorm (0.5) up to the 1e-6 guard.
      const after = normType === Infinity
        ? Math.max(...results[1].grads.flat().map(Math.abs))
        : Math.pow(results[1].grads.flat().reduce((s, v) => s + Math.pow(Math.abs(v), normType), 0), 1 / normType);
      expect(Math.abs(after - 0.5)).toBeLessThan(1e-4);
    });
  }

  it('float64 on webgpu is still refused with the backend\'s message', () => {
    expect(() => T.zeros([2], { backend: 'webgpu', dtype: 'float64' })).toThrow(/webgpu backend: float64 tensors are not supported/);
  });
});
