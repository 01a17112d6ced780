/**
 * DEQ on webgpu (CPU adapter): for every forward solver, both gradient kinds (IFT with each
 * backward solver, phantom) and both cores (sliced, indexing), a forward + backward on webgpu
 * tensors agrees with the same on wasm to float32 tolerance; and a tol-0 forward + backward maps
 * no GPU buffer at all (the solves' bookkeeping stays on the device), while with tolerances the
 * maps stay within the solvers' bound.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { GPU_OBJECT, WEBGPU, WEBGPU_UNAVAILABLE } from './helpers/webgpu.js';
import { assertClose } from './helpers/tolerance.js';
import { prng } from './helpers/ref.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);
const TOL = { rtol: 5e-4, atol: 5e-5 };

describe('webgpu adapter for the DEQ tests', () => {
  it('is found (the suite may not skip under CI)', () => {
    if (process.env.CI) expect(WEBGPU_UNAVAILABLE).toBeNull();
  });
});

interface Out { z: number[]; gW: number[]; gx: number[] }

/** z = tanh(z W^T + x U^T) on `backend`; loss = sum(z * c); gradients for W and x. */
async function pass(backend: string, opts: T.DEQOptions, B = 3, d = 17): Promise<Out> {
  const u = prng(21);
  const r = (s: number): number => (u() - 0.5) * s;
  const W = T.tensor(Array.from({ length: d * d }, () => r(1.2 / Math.sqrt(d))), [d, d], { backend, requiresGrad: true });
  const x = T.tensor(Array.from({ length: B * d }, () => r(2)), [B, d], { backend, requiresGrad: true });
  const c = T.tensor(Array.from({ length: B * d }, () => r(1)), [B, d], { backend });
  const f = (z: Tensor): Tensor => T.tanh(T.add(T.linear(z, W), x));
  const deq = T.getDeq(opts);
  const out = await deq.forward(f, T.zeros([B, d], { backend }));
  const zs = out.zOut as Tensor[];
  let loss = T.sum(T.mul(zs[0], c));
  for (const z of zs.slice(1)) loss = T.add(loss, T.sum(T.mul(z, c)));
  await loss.backward();
  return { z: Array.from(await zs[zs.length - 1].data()), gW: Array.from(await W.grad!.data()), gx: Array.from(await x.grad!.data()) };
}

async function countMaps(fn: () => Promise<unknown>): Promise<number> {
  const probe = WEBGPU!.device.createBuffer({ size: 4, usage: 1 | 8 });
  const proto = Object.getPrototypeOf(probe) as { mapAsync: (...a: unknown[]) => Promise<void> };
  probe.destroy();
  const orig = proto.mapAsync;
  let maps = 0;
  proto.mapAsync = function (this: unknown, ...a: unknown[]) { maps++; return orig.apply(this, a); };
  try { await fn(); } finally { proto.mapAsync = orig; }
  return maps;
}

run('DEQ on webgpu vs wasm (float32)', () => {
  beforeAll(async () => { await T.init({ gpu: GPU_OBJECT as object }); });

  const variants: [string, T.DEQOptions][] = [];
  for (const core of ['sliced', 'indexing']) {
    for (const fSolver of ['anderson', 'broyden', 'fixed_point_iter', 'simple_fixed_point_iter']) {
      variants.push([`${core} ${fSolver} + IFT (${fSolver === 'simple_fixed_point_iter' ? 'gmres' : fSolver})`, {
        core, fSolver, fMaxIter: 40, fTol: 1e-6, ift: true,
        bSolver: fSolver === 'simple_fixed_point_iter' ? 'gmres' : fSolver, bMaxIter: 40, bTol: 1e-7,
      }]);
      variants.push([`${core} ${fSolver} + phantom (k 3, tau 0.8)`, { core, fSolver, fMaxIter: 40, fTol: 1e-6, grad: 3, tau: 0.8 }]);
    }
  }
  it.each(variants)('%s', async (_name, opts) => {
    const g = await pass('webgpu', opts), c = await pass('wasm', opts);
    assertClose(g.z, c.z, TOL, 'z*');
    assertClose(g.gW, c.gW, TOL, 'dL/dW');
    assertClose(g.gx, c.gx, TOL, 'dL/dx');
    expect(g.gW.some((v) => v !== 0)).toBe(true);
  });

  it('a tol-0 forward and backward maps no buffer (IFT and phantom); with tolerances maps stay bounded', async () => {
    const gradsOnly = async (opts: T.DEQOptions): Promise<void> => {
      const B = 2, d = 9;
      const W = T.tensor(Array.from({ length: d * d }, (_, i) => Math.sin(i) * 0.3 / Math.sqrt(d)), [d, d], { backend: 'webgpu', requiresGrad: true });
      const x = T.tensor(Array.from({ length: B * d }, (_, i) => Math.cos(i)), [B, d], { backend: 'webgpu' });
      const f = (z: Tensor): Tensor => T.tanh(T.add(T.linear(z, W), x));
      const out = await T.getDeq(opts).forward(f, T.zeros([B, d], { backend: 'webgpu' }));
      await T.sum(out.zOut[out.zOut.length - 1] as Tensor).backward();
    };
    for (const fSolver of ['anderson', 'broyden', 'fixed_point_iter']) {
      // The solves map nothing; the DEQ core's report of the backward solve (info.bStats: status,
      // lowest residuals, nstep) reads its outcome once the solve is done: 4 small reads.
      expect(await countMaps(() => gradsOnly({ fSolver, fTol: 0, fMaxIter: 20, ift: true, bSolver: fSolver, bTol: 0, bMaxIter: 20, bFailure: 'ignore' })), `${fSolver} IFT`).toBeLessThanOrEqual(4);
      expect(await countMaps(() => gradsOnly({ fSolver, fTol: 0, fMaxIter: 20, grad: 4 })), `${fSolver} phantom`).toBe(0);
      const maps = await countMaps(() => gradsOnly({ fSolver, fTol: 1e-30, fMaxIter: 24, ift: true, bSolver: fSolver, bTol: 1e-30, bMaxIter: 24 }));
      expect(maps, `${fSolver} with tolerances`).toBeLessThanOrEqual(2 * (Math.ceil(24 / 8) + 1) + 4);
    }
  });
});
