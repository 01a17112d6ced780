/**
 * Jacobian regularisation for DEQs: `jacReg` (Hutchinson estimate of ||J||_F^2, differentiable
 * so it can be added to the training loss) and `powerMethod` (estimate of the spectral radius
 * of J, for monitoring). Both only need vector-Jacobian products `v^T J` through `grad`.
 */
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { grad, checkKeys, noGrad, isGradEnabled, withMode } from '../autograd/engine.js';
import { rngFor } from '../random.js';
import { tidy } from '../scope.js';
import { need } from '../ops/util.js';
import { div, mul } from '../ops/arith.js';
import { sum } from '../ops/reduce.js';
import { abs, sqrt } from '../ops/unary.js';
import { reshape } from '../ops/shape.js';
import { normalFrom } from '../utils/sampling.js';
import { addInto } from './running_sum.js';
import { show } from '../utils/format.js';

export interface JacRegOptions {
  /** Number of random Gaussian probe vectors (default 1). */
  vecs?: number;
  /** Record the graph of the estimate so it can be trained on (default true). */
  createGraph?: boolean;
  /** Seed for the probe vectors; without it the global generator (`manualSeed`) is used. */
  seed?: number;
}

const JAC_REG_DEFAULTS = { vecs: 1, createGraph: true };

function positiveInt(where: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`${where}: expected option '${name}' to be a positive integer, received ${show(v)}`);
  }
  return v;
}

function checkSeed(where: string, seed: unknown): number | undefined {
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isFinite(seed))) {
    throw new Error(`${where}: expected option 'seed' to be a finite number, received ${show(seed)}`);
  }
  return seed as number | undefined;
}

/** v^T (df0/dz0) with the caller's graph kept, naming `where` if f0 does not depend on z0. */
async function vjpOf(where: string, f0: Tensor, z0: Tensor, v: Tensor, createGraph: boolean): Promise<Tensor> {
  const [g] = await grad(f0, z0, { gradOutputs: v, retainGraph: true, createGraph, allowUnused: true });
  if (!g) {
    throw new Error(`${where}: expected f0 (shape ${fmtShape(f0.shape)}) to be computed from z0 (shape ${fmtShape(z0.shape)}), but it does not depend on z0`);
  }
  return g;
}

function checkPair(where: string, f0: Tensor, z0: Tensor): void {
  need(where, 'f0', f0);
  need(where, 'z0', z0);
  if (!z0.requiresGrad) {
    throw new Error(`${where}: expected z0 to require grad (compute f0 = f(z0) after z0.requireGrad()), received a tensor with requiresGrad false`);
  }
  if (!f0.requiresGrad) {
    throw new Error(`${where}: expected f0 to be part of a graph built from z0, received a tensor with requiresGrad false (was it computed inside noGrad?)`);
  }
}

/**
 * Hutchinson estimate of `||J||_F^2 / numel(z0)` for `J = df0/dz0`: the mean over `vecs`
 * Gaussian probes `v` (shaped like f0) of `||v^T J||^2`, divided by the number of elements
 * of z0. The caller's graph is kept; with `createGraph` (default) the result is
 * differentiable with respect to everything f0 depends on (add it to the loss).
 * Returns a scalar tensor.
 * @example
 * const z = zStar.detach().requireGrad();
 * const loss = task.add((await jacReg(f(z), z, { vecs: 1 })).mul(gamma));
 */
export async function jacReg(f0: Tensor, z0: Tensor, opts: JacRegOptions = {}): Promise<Tensor> {
  const where = 'jacReg';
  checkKeys(where, opts, ['vecs', 'createGraph', 'seed']);
  checkPair(where, f0, z0);
  const o = { ...JAC_REG_DEFAULTS, ...opts };
  const vecs = positiveInt(where, 'vecs', o.vecs);
  const rng = rngFor(checkSeed(where, o.seed));
  // The caller's grad mode, used for the work after each await (never a flag held across one).
  const mode = isGradEnabled();
  let total: Tensor | null = null;
  for (let i = 0; i < vecs; i++) {
    const v = normalFrom(rng, f0.shape, f0);
    const vJ = await vjpOf(where, f0, z0, v, o.createGraph);
    v.dispose();
    total = withMode(mode, () => {
      const sq = mul(vJ, vJ);
      vJ.dispose();
      const term = sum(sq);
      sq.dispose();
      return addInto(total, term);
    });
  }
  const result = withMode(mode, () => div(total!, vecs * z0.size));
  total!.dispose();
  return result;
}

export interface PowerMethodOptions {
  /** Number of power iterations (default 100). */
  nIters?: number;
  /** Seed for the random start vector; without it the global generator is used. */
  seed?: number;
}

export interface PowerMethodResult {
  /** The last iterate, normalised per batch entry (shape of z0): an approximate left eigenvector of J. */
  eigenvector: Tensor;
  /** |v^T J v / v^T v| per batch entry (shape [B]): the spectral radius estimate. */
  eigenvalue: Tensor;
}

/**
 * Estimates the spectral radius of `J = df0/dz0` per batch entry (axis 0 of z0) by power
 * iteration on `v <- normalise(v^T J)`. The returned eigenvalue is the absolute Rayleigh
 * quotient `|v^T J v / v^T v|` of the vector *before* the last update (as TorchDEQ computes
 * it), so it converges to `|lambda_max|` when J has a dominant real eigenvalue. Nothing is
 * differentiable; the caller's graph is kept (TorchDEQ frees it on the last iteration).
 * @example const { eigenvalue } = await powerMethod(f(z), z, { nIters: 50 }); // rho(J) per sample
 */
export async function powerMethod(f0: Tensor, z0: Tensor, opts: PowerMethodOptions = {}): Promise<PowerMethodResult> {
  const where = 'powerMethod';
  checkKeys(where, opts, ['nIters', 'seed']);
  checkPair(where, f0, z0);
  if (z0.rank < 1) throw new Error(`${where}: expected z0 with a batch axis (rank >= 1), received shape ${fmtShape(z0.shape)}`);
  if (f0.size !== z0.size || f0.shape[0] !== z0.shape[0]) {
    throw new Error(`${where}: expected f0 and z0 of the same size and batch (J must be square), received ${fmtShape(f0.shape)} and ${fmtShape(z0.shape)}`);
  }
  const nIters = positiveInt(where, 'nIters', opts.nIters ?? 100);
  const rng = rngFor(checkSeed(where, opts.seed));
  const bsz = z0.shape[0];
  let v = tidy(() => reshape(normalFrom(rng, z0.shape, z0), f0.shape));
  let value: Tensor | null = null;
  for (let i = 0; i < nIters; i++) {
    const vJ = await vjpOf(where, f0, z0, v, false);
    const next = tidy(() => noGrad(() => {
      const a = reshape(vJ, [bsz, -1]), b = reshape(v, [bsz, -1]);
      const rq = div(sum(mul(a, b), 1), sum(mul(b, b), 1));
      const nrm = sqrt(sum(mul(a, a), 1, { keepDims: true }));
      return { rq, vec: reshape(div(a, nrm), f0.shape) };
    }));
    vJ.dispose();
    v.dispose();
    value?.dispose();
    v = next.vec;
    value = next.rq;
  }
  const eigenvalue = abs(value!);
  value!.dispose();
  const eigenvector = reshape(v, z0.shape);
  v.dispose();
  return { eigenvector, eigenvalue };
}
