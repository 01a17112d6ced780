/**
 * Gradient clipping with torch.nn.utils' semantics. Gradients are replaced by new tensors
 * (the old `.grad` handles are released), never modified in place, so a tensor the user
 * holds that shares storage with a gradient is untouched. No data is read back to the host.
 */
import { checkKeys, noGrad } from '../autograd/engine.js';
import { keep, tidy } from '../scope.js';
import { Tensor } from '../tensor.js';
import { add, div, maximum, minimum, mul, pow } from '../ops/arith.js';
import { abs, square, sqrt } from '../ops/unary.js';
import { max, sum } from '../ops/reduce.js';
import { cast } from '../ops/cast.js';
import { zeros } from '../creation.js';
import { show } from '../utils/format.js';

export interface ClipGradNormOptions {
  /** The p of the p-norm: any number > 0, or Infinity for the max norm (default 2). */
  normType?: number;
}

function paramList(where: string, params: Tensor | Iterable<Tensor>): Tensor[] {
  if (params instanceof Tensor) return [params];
  if (params === null || typeof params !== 'object' || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== 'function') {
    throw new Error(`${where}: expected a Tensor or an iterable of Tensors, received ${params === null ? 'null' : typeof params}`);
  }
  const list = [...params];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new Error(`${where}: expected parameter ${i} to be a Tensor, received ${p === null ? 'null' : typeof p}`);
  });
  return list;
}

function replaceGrad(p: Tensor, g: Tensor): void {
  const old = p.grad;
  p.grad = keep(g);
  old?.dispose();
}

/**
 * Scales all gradients together so their joint p-norm is at most `maxNorm`: with
 * total = ||(||g_1||_p, ..., ||g_n||_p)||_p, every gradient is multiplied by
 * min(1, maxNorm / (total + 1e-6)). Returns the total norm (before clipping) as a scalar
 * tensor (float64 if any gradient is float64, else float32). The norm is accumulated in
 * float64 where the gradients' backend stores float64, else (a float32-only backend, see
 * `Backend.dtypes`) in float32, as torch does. Parameters without `.grad` are skipped.
 * @example const norm = clipGradNorm(model.parameters(), 1.0); // norm.item() on CPU
 */
export function clipGradNorm(params: Tensor | Iterable<Tensor>, maxNorm: number, opts: ClipGradNormOptions = {}): Tensor {
  const where = 'clipGradNorm';
  checkKeys(where, opts, ['normType']);
  const list = paramList(where, params);
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) {
    throw new Error(`${where}: expected maxNorm to be a number >= 0, received ${show(maxNorm)}`);
  }
  const p = opts.normType ?? 2;
  if (typeof p !== 'number' || !(p > 0)) {
    throw new Error(`${where}: expected option 'normType' to be a number > 0 or Infinity, received ${show(p)}`);
  }
  const withGrad = list.filter((t) => t.grad);
  withGrad.forEach((t) => t.grad!.assertLive(`${where} (a parameter's gradient)`));
  const dtype = withGrad.some((t) => t.grad!.dtype === 'float64') ? 'float64' : 'float32';
  if (withGrad.length === 0) return zeros([], { dtype, ...(list[0] ? { backend: list[0].backend } : {}) });
  const backend = withGrad[0].grad!.backend;
  withGrad.forEach((t) => {
    if (t.grad!.backend !== backend) throw new Error(`${where}: expected every gradient on one backend, received '${backend.name}' and '${t.grad!.backend.name}'`);
  });
  return noGrad(() => tidy(() => {
    // In float64 where the backend has it: the max of |g| (p = Infinity), else (sum over all
    // gradients of |g|^p)^(1/p), which equals torch's p-norm of the per-gradient p-norms.
    const accDtype = backend.dtypes === undefined || backend.dtypes.includes('float64') ? 'float64' : 'float32';
    let acc: Tensor | null = null;
    for (const t of withGrad) {
      const g = cast(t.grad!, accDtype);
      const part = p === Infinity ? (g.size ? max(abs(g)) : sum(g)) : sum(p === 2 ? square(g) : pow(abs(g), p));
      acc = acc === null ? part : p === Infinity ? maximum(acc, part) : add(acc, part);
    }
    const total = p === Infinity ? acc! : p === 2 ? sqrt(acc!) : pow(acc!, 1 / p);
    const coef = minimum(div(maxNorm, add(total, 1e-6)), 1);
    for (const t of withGrad) replaceGrad(t, mul(t.grad!, cast(coef, t.grad!.dtype)));
    return cast(total, dtype);
  }));
}

/**
 * Clamps every gradient elementwise to [-clipValue, clipValue] (torch's clip_grad_value_).
 * @example clipGradValue(model.parameters(), 0.5);
 */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  const where = 'clipGradValue';
  const list = paramList(where, params);
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) {
    throw new Error(`${where}: expected clipValue to be a number >= 0, received ${show(clipValue)}`);
  }
  noGrad(() => tidy(() => {
    for (const t of list) {
      if (!t.grad) continue;
      const g = t.grad.assertLive(`${where} (a parameter's gradient)`);
      replaceGrad(t, minimum(maximum(g, -clipValue), clipValue));
    }
  }));
}
