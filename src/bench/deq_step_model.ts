/**
 * The DEQ training step of the performance baseline (`../shared/oracle/BASELINE.md`), in tsdeq:
 *
 *   inj = x U^T + b (once per step),  f(z) = tanh(z W^T + inj),  W with spectral norm 0.9,
 *   float32, anderson forward (m = 6, lam = 1e-4, 30 iterations, tol 0), core 'sliced',
 *   loss = sum(z_out[-1] * c), backward; step = zero grads + forward + backward (no optimizer).
 *
 * Gradient modes: 'ift' (implicit gradient, fixed_point_iter adjoint solve, 30 iterations, tol
 * 0) and 'pg_k5' (phantom gradient, k = 5, tau = 0.5). Used by the `deq_step` bench section.
 */
import type { Backend } from '../backend/backend.js';
import { Tensor } from '../tensor.js';
import { tensor, zeros } from '../creation.js';
import { tidy } from '../scope.js';
import { backward } from '../autograd/engine.js';
import { zeroGrad } from '../autograd/util.js';
import { add, mul } from '../ops/arith.js';
import { tanh } from '../ops/unary.js';
import { sum } from '../ops/reduce.js';
import { linear } from '../ops/linalg.js';
import { linearTanh } from '../ops/fused.js';
import { getDeq } from '../deq/registry.js';
import type { DEQOptions } from '../deq/options.js';
import type { OffloadMode } from '../offload/offload.js';
import { benchData } from './subjects.js';

/** The two gradient modes of the baseline. */
export type StepGrad = 'ift' | 'pg_k5';

/**
 * TorchDEQ's arguments for each gradient mode (same as bench_torchdeq.py, fixed regime).
 * @example getDeq(DEQ_STEP_OPTIONS.ift)
 */
export const DEQ_STEP_OPTIONS: Readonly<Record<StepGrad, DEQOptions>> = Object.freeze({
  ift: {
    core: 'sliced', fSolver: 'anderson', fMaxIter: 30, fTol: 0, fStopMode: 'rel',
    ift: true, bSolver: 'fixed_point_iter', bMaxIter: 30, bTol: 0, bStopMode: 'rel',
    // No failure report: with 'warn' the backward reads the adjoint solve's status to look for
    // nan / diverged samples, one GPU read per step on webgpu that TorchDEQ does not make.
    bFailure: 'ignore',
  },
  pg_k5: {
    core: 'sliced', fSolver: 'anderson', fMaxIter: 30, fTol: 0, fStopMode: 'rel', grad: 5, tau: 0.5,
  },
});

/** Milliseconds of one step: total, forward (inj + solve + gradient functor + loss), backward. */
export interface StepTimes { total: number; forward: number; backward: number; }

/**
 * How f is written: 'fused' with `linearTanh(z, W, inj)` (one op, one VJP), or 'ops' with the
 * plain composition `tanh(add(linear(z, W), inj))`.
 */
export type FuncStyle = 'fused' | 'ops';

/** Spectral norm of a row-major (d, d) matrix by power iteration on A^T A (float64). */
function spectralNorm(a: Float64Array, d: number): number {
  let v = new Float64Array(d).fill(1 / Math.sqrt(d));
  let sigma = 0;
  const u = new Float64Array(d);
  for (let it = 0; it < 200; it++) {
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += a[i * d + j] * v[j];
      u[i] = s;
    }
    const w = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      const ui = u[i];
      for (let j = 0; j < d; j++) w[j] += a[i * d + j] * ui;
    }
    let n = 0;
    for (let j = 0; j < d; j++) n += w[j] * w[j];
    n = Math.sqrt(n);
    const next = Math.sqrt(n);
    for (let j = 0; j < d; j++) w[j] /= n;
    v = w;
    if (Math.abs(next - sigma) <= 1e-12 * next) { sigma = next; break; }
    sigma = next;
  }
  return sigma;
}

/** Standard-normal-like values from the bench LCG (sum of uniforms, fixed seed). */
function gaussianish(size: number, seed: number): Float64Array {
  const a = benchData(size, seed), b = benchData(size, seed + 1000), c = benchData(size, seed + 2000);
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = a[i] + b[i] + c[i]; // variance 1
  return out;
}

/** Parameters and data of one (d, B) problem, float32, on `backend`. */
export class StepModel {
  readonly W: Tensor;
  readonly U: Tensor;
  readonly b: Tensor;
  readonly x: Tensor;
  readonly c: Tensor;

  constructor(readonly d: number, readonly B: number, readonly backend: Backend) {
    const o = { dtype: 'float32' as const, backend };
    const w0 = gaussianish(d * d, 1);
    const scale = 0.9 / spectralNorm(w0, d);
    for (let i = 0; i < w0.length; i++) w0[i] *= scale;
    const u0 = gaussianish(d * d, 2).map((v) => v / Math.sqrt(d));
    const b0 = gaussianish(d, 3).map((v) => 0.5 * v);
    this.W = tensor(w0, [d, d], o).requireGrad();
    this.U = tensor(u0, [d, d], o).requireGrad();
    this.b = tensor(b0, [d], o).requireGrad();
    this.x = tensor(gaussianish(B * d, 4), [B, d], o);
    this.c = tensor(gaussianish(B * d, 5), [B, d], o);
  }

  get params(): Tensor[] { return [this.W, this.U, this.b]; }

  dispose(): void {
    zeroGrad(this.params);
    for (const t of [this.W, this.U, this.b, this.x, this.c]) t.dispose();
  }
}

/**
 * A step function for `model` and gradient mode `grad`; each call runs one training step and
 * returns its times. Parameter gradients are left in `.grad` until the next call clears them.
 * @example const run = deqStep(new StepModel(64, 32, getBackend()), 'ift'); const t = await run();
 */
export function deqStep(model: StepModel, grad: StepGrad, style: FuncStyle = 'fused',
  opts: { offload?: OffloadMode; checkEvery?: number } = {}): () => Promise<StepTimes> {
  const deq = getDeq({ ...DEQ_STEP_OPTIONS[grad], offload: opts.offload ?? 'none' });
  // A GPU backend records work and returns: wait for it at the split and at the end.
  const wait = async (): Promise<void> => { await (backend as { sync?: () => Promise<void> }).sync?.(); };
  const { W, U, b, x, c, B, d, backend } = model;
  return async () => {
    zeroGrad(model.params);
    let t1 = 0;
    const t0 = performance.now();
    await tidy(async () => {
      const inj = linear(x, U, b);
      const f = style === 'fused'
        ? (z: Tensor): Tensor => linearTanh(z, W, inj)
        : (z: Tensor): Tensor => tanh(add(linear(z, W), inj));
      const kw = opts.checkEvery ? { solverKwargs: { checkEvery: opts.checkEvery } } : {};
      const { zOut } = await deq.forward(f, zeros([B, d], { backend }), kw);
      const loss = sum(mul(zOut[zOut.length - 1], c));
      await wait();
      t1 = performance.now();
      await backward(loss);
      await wait();
    });
    const t2 = performance.now();
    return { total: t2 - t0, forward: t1 - t0, backward: t2 - t1 };
  };
}
