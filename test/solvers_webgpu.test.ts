/**
 * Solvers on webgpu tensors (CPU adapter: SwiftShader through npm `webgpu`): every solver
 * agrees with the same solve on wasm to float32 tolerance (z, stats, status); the bookkeeping
 * stays on the device (stats are webgpu tensors); `GPUBuffer.prototype.mapAsync` is counted:
 * 0 maps for a tol-0 solve and for simple_fixed_point_iter, at most ceil(maxIter / checkEvery)
 * + 1 with a tolerance (the stop test), and the status is read only when asked for.
 */
import { padLike } from './helpers/trace.js';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor, SolverFunc, SolverResult } from '../src/index.js';
import { GPU_OBJECT, WEBGPU, WEBGPU_UNAVAILABLE } from './helpers/webgpu.js';
import { assertClose } from './helpers/tolerance.js';
import { prng } from './helpers/ref.js';
import { solverStatus } from '../src/solvers/status.js';
import { GPU_CHECK_EVERY } from '../src/solvers/options.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);
const F32 = { rtol: 2e-4, atol: 2e-5 };
const SOLVERS = ['fixed_point_iter', 'anderson', 'broyden', 'simple_fixed_point_iter', 'gmres'];

describe('webgpu adapter for the solver tests', () => {
  it('is found (the suite may not skip under CI)', () => {
    if (process.env.CI) expect(WEBGPU_UNAVAILABLE).toBeNull();
  });
});

/** z -> tanh(z A + b) with A scaled to a contraction, on `backend` (float32). */
function problem(d: number, B: number, seed: number, backend: string): SolverFunc<Tensor> {
  const u = prng(seed);
  const r = (): number => u() - 0.5;
  const A = T.keep(T.tensor(Array.from({ length: d * d }, () => r() * 1.2 / Math.sqrt(d)), [d, d], { backend }));
  const b = T.keep(T.tensor(Array.from({ length: B * d }, () => r() * 2), [B, d], { backend }));
  return (z) => T.tanh(T.add(T.matmul(z, A), b));
}

async function compare(g: SolverResult<Tensor>, c: SolverResult<Tensor>, what: string): Promise<void> {
  expect(g.z.backend.name).toBe('webgpu');
  assertClose(await g.z.data(), c.z.dataSync(), F32, `${what} z`);
  for (const k of ['absLowest', 'relLowest', 'absTrace', 'relTrace', 'nstep'] as const) {
    expect(g.stats[k].backend.name, `${what} ${k} stays on the device`).toBe('webgpu');
    // Host traces hold the steps run; device traces are cut at the stop the host read, so they
    // can only be wider where the host stops on a test the device cannot report without a read
    // (all-NaN with tol 0): compare the host trace padded the TorchDEQ way to the device's width.
    const trace = k === 'absTrace' || k === 'relTrace';
    const want = trace ? padLike(c.stats[k], c.stats[k === 'absTrace' ? 'absLowest' : 'relLowest'], g.stats[k].shape[1]) : Array.from(c.stats[k].dataSync());
    if (!trace) expect(g.stats[k].shape, `${what} ${k}`).toEqual(c.stats[k].shape);
    // Residuals near 1e-6 carry float32 noise of the same size on either backend.
    assertClose(await g.stats[k].data(), want, { rtol: 5e-3, atol: 2e-5 }, `${what} ${k}`);
  }
  expect(await solverStatus(g), `${what} status`).toEqual(c.status);
  expect(g.status, `${what} status after solverStatus`).toEqual(c.status);
}

/** Counts GPUBuffer mapAsync calls during `fn`. */
async function countMaps(fn: () => Promise<unknown>): Promise<number> {
  const probe = WEBGPU!.device.createBuffer({ size: 4, usage: 1 /* MAP_READ */ | 8 /* COPY_DST */ });
  const proto = Object.getPrototypeOf(probe) as { mapAsync: (...a: unknown[]) => Promise<void> };
  probe.destroy();
  const orig = proto.mapAsync;
  let maps = 0;
  proto.mapAsync = function (this: unknown, ...a: unknown[]) { maps++; return orig.apply(this, a); };
  try {
    await fn();
  } finally {
    proto.mapAsync = orig;
  }
  return maps;
}

run('solvers on webgpu', () => {
  beforeAll(async () => { await T.init({ gpu: GPU_OBJECT as object }); });

  for (const name of SOLVERS) {
    it(`${name} agrees with wasm in float32 (tol 0 and with an early stop)`, async () => {
      const fg = problem(17, 3, 5, 'webgpu'), fc = problem(17, 3, 5, 'wasm');
      const x0g = T.zeros([3, 17], { backend: 'webgpu' }), x0c = T.zeros([3, 17], { backend: 'wasm' });
      const solver = T.getSolver(name);
      for (const opts of [{ maxIter: 12, tol: 0 }, { maxIter: 40, tol: 1e-4 }]) {
        const g = await solver(fg, x0g, opts);
        const c = await solver(fc, x0c, opts);
        await compare(g, c, `${name} ${JSON.stringify(opts)}`);
      }
    });
  }

  it('broyden with lineSearch and gmres with a small restart agree with wasm (their searches and least squares stay on the device)', async () => {
    for (const [name, extra] of [['broyden', { lineSearch: true }], ['gmres', { restart: 3 }], ['gmres', { restart: 40 }]] as const) {
      for (const [B, d] of [[1, 3], [5, 33]]) {
        const fg = problem(d, B, 13 + d, 'webgpu'), fc = problem(d, B, 13 + d, 'wasm');
        const x0g = T.zeros([B, d], { backend: 'webgpu' }), x0c = T.zeros([B, d], { backend: 'wasm' });
        // Few steps at tol 0: past float32 round-off the lowest step is noise on either backend.
        for (const opts of [{ maxIter: 6, tol: 0 }, { maxIter: 40, tol: 1e-4, stopMode: 'rel' as const }]) {
          const g = await T.getSolver(name)(fg, x0g, { ...opts, ...extra });
          const c = await T.getSolver(name)(fc, x0c, { ...opts, ...extra });
          await compare(g, c, `${name} ${JSON.stringify({ ...opts, ...extra, B, d })}`);
        }
      }
    }
  });

  it('multi-tensor states, rel mode, damping, indexing and returnFinal agree with wasm', async () => {
    for (const name of ['fixed_point_iter', 'anderson']) {
      const mk = (be: string): SolverFunc<Tensor[]> => {
        const f = problem(5, 4, 9, be);
        return ([a, b]) => {
          const z = f(T.concat([a, b], 1).slice([0, 0], [4, 5]));
          return [z.slice([0, 0], [4, 2]), T.concat([z.slice([0, 2], [4, 3]), b.mul(0.5)], 1).slice([0, 0], [4, 3])];
        };
      };
      const x = (be: string): Tensor[] => [T.zeros([4, 2], { backend: be }), T.zeros([4, 3], { backend: be })];
      const opts = { maxIter: 25, tol: 1e-5, stopMode: 'rel' as const, tau: 0.9, indexing: [3, 7] };
      const g = await T.getSolver(name)(mk('webgpu'), x('webgpu'), opts);
      const c = await T.getSolver(name)(mk('wasm'), x('wasm'), opts);
      for (let i = 0; i < 2; i++) assertClose(await g.z[i].data(), c.z[i].dataSync(), F32, `${name} part ${i}`);
      expect(g.trajectory.length).toBe(c.trajectory.length);
      assertClose(await g.stats.nstep.data(), c.stats.nstep.dataSync(), { rtol: 0, atol: 0 }, `${name} nstep`);
      const gf = await T.getSolver(name)(mk('webgpu'), x('webgpu'), { maxIter: 9, returnFinal: true });
      const cf = await T.getSolver(name)(mk('wasm'), x('wasm'), { maxIter: 9, returnFinal: true });
      assertClose(await gf.z[0].data(), cf.z[0].dataSync(), F32, `${name} returnFinal`);
    }
  });

  it('a singular Anderson system (lam 0, repeated history) takes the fallback on the device like wasm', async () => {
    const f = (be: string): SolverFunc<Tensor> => (z) => T.mul(z, 0).add(T.tensor([[1, 2, 3]], undefined, { backend: be }));
    const g = await T.anderson(f('webgpu'), T.zeros([1, 3], { backend: 'webgpu' }), { maxIter: 8, tol: 0, lam: 0 });
    const c = await T.anderson(f('wasm'), T.zeros([1, 3], { backend: 'wasm' }), { maxIter: 8, tol: 0, lam: 0 });
    assertClose(await g.z.data(), c.z.dataSync(), F32, 'singular anderson');
    assertClose(await g.z.data(), [1, 2, 3], F32, 'fixed point');
  });

  it(`maps no buffer for tol 0 and simple_fixed_point_iter; at most ceil(maxIter / checkEvery) + 1 otherwise (default checkEvery ${GPU_CHECK_EVERY})`, async () => {
    const f = problem(17, 4, 7, 'webgpu');
    const x0 = T.zeros([4, 17], { backend: 'webgpu' });
    const variants: [string, string, object][] = [['fixed_point_iter', 'fixed_point_iter', {}], ['anderson', 'anderson', {}],
      ['broyden', 'broyden', {}], ['broyden lineSearch', 'broyden', { lineSearch: true }], ['gmres', 'gmres', {}],
      ['gmres restart 4', 'gmres', { restart: 4 }]];
    for (const [name, solver, extra] of variants) {
      let res: SolverResult<Tensor> | null = null;
      expect(await countMaps(async () => { res = await T.getSolver(solver)(f, x0, { maxIter: 30, tol: 0, ...extra }); }), `${name} tol 0`).toBe(0);
      expect(await countMaps(() => solverStatus(res!)), `${name} status read`).toBe(1);
      for (const checkEvery of [undefined, 1, 5]) {
        const k = checkEvery ?? GPU_CHECK_EVERY;
        const maps = await countMaps(() => T.getSolver(solver)(f, x0, { maxIter: 30, tol: 1e-30, checkEvery, ...extra }));
        expect(maps, `${name} checkEvery ${k}`).toBeGreaterThan(0);
        expect(maps, `${name} checkEvery ${k}`).toBeLessThanOrEqual(Math.ceil(30 / k) + 1);
      }
      // A solve that stops early still reads at most that many times, and stops.
      let stopped: SolverResult<Tensor> | null = null;
      const maps = await countMaps(async () => { stopped = await T.getSolver(solver)(f, x0, { maxIter: 100, tol: 1e-3, checkEvery: 4, ...extra }); });
      expect(maps).toBeLessThanOrEqual(Math.ceil(100 / 4) + 1);
      expect(await solverStatus(stopped!)).toEqual(['converged', 'converged', 'converged', 'converged']);
    }
    expect(await countMaps(() => T.simpleFixedPointIter(f, x0, { maxIter: 30, tol: 1e-3 })), 'simple_fixed_point_iter').toBe(0);
  });

  it("Broyden's fused step (Backend.broydenStep, 4 dispatches) cuts the dispatches per iteration by 15 against the composition", async () => {
    const be = T.zeros([1], { backend: 'webgpu' }).backend as unknown as { ctx: { dispatch: (...a: unknown[]) => void }; broydenStep?: unknown };
    const f = problem(17, 3, 21, 'webgpu');
    const x0 = T.zeros([3, 17], { backend: 'webgpu' });
    const perIteration = async (): Promise<number> => {
      const orig = be.ctx.dispatch;
      const counts: number[] = [];
      for (const maxIter of [10, 20]) {
        let n = 0;
        be.ctx.dispatch = function (this: unknown, ...a: unknown[]) { n++; return orig.apply(this, a); };
        try {
          await T.broyden(f, x0, { maxIter, tol: 0, memory: 30 });
        } finally {
          be.ctx.dispatch = orig;
        }
        counts.push(n);
      }
      return (counts[1] - counts[0]) / 10;
    };
    const fused = await perIteration();
    const fusedStep = be.broydenStep;
    be.broydenStep = undefined; // the solver composes the step from primitives
    let composed: number;
    try {
      composed = await perIteration();
    } finally {
      be.broydenStep = fusedStep;
      delete be.broydenStep; // back to the prototype's method
    }
    expect(composed - fused).toBe(15);
    const g = await T.broyden(f, x0, { maxIter: 6, tol: 0 });
    const c = await T.broyden(problem(17, 3, 21, 'wasm'), T.zeros([3, 17], { backend: 'wasm' }), { maxIter: 6, tol: 0 });
    await compare(g, c, 'fused broyden');
  });

  it('res.status on webgpu before solverStatus names the way to read it', async () => {
    const f = problem(3, 2, 1, 'webgpu');
    const res = await T.fixedPointIter(f, T.zeros([2, 3], { backend: 'webgpu' }), { maxIter: 5, tol: 0 });
    expect(() => res.status).toThrow(/fixed_point_iter: the status of a solve on the 'webgpu' backend is read from the device; use `await solverStatus\(res\)`/);
  });
});
