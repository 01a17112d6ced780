/**
 * Offload (getDeq({ offload }), solverKwargs.offload): a model whose tensors live on wasm runs
 * its solves and backward on webgpu (CPU adapter here) and gets the same training step as a
 * wasm-only run, with its gradients on its own wasm tensors; parameter copies on the GPU are
 * uploaded once and again only after the parameter changed; 'auto' never offloads on a
 * fallback (CPU) adapter nor below the crossover; option errors; and a model moved to webgpu
 * (`model.to('webgpu')`) trains there with no offload.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { GPU_OBJECT, WEBGPU, WEBGPU_UNAVAILABLE } from './helpers/webgpu.js';
import { assertClose } from './helpers/tolerance.js';
import { prng } from './helpers/ref.js';
import { OFFLOAD_AUTO_MIN_ELEMENTS, offloadTarget } from '../src/offload/offload.js';
import { findBackend } from '../src/backend/registry.js';
import type { Backend } from '../src/backend/backend.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);
const TOL = { rtol: 5e-4, atol: 5e-5 };

describe('webgpu adapter for the offload tests', () => {
  it('is found (the suite may not skip under CI)', () => {
    if (process.env.CI) expect(WEBGPU_UNAVAILABLE).toBeNull();
  });
});

/** A DEQ cell z = tanh(z W^T + x U^T + b) as a Module, on `backend`. */
class Cell extends T.nn.Module {
  W: Tensor; U: Tensor; b: Tensor;
  constructor(d: number, din: number, backend: string) {
    super();
    const u = prng(d * 7 + din);
    const r = (n: number, s: number): number[] => Array.from({ length: n }, () => (u() - 0.5) * s);
    this.W = this.registerParameter('W', T.tensor(r(d * d, 1.2 / Math.sqrt(d)), [d, d], { backend }))!;
    this.U = this.registerParameter('U', T.tensor(r(d * din, 2 / Math.sqrt(din)), [d, din], { backend }))!;
    this.b = this.registerParameter('b', T.tensor(r(d, 0.2), [d], { backend }))!;
  }
  forward(): never { throw new Error('unused'); }
}

interface StepOut { z: number[]; loss: number; gW: number[]; gU: number[]; gb: number[]; W1: number[]; nstep: number[] }

async function trainStep(cell: Cell, deq: ReturnType<typeof T.getDeq>, backend: string, kw: Record<string, unknown> = {}): Promise<StepOut> {
  const B = 4, d = cell.W.shape[0], din = cell.U.shape[1];
  const u = prng(99);
  const x = T.tensor(Array.from({ length: B * din }, () => u() - 0.5), [B, din], { backend });
  const target = T.tensor(Array.from({ length: B * d }, () => (u() - 0.5) * 0.5), [B, d], { backend });
  const inj = T.add(T.linear(x, cell.U), cell.b);
  const f = (z: Tensor): Tensor => T.tanh(T.add(T.linear(z, cell.W), inj));
  const out = await deq.forward(f, T.zeros([B, d], { backend }), { solverKwargs: kw });
  const z = out.zOut[out.zOut.length - 1] as Tensor;
  expect(z.backend.name, 'the output comes back to the model backend').toBe(backend);
  for (const t of Object.values(out.info)) if (t instanceof T.Tensor) expect(t.backend.name).toBe(backend);
  const loss = T.square(T.sub(z, target)).mean();
  const opt = new T.optim.Adam(cell.parameters(), { lr: 1e-2 });
  opt.zeroGrad();
  await loss.backward();
  for (const p of [cell.W, cell.U, cell.b]) expect(p.grad!.backend.name, 'gradients land on the model tensors').toBe(backend);
  const res: StepOut = {
    z: Array.from(await z.data()), loss: (await loss.data())[0],
    gW: Array.from(await cell.W.grad!.data()), gU: Array.from(await cell.U.grad!.data()), gb: Array.from(await cell.b.grad!.data()),
    W1: [], nstep: Array.from(await out.info.nstep.data()),
  };
  await opt.step();
  res.W1 = Array.from(await cell.W.data());
  return res;
}

/** Counts webgpu writes of exactly `size` elements during `fn`. */
async function countUploads(size: number, fn: () => Promise<unknown>): Promise<number> {
  const be = WEBGPU!;
  const gpu = findBackend('webgpu')!;
  const orig = gpu.write.bind(gpu);
  let n = 0;
  gpu.write = (s, src, off) => { if (src.length === size) n++; return orig(s, src, off); };
  try { await fn(); } finally { gpu.write = orig; }
  void be;
  return n;
}

run('offload to webgpu', () => {
  beforeAll(async () => { await T.init({ gpu: GPU_OBJECT as object }); });

  const variants: [string, T.DEQOptions][] = [
    ['anderson + IFT', { fSolver: 'anderson', fMaxIter: 30, fTol: 1e-6, ift: true, bSolver: 'anderson', bTol: 1e-7, bMaxIter: 40 }],
    ['broyden + phantom', { fSolver: 'broyden', fMaxIter: 30, fTol: 1e-6, grad: 3, tau: 0.8 }],
    ['fixed_point_iter, indexing core, IFT', { core: 'indexing', fSolver: 'fixed_point_iter', fMaxIter: 40, fTol: 1e-6, indexing: [5], ift: true }],
  ];
  it.each(variants)("offload 'webgpu' equals a wasm-only training step: %s", async (_n, opts) => {
    const a = await trainStep(new Cell(17, 5, 'wasm'), T.getDeq({ ...opts, offload: 'webgpu' }), 'wasm');
    const c = await trainStep(new Cell(17, 5, 'wasm'), T.getDeq({ ...opts, offload: 'none' }), 'wasm');
    assertClose(a.z, c.z, TOL, 'z*');
    assertClose(a.gW, c.gW, TOL, 'dL/dW');
    assertClose(a.gU, c.gU, TOL, 'dL/dU');
    assertClose(a.gb, c.gb, TOL, 'dL/db');
    assertClose(a.W1, c.W1, TOL, 'W after Adam');
    expect(a.nstep).toEqual(c.nstep);
    expect(a.gW.some((v) => v !== 0)).toBe(true);
  });

  it('per call: solverKwargs.offload overrides the core option', async () => {
    const opts: T.DEQOptions = { fSolver: 'anderson', fMaxIter: 20, fTol: 1e-6, grad: 2, offload: 'none' };
    const cell = new Cell(9, 3, 'wasm');
    const ups = await countUploads(81, () => trainStep(cell, T.getDeq(opts), 'wasm', { offload: 'webgpu' }));
    expect(ups, 'W went to the GPU').toBe(1);
    const none = await countUploads(81, () => trainStep(cell, T.getDeq({ ...opts, offload: 'webgpu' }), 'wasm', { offload: 'none' }));
    expect(none).toBe(0);
  });

  it('parameter copies are cached: uploaded once per change, not per iteration or per call', async () => {
    const d = 19;
    const cell = new Cell(d, 4, 'wasm');
    const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 25, fTol: 0, ift: true, bSolver: 'anderson', bTol: 0, bMaxIter: 10, offload: 'webgpu' });
    const B = 3;
    const inj = T.tensor(Array.from({ length: B * d }, (_, i) => Math.sin(i)), [B, d]);
    const f = (z: Tensor): Tensor => T.tanh(T.add(T.linear(z, cell.W), inj));
    const forward = async (): Promise<void> => {
      const out = await deq.forward(f, T.zeros([B, d]));
      await T.sum(out.zOut[0] as Tensor).backward();
    };
    expect(await countUploads(d * d, forward), 'first call').toBe(1);
    expect(await countUploads(d * d, forward), 'unchanged parameter').toBe(0);
    const opt = new T.optim.SGD([cell.W], { lr: 0.1 });
    await opt.step();
    expect(await countUploads(d * d, forward), 'after an optimizer step').toBe(1);
  });

  it("'auto' offloads only on a hardware adapter, float32, at or above the crossover", async () => {
    const gpu = findBackend('webgpu') as Backend & { adapterInfo: { isFallbackAdapter: boolean } };
    const big = T.zeros([OFFLOAD_AUTO_MIN_ELEMENTS / 64, 64]);
    const small = T.zeros([2, 64]);
    expect(gpu.adapterInfo.isFallbackAdapter).toBe(true);
    expect(offloadTarget('t', 'auto', big, findBackend), 'CPU adapter: never').toBeNull();
    const hw = (name: string): Backend | undefined => (name === 'webgpu' ? { ...gpu, adapterInfo: { isFallbackAdapter: false } } as Backend : findBackend(name));
    expect(offloadTarget('t', 'auto', big, hw)?.name).toBe('webgpu');
    expect(offloadTarget('t', 'auto', small, hw), 'below the crossover').toBeNull();
    expect(offloadTarget('t', 'auto', T.zeros([OFFLOAD_AUTO_MIN_ELEMENTS / 64, 64], { dtype: 'float64' }), hw), 'float64').toBeNull();
    expect(offloadTarget('t', 'auto', big, () => undefined), 'no webgpu').toBeNull();
    expect(offloadTarget('t', 'none', big, hw)).toBeNull();
    // The default ('auto') on this CPU adapter changes nothing: no upload at all.
    const cell = new Cell(8, 3, 'wasm');
    expect(await countUploads(64, () => trainStep(cell, T.getDeq({ fSolver: 'anderson', fMaxIter: 10 }), 'wasm'))).toBe(0);
    big.dispose();
    small.dispose();
  });

  it('bad offload options are clear errors', async () => {
    expect(() => T.getDeq({ offload: 'gpu' as never })).toThrow(/getDeq: option 'offload' expected one of 'none', 'auto', 'webgpu', received "gpu"/);
    const deq = T.getDeq({ fMaxIter: 3 });
    const f = (z: Tensor): Tensor => T.tanh(z);
    await expect(deq.forward(f, T.zeros([2, 3]), { solverKwargs: { offload: 1 } as never })).rejects.toThrow(/deq.forward \(solverKwargs\): option 'offload' expected one of/);
    await expect(T.getDeq({ offload: 'webgpu' }).forward(f, T.zeros([2, 3], { dtype: 'float64' }))).rejects.toThrow(/deq.forward: offload 'webgpu' needs a float32 state/);
  });

  it("a model on webgpu (model.to('webgpu')) trains there with no offload and matches wasm", async () => {
    const opts: T.DEQOptions = { fSolver: 'anderson', fMaxIter: 30, fTol: 1e-6, ift: true, bSolver: 'anderson', bTol: 1e-7 };
    const g = new Cell(17, 5, 'wasm').to('webgpu');
    expect(g.W.backend.name).toBe('webgpu');
    const a = await countUploads(17 * 17, () => trainStep(g, T.getDeq(opts), 'webgpu'));
    expect(a, 'no parameter upload: it already lives there').toBe(0);
    const r1 = await trainStep(new Cell(17, 5, 'webgpu'), T.getDeq(opts), 'webgpu');
    const r2 = await trainStep(new Cell(17, 5, 'wasm'), T.getDeq(opts), 'wasm');
    assertClose(r1.gW, r2.gW, TOL, 'dL/dW');
    assertClose(r1.W1, r2.W1, TOL, 'W after Adam');
  });
});
