/**
 * dtype conversion and copies.
 */
import { record } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { empty } from '../tensor.js';
import { checkDType, type DType } from '../dtype.js';
import { need } from './util.js';

/**
 * Converts to another dtype (a copy even when the dtype is unchanged). Gradients flow back cast.
 * @example cast(x, 'float64')
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  const X = need('cast', 'x', x);
  checkDType(dtype, 'cast');
  const o = empty(X.shape, dtype, X.backend);
  X.backend.cast(X.storage, o.storage);
  return record('cast', o, [X], [], (g) => [cast(g, X.dtype)]);
}

/** A copy with its own storage (differentiable). @example clone(x) */
export function clone(x: Tensor): Tensor {
  return cast(need('clone', 'x', x), x.dtype);
}
