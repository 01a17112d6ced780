/**
 * Small gradient utilities for training loops.
 */
import { Tensor } from '../tensor.js';
import { assertNoPendingBackward } from './pending.js';

/**
 * Clears the accumulated `.grad` of each parameter (sets it to null, like torch's
 * `zero_grad(set_to_none=True)`) and frees the old gradient's storage: a leaf owns its `.grad`,
 * so `clone()` a gradient first if you need it afterwards. Accepts one tensor or any iterable.
 * @example
 * await loss.backward();
 * step(params);
 * zeroGrad(params); // ready for the next backward
 */
export function zeroGrad(params: Tensor | Iterable<Tensor>): void {
  const list = params instanceof Tensor ? [params] : params;
  if (list === null || typeof list !== 'object' || typeof (list as Iterable<Tensor>)[Symbol.iterator] !== 'function') {
    throw new Error(`zeroGrad: expected a Tensor or an iterable of Tensors, received ${list === null ? 'null' : typeof list}`);
  }
  const ps = [...(list as Iterable<Tensor>)];
  assertNoPendingBackward('zeroGrad', 'zeroGrad', ps.filter((p) => p instanceof Tensor));
  let i = 0;
  for (const p of ps) {
    if (!(p instanceof Tensor)) {
      throw new Error(`zeroGrad: expected parameter ${i} to be a Tensor, received ${p === null ? 'null' : typeof p}`);
    }
    const g = p.grad;
    p.grad = null;
    if (g && !g.isDisposed) g.dispose();
    i++;
  }
}
