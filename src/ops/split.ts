/**
 * `split` and `chunk` with torch's semantics, composed from `sliceAxis` (so differentiable
 * through slice's VJP, on every backend).
 */
import type { Tensor } from '../tensor.js';
import { sliceAxis } from './index_ops.js';
import { need, normAxis } from './util.js';

/**
 * Splits `x` along `dim` (torch.split): a number gives pieces of that size (the last one
 * smaller if the size does not divide), a list gives pieces of those sizes (which must sum to
 * the size of `dim`). Each piece is a differentiable copy.
 * @example split(tensor([1, 2, 3, 4, 5]), 2) // [[1, 2], [3, 4], [5]]
 * @example split(x, [1, 3], 1) // x[:, 0:1], x[:, 1:4]
 */
export function split(x: Tensor, splitSizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const op = 'split';
  const X = need(op, 'x', x);
  if (X.rank === 0) throw new Error(`${op}: expected a tensor with at least 1 dimension, received a scalar (shape [])`);
  const a = normAxis(op, dim, X.rank);
  const n = X.shape[a];
  let sizes: number[];
  if (typeof splitSizeOrSections === 'number') {
    const s = splitSizeOrSections;
    if (!Number.isInteger(s) || s < 0 || (s === 0 && n > 0)) {
      throw new Error(`${op}: expected splitSize to be a positive integer, received ${JSON.stringify(s)}`);
    }
    sizes = [];
    for (let at = 0; at < n; at += s) sizes.push(Math.min(s, n - at));
    if (n === 0) sizes.push(0);
  } else if (Array.isArray(splitSizeOrSections)) {
    sizes = [...splitSizeOrSections];
    if (sizes.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new Error(`${op}: expected sections to be non-negative integers, received ${JSON.stringify(splitSizeOrSections)}`);
    }
    const total = sizes.reduce((p, s) => p + s, 0);
    if (total !== n) {
      throw new Error(`${op}: expected sections summing to ${n} (the size of dim ${dim}), received ${JSON.stringify(sizes)} (sum ${total})`);
    }
  } else {
    throw new Error(`${op}: expected splitSizeOrSections to be a positive integer or a list of sizes, received ${splitSizeOrSections === null ? 'null' : typeof splitSizeOrSections}`);
  }
  const out: Tensor[] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(sliceAxis(X, a, at, at + s));
    at += s;
  }
  return out;
}

/**
 * Splits `x` into `chunks` pieces along `dim` (torch.chunk): each of size ceil(n / chunks),
 * the last smaller; fewer than `chunks` pieces when the size does not allow that many.
 * @example chunk(tensor([1, 2, 3, 4, 5]), 2) // [[1, 2, 3], [4, 5]]
 */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const op = 'chunk';
  const X = need(op, 'x', x);
  if (X.rank === 0) throw new Error(`${op}: expected a tensor with at least 1 dimension, received a scalar (shape [])`);
  if (!Number.isInteger(chunks) || chunks < 1) {
    throw new Error(`${op}: expected chunks to be a positive integer, received ${JSON.stringify(chunks)}`);
  }
  const a = normAxis(op, dim, X.rank);
  const n = X.shape[a];
  return split(X, n === 0 ? 0 : Math.ceil(n / chunks), a);
}
