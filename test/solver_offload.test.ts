/**
 * `offload` on direct solver calls (src/offload/solve.ts): a solve of a wasm state runs on
 * webgpu (CPU adapter here) and returns z, trajectory and stats on wasm with the status read,
 * equal to the wasm solve to float32 tolerance, for every built-in solver; the tensors func
 * touches are uploaded once per version; 'auto' and 'none' change nothing on a fallback
 * adapter; option errors; the writer gets the wasm stats; nothing is left on the GPU.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor, SolverFunc, SolverResult } from '../src/index.js';
import { GPU_OBJECT, WEBGPU, WEBGPU_UNAVAILABLE } from './helpers/webgpu.js';
import { assertClose } from './helpers/tolerance.js';
import { prng } from './helpers/ref.js';
import { solverOffloadCache } from '../src/offload/solve.js';
import { padLike } from './helpers/trace.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);
const F32 = { rtol: 5e-4, atol: 5e-5 };

describe('webgpu adapter for the solver offload tests', () => {
  it('is found (the suite may not skip under CI)', () => {
    if (process.env.CI) expect(WEBGPU_UNAVAILABLE).toBeNull();
  });
});

function problem(d: number, B: number, seed: number): { f: SolverFunc<Tensor>; A: Tensor; b: Tensor } {
  const u = prng(seed);
  const r = (): number => u() - 0.5;
  const A = T.keep(T.tensor(Array.from({ length: d * d }, () => r() * 1.2 / Math.sqrt(d)), [d, d], { backend: 'wasm' }));
  const b = T.keep(T.tensor(Array.from({ length: B * d }, () => r() * 2), [B, d], { backend: 'wasm' }));
  return { f: (z) => T.tanh(T.add(T.matmul(z, A), b)), A, b };
}


run('offload on direct solver calls', () => {
  beforeAll(async () => { await T.init({ gpu: GPU_OBJECT as object }); });

  for (const name of ['fixed_point_iter', 'anderson', 'broyden', 'simple_fixed_point_iter', 'gmres']) {
    it(`${name}: offload 'webgpu' equals the wasm solve, with everything back on wasm`, async () => {
      const { f } = problem(17, 3, 4);
      const x0 = T.zeros([3, 17], { backend: 'wasm' });
      const opts = { maxIter: 6, tol: 0, indexing: [2, 4] };
      const want = await T.getSolver(name)(f, x0, opts);
      let seen: unknown = null;
      const got: SolverResult<Tensor> = await T.getSolver(name)(f, x0, { ...opts, offload: 'webgpu', writer: (s) => { seen = s; } });
      expect(got.z.backend.name).toBe('wasm');
      assertClose(got.z.dataSync(), want.z.dataSync(), F32, `${name} z`);
      expect(got.status).toEqual(want.status);
      expect(seen).toBe(got.stats);
      expect(got.trajectory.length).toBe(want.trajectory.length);
      for (let i = 0; i < got.trajectory.length; i++) {
        expect(got.trajectory[i].backend.name).toBe('wasm');
        assertClose(got.trajectory[i].dataSync(), want.trajectory[i].dataSync(), F32, `${name} trajectory ${i}`);
      }
      for (const k of ['absLowest', 'relLowest', 'nstep', 'absTrace'] as const) {
        expect(got.stats[k].backend.name, k).toBe('wasm');
        const w = k === 'absTrace' ? padLike(want.stats.absTrace, want.stats.absLowest, got.stats.absTrace.shape[1]) : Array.from(want.stats[k].dataSync());
        assertClose(got.stats[k].dataSync(), w, { rtol: 5e-3, atol: 2e-5 }, `${name} ${k}`);
      }
    });
  }

  it('multi-tensor states and an early stop come back too; status without solverStatus', async () => {
    const { f } = problem(6, 2, 8);
    const g = ([a, c]: Tensor[]): Tensor[] => { const z = f(T.concat([a, c], 1)); return [z.slice([0, 0], [2, 2]), z.slice([0, 2], [2, 4])]; };
    const x0 = [T.zeros([2, 2], { backend: 'wasm' }), T.zeros([2, 4], { backend: 'wasm' })];
    const want = await T.anderson(g, x0, { maxIter: 40, tol: 1e-4 });
    const got = await T.anderson(g, x0, { maxIter: 40, tol: 1e-4, offload: 'webgpu' });
    for (let i = 0; i < 2; i++) {
      expect(got.z[i].backend.name).toBe('wasm');
      assertClose(got.z[i].dataSync(), want.z[i].dataSync(), F32, `part ${i}`);
    }
    expect(got.status).toEqual(['converged', 'converged']);
  });

  it('uploads each tensor func touches once per version; leaves nothing on the GPU', async () => {
    const { f, A } = problem(9, 2, 12);
    const x0 = T.zeros([2, 9], { backend: 'wasm' });
    const probe = T.zeros([1], { backend: 'webgpu' });
    const gpu = probe.backend;
    probe.dispose();
    const gpuBytes = (): number => gpu.liveBytes();
    const cache = solverOffloadCache(gpu);
    const before = cache.uploads;
    const r1 = await T.fixedPointIter(f, x0, { maxIter: 10, tol: 0, offload: 'webgpu' });
    expect(cache.uploads - before).toBe(2); // A and b, once for 10 iterations
    const bytes = gpuBytes();
    const r2 = await T.fixedPointIter(f, x0, { maxIter: 10, tol: 0, offload: 'webgpu' });
    expect(cache.uploads - before).toBe(2); // unchanged: reused
    expect(gpuBytes()).toBe(bytes); // the solve's own GPU tensors are freed
    assertClose(r2.z.dataSync(), r1.z.dataSync(), { rtol: 0, atol: 0 }, 'same solve');
    const W = T.keep(T.mul(A, 1));
    await T.fixedPointIter((z) => T.tanh(T.matmul(z, W)), x0, { maxIter: 3, tol: 0, offload: 'webgpu' });
    expect(cache.uploads - before).toBe(3); // a new tensor: one upload
  });

  it("'auto' and 'none' run on wasm on a fallback adapter (bit for bit); errors name the solver and option", async () => {
    const { f } = problem(5, 2, 3);
    const x0 = T.zeros([2, 5], { backend: 'wasm' });
    const ref = await T.broyden(f, x0, { maxIter: 8, tol: 0 });
    for (const offload of ['auto', 'none'] as const) {
      const r = await T.broyden(f, x0, { maxIter: 8, tol: 0, offload });
      expect(Array.from(r.z.dataSync())).toEqual(Array.from(ref.z.dataSync()));
    }
    await expect(T.anderson(f, x0, { offload: 'gpu' as never })).rejects.toThrow("anderson: option 'offload' expected one of 'none', 'auto', 'webgpu', received \"gpu\"");
    const x64 = T.zeros([2, 5], { backend: 'wasm', dtype: 'float64' });
    await expect(T.gmres((z) => z.mul(0.5), x64, { offload: 'webgpu' })).rejects.toThrow(/gmres: offload 'webgpu' needs a float32 state/);
    await expect(T.fixedPointIter(async (z) => z.mul(0.5), x0, { offload: 'webgpu' })).rejects.toThrow(/fixed_point_iter: offload needs a synchronous func/);
    await expect(T.anderson(f, x0, { offload: 'webgpu', nope: 1 } as never)).rejects.toThrow(/anderson: unknown option 'nope'/);
    // The library still works after the errors.
    const again = await T.anderson(f, x0, { maxIter: 5, tol: 0, offload: 'webgpu' });
    expect(again.z.backend.name).toBe('wasm');
  });
});
