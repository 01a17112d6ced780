/**
 * float64 finite-difference gradient checks.
 *
 * gradcheck(fn, inputs): projects the output on a seeded random direction r, f(x) = <r, fn(x)>,
 * and compares autograd's df/dx with central differences (f(x + h e_i) - f(x - h e_i)) / 2h,
 * h = step * max(1, |x_i|), for EVERY input that requires grad and every element of it.
 * gradgradcheck(fn, inputs): runs gradcheck on the gradient function itself, computed with
 * `createGraph: true`, so it checks double backward.
 * Both also check that fn leaves its inputs unchanged.
 */
import * as T from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { assertClose, type Tol } from './tolerance.js';
import { prng } from './ref.js';

export type TensorFn = (...xs: Tensor[]) => Tensor | Promise<Tensor>;

export interface GradcheckOptions {
  /** Tolerance for |autograd - numeric| <= atol + rtol |numeric|. */
  tol: Tol;
  /** Relative finite-difference step (default 1e-6). */
  step?: number;
  /** Seed of the projection direction (default 1). */
  seed?: number;
  label?: string;
}

/** A seeded N(0,1) direction shaped like `like`. */
export function direction(like: Tensor, seed: number): Tensor {
  const u = prng(seed * 7919 + 17);
  const v = new Float64Array(like.size);
  for (let i = 0; i < v.length; i++) v[i] = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  return T.tensor(v, [...like.shape], { dtype: like.dtype, backend: like.backend });
}

/** <r, fn(xs)> as a number, evaluated in a tidy scope. */
async function projected(fn: TensorFn, xs: Tensor[], seed: number): Promise<number> {
  return T.tidy(async () => {
    const y = await fn(...xs);
    return T.mul(y, direction(y, seed)).sum().item();
  });
}

/** Autograd gradients of <r, fn(xs)> for each input requiring grad (zeros when unused). */
export async function projectedGrads(fn: TensorFn, xs: Tensor[], seed: number, createGraph = false): Promise<Tensor[]> {
  const wrt = xs.filter((x) => x.requiresGrad);
  const y = await fn(...xs);
  if (!y.requiresGrad) return wrt.map((x) => T.zerosLike(x));
  const s = T.mul(y, direction(y, seed)).sum();
  const gs = await T.grad(s, wrt, { allowUnused: true, createGraph });
  return gs.map((g, i) => g ?? T.zerosLike(wrt[i]));
}

export async function gradcheck(fn: TensorFn, inputs: Tensor[], opts: GradcheckOptions): Promise<void> {
  const step = opts.step ?? 1e-6, seed = opts.seed ?? 1, label = opts.label ?? 'gradcheck';
  inputs.forEach((x, i) => {
    if (x.dtype !== 'float64') throw new Error(`${label}: input ${i} must be float64 for a gradient check, got ${x.dtype}`);
  });
  const wrtIdx = inputs.map((x, i) => (x.requiresGrad ? i : -1)).filter((i) => i >= 0);
  if (wrtIdx.length === 0) throw new Error(`${label}: no input requires grad`);
  const before = inputs.map((x) => Array.from(x.dataSync()));

  const analytic = await T.tidy(async () => (await projectedGrads(fn, inputs, seed)).map((g) => Array.from(g.dataSync())));
  inputs.forEach((x, i) => assertClose(x.dataSync(), before[i], { rtol: 0, atol: 0 }, `${label}: input ${i} was modified`));

  for (let k = 0; k < wrtIdx.length; k++) {
    const i = wrtIdx[k], x = inputs[i], base = before[i];
    const numeric: number[] = [];
    for (let j = 0; j < base.length; j++) {
      const h = step * Math.max(1, Math.abs(base[j]));
      const at = async (v: number): Promise<number> => {
        const vals = base.slice();
        vals[j] = v;
        const xp = T.tensor(vals, [...x.shape], { dtype: 'float64', backend: x.backend, requiresGrad: true });
        const args = inputs.map((t, q) => (q === i ? xp : t));
        const r = await projected(fn, args, seed);
        xp.dispose();
        return r;
      };
      const hi = base[j] + h, lo = base[j] - h;
      numeric.push(((await at(hi)) - (await at(lo))) / (hi - lo));
    }
    assertClose(analytic[k], numeric, opts.tol, `${label}: d/d(input ${i}) autograd vs finite differences`);
  }
}

/** gradcheck of x -> d<r, fn(x)>/dx (built with createGraph), i.e. a double-backward check. */
export async function gradgradcheck(fn: TensorFn, inputs: Tensor[], opts: GradcheckOptions): Promise<void> {
  const seed = opts.seed ?? 1;
  const gradFn: TensorFn = async (...xs) => {
    const gs = await projectedGrads(fn, xs, seed + 1000, true);
    return T.concat(gs.map((g) => T.reshape(g, [-1])), 0);
  };
  await gradcheck(gradFn, inputs, { ...opts, label: `${opts.label ?? 'gradgradcheck'} (double backward)` });
}
