/**
 * Reductions over axes: sum, mean, max, min, argmax, argmin, and `sumTo` (the adjoint of
 * broadcasting).
 */
import type { ReduceOp } from '../backend/backend.js';
import { checkKeys, record } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { need, normAxes, out, sameShape } from './util.js';
import { reshape, broadcastTo } from './shape.js';
import { mul, div, binaryRaw } from './arith.js';

export interface ReduceOptions {
  /** Keep reduced axes as size-1 dimensions. */
  keepDims?: boolean;
}

/** Reduces the given (sorted, unique) axes with the backend kernel, one contiguous run at a time. */
function reduceRaw(op: ReduceOp, x: Tensor, axes: number[]): Tensor {
  let cur = x, shape = [...x.shape];
  // Reduce from the last axis so earlier axis indices stay valid.
  for (let i = axes.length - 1; i >= 0; i--) {
    const ax = axes[i];
    const outer = shape.slice(0, ax).reduce((a, b) => a * b, 1);
    const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
    const n = shape[ax];
    const nextShape = [...shape.slice(0, ax), ...shape.slice(ax + 1)];
    const o = out(nextShape, x);
    x.backend.reduce(op, cur.storage, o.storage, outer, n, inner);
    if (cur !== x) cur.dispose();
    cur = o;
    shape = nextShape;
  }
  if (cur === x) return x.view(x.shape);
  return cur;
}

function keptShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function finish(o: Tensor, x: Tensor, axes: number[], keepDims: boolean | undefined): Tensor {
  if (!keepDims) return o;
  const v = o.view(keptShape(x.shape, axes));
  o.dispose();
  return v;
}

/**
 * Sum over `axes` (all when omitted).
 * @example sum(x, 1, { keepDims: true })
 */
export function sum(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const X = need('sum', 'x', x);
  checkKeys('sum', opts, ['keepDims']);
  const ax = normAxes('sum', axes, X.rank);
  const o = finish(reduceRaw('sum', X, ax), X, ax, opts.keepDims);
  return record('sum', o, [X], [], (g) => [broadcastTo(reshape(g, keptShape(X.shape, ax)), X.shape)]);
}

/**
 * Mean over `axes` (all when omitted).
 * @example mean(x, -1)
 */
export function mean(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  const X = need('mean', 'x', x);
  checkKeys('mean', opts, ['keepDims']);
  const ax = normAxes('mean', axes, X.rank);
  const n = ax.reduce((a, i) => a * X.shape[i], 1);
  const s = sum(X, ax, opts);
  const o = div(s, n);
  s.dispose();
  return o;
}

/** Like torch, a max/min/argmax over an axis of size 0 has no value (over other axes of an empty tensor it is empty). */
function checkNonEmptyAxes(op: string, X: Tensor, axes: readonly number[]): void {
  const bad = axes.find((a) => X.shape[a] === 0);
  if (bad !== undefined) {
    throw new Error(`${op}: expected a non-empty axis to reduce, received axis ${bad} of size 0 (shape ${fmtShape(X.shape)}); an empty reduction has no ${op}`);
  }
}

function extreme(op: 'max' | 'min', x: Tensor, axes: number | readonly number[] | undefined, opts: ReduceOptions): Tensor {
  const X = need(op, 'x', x);
  checkKeys(op, opts, ['keepDims']);
  const ax = normAxes(op, axes, X.rank);
  checkNonEmptyAxes(op, X, ax);
  const o = finish(reduceRaw(op, X, ax), X, ax, opts.keepDims);
  return record(op, o, [X], [X, o], (g, [sx, so]) => {
    // The gradient is shared evenly among tied extremes, like torch's amax/amin.
    const ks = keptShape(X.shape, ax);
    const m = binaryRaw('eq', sx, reshape(so, ks));
    const count = sum(m, ax, { keepDims: true });
    return [mul(div(m, count), reshape(g, ks))];
  });
}

/** Maximum over `axes` (all when omitted). @example max(x, 1) */
export function max(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  return extreme('max', x, axes, opts);
}

/** Minimum over `axes` (all when omitted). @example min(x, 0) */
export function min(x: Tensor, axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
  return extreme('min', x, axes, opts);
}

/** Index of the maximum along one axis (as a float tensor, no gradient). @example argmax(logits, -1) */
export function argmax(x: Tensor, axis = -1): Tensor {
  const X = need('argmax', 'x', x);
  const ax = normAxes('argmax', axis, X.rank);
  checkNonEmptyAxes('argmax', X, ax);
  return reduceRaw('argmax', X, ax);
}

/** Index of the minimum along one axis (as a float tensor, no gradient). @example argmin(x, 0) */
export function argmin(x: Tensor, axis = -1): Tensor {
  const X = need('argmin', 'x', x);
  const ax = normAxes('argmin', axis, X.rank);
  checkNonEmptyAxes('argmin', X, ax);
  return reduceRaw('argmin', X, ax);
}

/** Sums `g` down to `shape` (the adjoint of broadcasting `shape` up to `g.shape`). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = sum(g, axes);
  return sameShape(s.shape, shape) ? s : reshape(s, shape);
}
