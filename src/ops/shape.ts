/**
 * Shape ops: reshape, flatten, squeeze/unsqueeze, permute/transpose, broadcastTo. Reshapes
 * share storage; permutes and broadcasts copy through the backend's strided `copy`.
 */
import { record } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { broadcastShapes, broadcastStrides, need, normAxis, out, sameShape, sizeOf, stridesOf } from './util.js';
import { sumTo } from './reduce.js';
import { show } from '../utils/format.js';

/**
 * Same data, new shape (one dimension may be -1). Shares storage.
 * @example reshape(x, [2, -1])
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const X = need('reshape', 'x', x);
  const sh = [...shape];
  const infer = sh.indexOf(-1);
  if (sh.some((d, i) => !Number.isInteger(d) || (d < 0 && !(d === -1 && i === infer))) || sh.lastIndexOf(-1) !== infer) {
    throw new Error(`reshape: expected a shape of non-negative integers with at most one -1, received ${show(shape)}`);
  }
  if (infer >= 0) {
    const rest = sh.reduce((a, d, i) => (i === infer ? a : a * d), 1);
    if (rest === 0 || X.size % rest !== 0) {
      throw new Error(`reshape: cannot infer -1 in ${fmtShape(shape)} for ${X.size} elements (input shape ${fmtShape(X.shape)})`);
    }
    sh[infer] = X.size / rest;
  }
  if (sizeOf(sh) !== X.size) {
    throw new Error(`reshape: expected a shape with ${X.size} elements (input shape ${fmtShape(X.shape)}), received ${fmtShape(shape)}`);
  }
  const o = X.view(sh);
  return record('reshape', o, [X], [], (g) => [reshape(g, X.shape)]);
}

/** Flattens dims startDim..endDim into one. @example flatten(x, 1) // (N, C, H, W) -> (N, C*H*W) */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  const X = need('flatten', 'x', x);
  if (X.rank === 0) return reshape(X, [1]);
  const s = normAxis('flatten', startDim, X.rank), e = normAxis('flatten', endDim, X.rank);
  if (e < s) throw new Error(`flatten: expected startDim <= endDim, received ${startDim} and ${endDim}`);
  const mid = X.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
  return reshape(X, [...X.shape.slice(0, s), mid, ...X.shape.slice(e + 1)]);
}

/** Inserts a size-1 dimension at `axis`. @example unsqueeze(x, 0) */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const X = need('unsqueeze', 'x', x);
  const a = normAxis('unsqueeze', axis, X.rank + 1);
  return reshape(X, [...X.shape.slice(0, a), 1, ...X.shape.slice(a)]);
}

/** Removes size-1 dimensions (all, or the given axis). @example squeeze(x, 1) */
export function squeeze(x: Tensor, axis?: number): Tensor {
  const X = need('squeeze', 'x', x);
  if (axis === undefined) return reshape(X, X.shape.filter((d) => d !== 1));
  const a = normAxis('squeeze', axis, X.rank);
  if (X.shape[a] !== 1) throw new Error(`squeeze: expected axis ${axis} to have size 1, received shape ${fmtShape(X.shape)}`);
  return reshape(X, X.shape.filter((_, i) => i !== a));
}

/**
 * Reorders dimensions: output dim i is input dim perm[i].
 * @example permute(x, [0, 2, 1])
 */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const X = need('permute', 'x', x);
  if (perm.length !== X.rank) {
    throw new Error(`permute: expected a permutation of ${X.rank} axes for shape ${fmtShape(X.shape)}, received ${show(perm)}`);
  }
  const p = perm.map((a) => normAxis('permute', a, X.rank));
  if (new Set(p).size !== p.length) throw new Error(`permute: expected a permutation, received ${show(perm)}`);
  const shape = p.map((a) => X.shape[a]);
  const st = stridesOf(X.shape);
  const o = out(shape, X);
  X.backend.copy(X.storage, 0, p.map((a) => st[a]), o.storage, 0, stridesOf(shape), shape);
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => { inv[a] = i; });
  return record('permute', o, [X], [], (g) => [permute(g, inv)]);
}

/**
 * Swaps two dimensions (default: the last two).
 * @example transpose(w) // (out, in) -> (in, out)
 */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const X = need('transpose', 'x', x);
  if (X.rank < 2 && dim0 === -2 && dim1 === -1) return reshape(X, X.shape);
  const a = normAxis('transpose', dim0, X.rank), b = normAxis('transpose', dim1, X.rank);
  const p = X.shape.map((_, i) => i);
  p[a] = b;
  p[b] = a;
  return permute(X, p);
}

/**
 * Materialises x broadcast to `shape`.
 * @example broadcastTo(tensor([1, 2]), [3, 2])
 */
export function broadcastTo(x: Tensor, target: readonly number[]): Tensor {
  const X = need('broadcastTo', 'x', x);
  const lead = Array.isArray(target) ? target.length - X.rank : 0;
  if (!Array.isArray(target) || target.some((d, i) => !Number.isInteger(d) || d < -1 || (d === -1 && i < lead))) {
    throw new Error(`broadcastTo: expected a shape of non-negative integers (-1 keeps an existing dimension, like torch's expand), received ${show(target)}`);
  }
  // -1 keeps the size of the matching dimension of x (aligned from the right).
  const shape = target.map((d, i) => (d === -1 ? X.shape[i - lead] : d));
  const full = broadcastShapes('broadcastTo', X.shape, shape);
  if (!sameShape(full, shape)) {
    throw new Error(`broadcastTo: cannot broadcast shape ${fmtShape(X.shape)} to ${fmtShape(shape)}`);
  }
  if (sameShape(X.shape, shape)) return reshape(X, shape);
  const o = out(shape, X);
  X.backend.copy(X.storage, 0, broadcastStrides(X.shape, shape), o.storage, 0, stridesOf(shape), shape);
  return record('broadcastTo', o, [X], [], (g) => [sumTo(g, X.shape)]);
}
