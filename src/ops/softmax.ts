/**
 * softmax and logSoftmax along one axis, computed stably (the row maximum is subtracted
 * first). Each is one graph node whose VJP is written with ops, so it can be differentiated
 * again.
 */
import { record, noGrad } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { tidy } from '../scope.js';
import { need, normAxis } from './util.js';
import { sub, mul, div } from './arith.js';
import { exp, log } from './unary.js';
import { max, sum } from './reduce.js';

const KEEP = { keepDims: true };

/** x - max(x, axis): the shifted logits both functions start from (no graph). */
function shifted(X: Tensor, ax: number): Tensor {
  // Along an axis of size 0 there is nothing to shift (and no maximum): the result is as empty as X.
  if (X.shape[ax] === 0) return sub(X, 0);
  return sub(X, max(X, ax, KEEP));
}

/**
 * exp(x) / sum(exp(x)) along `axis` (default: the last).
 * @example softmax(tensor([1, 2, 3])) // [0.090, 0.245, 0.665]
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  const X = need('softmax', 'x', x);
  const ax = normAxis('softmax', axis, X.rank);
  const y = tidy(() => noGrad(() => {
    const e = exp(shifted(X, ax));
    return div(e, sum(e, ax, KEEP));
  }));
  // dy = y * (g - sum(g * y))
  return record('softmax', y, [X], [y], (g, [sy]) => [mul(sy, sub(g, sum(mul(g, sy), ax, KEEP)))]);
}

/**
 * log(softmax(x)) along `axis` (default: the last), without forming softmax first.
 * @example logSoftmax(logits, 1)
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const X = need('logSoftmax', 'x', x);
  const ax = normAxis('logSoftmax', axis, X.rank);
  const y = tidy(() => noGrad(() => {
    const z = shifted(X, ax);
    return sub(z, log(sum(exp(z), ax, KEEP)));
  }));
  // dy = g - softmax * sum(g)
  return record('logSoftmax', y, [X], [y], (g, [sy]) => [sub(g, mul(exp(sy), sum(g, ax, KEEP)))]);
}
