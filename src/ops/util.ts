/**
 * Shared plumbing for ops: argument checking, scalar promotion, broadcasting geometry, and
 * allocating outputs.
 */
import { stridesOf, sizeOf } from '../backend/backend.js';
import { Tensor, empty, fmtShape, uninitialized } from '../tensor.js';
import { tensor } from '../creation.js';
import { offloaded } from '../offload/offload.js';
import { show } from '../utils/format.js';

export type TensorLike = Tensor | number;

/** Checks that `t` is a live Tensor, naming the op and argument otherwise. */
export function need(op: string, name: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) {
    throw new Error(`${op}: expected argument '${name}' to be a Tensor, received ${t === null || t === undefined ? String(t) : typeof t === 'object' ? (Array.isArray(t) ? 'an array' : 'an object') : `${typeof t} ${show(t)}`}`);
  }
  if (t.isDisposed) t.assertLive(`${op} (argument '${name}')`);
  return offloaded(t);
}

/** Converts numbers to tensors shaped [] matching `like`'s dtype and backend. */
export function lift(op: string, name: string, x: TensorLike, like: Tensor): Tensor {
  if (typeof x === 'number') return tensor(x, [], { dtype: like.dtype, backend: like.backend });
  return need(op, name, x);
}

/** Resolves a pair of tensor-likes to tensors with one dtype and backend. Numbers never decide. */
export function pair(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor, boolean, boolean] {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new Error(`${op}: expected at least one Tensor argument, received two numbers`);
  }
  const like = typeof a === 'number' ? need(op, 'b', b) : need(op, 'a', a);
  const A = lift(op, 'a', a, like), B = lift(op, 'b', b, like);
  sameKind(op, A, B);
  return [A, B, typeof a === 'number', typeof b === 'number'];
}

export function sameKind(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new Error(`${op}: dtype mismatch: expected both tensors to have the same dtype, received ${a.dtype} and ${b.dtype} (use .cast())`);
  }
  if (a.backend !== b.backend) {
    throw new Error(`${op}: backend mismatch: received tensors on '${a.backend.name}' and '${b.backend.name}'`);
  }
}

/** NumPy broadcasting of two shapes; throws naming the op on mismatch. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides to read a tensor of `shape` broadcast to `target` (0 on broadcast dims). */
export function broadcastStrides(shape: readonly number[], target: readonly number[]): number[] {
  const st = stridesOf(shape);
  const off = target.length - shape.length;
  return target.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]));
}

/** Allocates a contiguous output like `like` (dtype, backend) with `shape`. */
export function out(shape: readonly number[], like: Tensor): Tensor {
  return empty(shape, like.dtype, like.backend);
}

/** Like `out`, for a kernel that writes every element (the contents start unspecified). */
export function outWritten(shape: readonly number[], like: Tensor): Tensor {
  return uninitialized(shape, like.dtype, like.backend);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Normalises an axis (negative counts from the end), naming the op on error. */
export function normAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new Error(`${op}: expected an axis in [${-rank}, ${rank - 1}], received ${axis}`);
  }
  return axis < 0 ? axis + rank : axis;
}

export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const res = list.map((a) => normAxis(op, a, rank));
  if (new Set(res).size !== res.length) throw new Error(`${op}: expected distinct axes, received ${show(axes)}`);
  return res.sort((x, y) => x - y);
}

export { stridesOf, sizeOf };
