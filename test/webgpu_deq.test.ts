/**
 * A DEQ training step on webgpu tensors agrees with the same step on wasm (both float32):
 * Anderson (and Broyden) forward solves, IFT and phantom-gradient backward passes, an Adam
 * step; and the solvers' results (fixed point, residual trace) on webgpu vs wasm. Sizes are
 * small (CPU adapter); the cell is contractive so both runs converge to the same point.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { GPU_OBJECT, WEBGPU, WEBGPU_UNAVAILABLE } from './helpers/webgpu.js';
import { assertClose } from './helpers/tolerance.js';

const run = WEBGPU ? describe : (process.env.CI ? describe : describe.skip);
/** float32 solves to tolerance 1e-6 on both sides, then gradients: agreement to float32 rounding, amplified by the solves. */
const TOL = { rtol: 2e-4, atol: 2e-5 };

function values(n: number, seed: number, scale: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 - 0.5) * 2 * scale;
  });
}

interface Step { z: number[]; gW: number[]; gU: number[]; gb: number[]; W1: number[]; nstep: number[] }

/** One training step of z = tanh(z W^T + x U^T + b) with the given DEQ options on `backend`. */
async function step(backend: string, opts: T.DEQOptions): Promise<Step> {
  const B = 4, d = 24, din = 10;
  const W = T.tensor(values(d * d, 1, 0.6 / Math.sqrt(d)), [d, d], { backend, requiresGrad: true });
  const U = T.tensor(values(d * din, 2, 1 / Math.sqrt(din)), [d, din], { backend, requiresGrad: true });
  const b = T.tensor(values(d, 3, 0.1), [d], { backend, requiresGrad: true });
  const x = T.tensor(values(B * din, 4, 1), [B, din], { backend });
  const target = T.tensor(values(B * d, 5, 0.5), [B, d], { backend });
  const inj = T.add(T.linear(x, U), b);
  const f = (z: Tensor): Tensor => T.tanh(T.add(T.linear(z, W), inj));
  const deq = T.getDeq({ fSolver: 'anderson', fMaxIter: 40, fTol: 1e-6, ...opts });
  const out = await deq.forward(f, T.zeros([B, d], { backend }));
  const z = out.zOut[out.zOut.length - 1] as Tensor;
  const loss = T.square(T.sub(z, target)).mean();
  await loss.backward();
  const opt = new T.optim.Adam([W, U, b], { lr: 1e-2 });
  const res: Step = {
    z: Array.from(await z.data()),
    gW: Array.from(await W.grad!.data()),
    gU: Array.from(await U.grad!.data()),
    gb: Array.from(await b.grad!.data()),
    W1: [],
    nstep: Array.from(await out.info.nstep.data()),
  };
  await opt.step();
  res.W1 = Array.from(await W.data());
  return res;
}

run('DEQ training step: webgpu vs wasm (float32)', () => {
  beforeAll(async () => {
    if (process.env.CI) expect(WEBGPU_UNAVAILABLE).toBeNull();
    await T.init({ gpu: GPU_OBJECT as object });
  });

  const variants: [string, T.DEQOptions][] = [
    ['anderson forward, IFT backward', { ift: true, bTol: 1e-7, bMaxIter: 60 }],
    ['anderson forward, phantom gradient (k = 3, tau = 0.8)', { grad: 3, tau: 0.8 }],
    ['broyden forward, IFT backward with broyden', { fSolver: 'broyden', ift: true, bSolver: 'broyden', bTol: 1e-7, bMaxIter: 60 }],
    ['fixed-point iteration forward, phantom gradient', { fSolver: 'fixed_point_iter', fMaxIter: 80, grad: 2 }],
  ];
  it.each(variants)('%s', async (_name, opts) => {
    const [g, c] = [await step('webgpu', opts), await step('wasm', opts)];
    assertClose(g.z, c.z, TOL, 'z*');
    assertClose(g.gW, c.gW, TOL, 'dL/dW');
    assertClose(g.gU, c.gU, TOL, 'dL/dU');
    assertClose(g.gb, c.gb, TOL, 'dL/db');
    assertClose(g.W1, c.W1, TOL, 'W after one Adam step');
    expect(g.gW.some((v) => v !== 0)).toBe(true);
    for (let i = 0; i < g.nstep.length; i++) expect(Math.abs(g.nstep[i] - c.nstep[i])).toBeLessThanOrEqual(2);
  });

  it('two solves interleaved on webgpu give the results of running them one after the other', async () => {
    const d = 16, B = 3;
    const W = T.tensor(values(d * d, 7, 0.5 / Math.sqrt(d)), [d, d], { backend: 'webgpu' });
    const solveOne = async (seed: number): Promise<number[]> => {
      const inj = T.tensor(values(B * d, seed, 1), [B, d], { backend: 'webgpu' });
      const f = async (z: Tensor): Promise<Tensor> => {
        await new Promise((r) => setTimeout(r, 0)); // let the other solve run in between
        return T.tanh(T.add(T.linear(z, W), inj));
      };
      const res = await T.getSolver('anderson')(f, T.zeros([B, d], { backend: 'webgpu' }), { maxIter: 25, tol: 1e-6 });
      return Array.from(await res.z.data());
    };
    const seq = [await solveOne(11), await solveOne(12)];
    const par = await Promise.all([solveOne(11), solveOne(12)]);
    expect(par[0]).toEqual(seq[0]);
    expect(par[1]).toEqual(seq[1]);
  });
});
