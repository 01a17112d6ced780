/**
 * Region ops built on the backend's strided `copy`: `slice`, `sliceAxis`, `concat`, `stack`
 * and constant `pad`. Their VJPs are each other: the gradient of a slice is the gradient
 * padded with zeros back to the input's shape, and the gradient of a pad is a slice, so
 * double backward works through all of them.
 */
import { checkKeys, record } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { need, normAxis, out, sameKind, stridesOf } from './util.js';
import { reshape } from './shape.js';
import { show } from '../utils/format.js';

function offsetOf(begin: readonly number[], strides: readonly number[]): number {
  let off = 0;
  for (let i = 0; i < begin.length; i++) off += begin[i] * strides[i];
  return off;
}

function perAxis(op: string, name: string, v: number | readonly number[], rank: number): number[] {
  const list = typeof v === 'number' ? [v] : [...v];
  if (list.length > rank || list.some((d) => !Number.isInteger(d))) {
    throw new Error(`${op}: expected '${name}' to be an integer or a list of at most ${rank} integers (one per axis), received ${show(v)}`);
  }
  return list;
}

/** Raw region copy without a graph: out = x[begin : begin + size] (begin, size already valid). */
function sliceRaw(X: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const st = stridesOf(X.shape);
  const o = out(size, X);
  X.backend.copy(X.storage, offsetOf(begin, st), st, o.storage, 0, stridesOf(size), size);
  return o;
}

/**
 * A contiguous block of x: `begin[i]` (negative counts from the end) and `size[i]` (-1: to the
 * end) per leading axis; axes not listed are taken whole (tf.slice semantics, strict bounds).
 * @example slice(x, [0, 1], [2, -1]) // rows 0..1, columns 1..end
 */
export function slice(x: Tensor, begin: number | readonly number[], size?: number | readonly number[]): Tensor {
  const op = 'slice';
  const X = need(op, 'x', x);
  const b = perAxis(op, 'begin', begin, X.rank);
  const s = size === undefined ? [] : perAxis(op, 'size', size, X.rank);
  const B: number[] = [], S: number[] = [];
  for (let i = 0; i < X.rank; i++) {
    const dim = X.shape[i];
    let bi = b[i] ?? 0;
    if (bi < 0) bi += dim;
    if (bi < 0 || bi > dim) {
      throw new Error(`${op}: expected begin[${i}] in [${-dim}, ${dim}] for shape ${fmtShape(X.shape)}, received ${b[i]}`);
    }
    const si = s[i] === undefined || s[i] === -1 ? dim - bi : s[i];
    if (si < 0 || bi + si > dim) {
      throw new Error(`${op}: expected size[${i}] in [0, ${dim - bi}] or -1 (begin ${bi}, shape ${fmtShape(X.shape)}), received ${s[i]}`);
    }
    B.push(bi);
    S.push(si);
  }
  return sliceChecked(X, B, S);
}

function sliceChecked(X: Tensor, B: number[], S: number[]): Tensor {
  const o = sliceRaw(X, B, S);
  return record('slice', o, [X], [], (g) => [padChecked(g, B, X.shape.map((d, i) => d - B[i] - S[i]), 0)]);
}

/**
 * Python-style `x[start:end]` along one axis: negative indices count from the end and the
 * bounds are clamped to the axis, like torch and NumPy basic slicing (step 1).
 * @example sliceAxis(x, -1, 0, -1) // drop the last column
 */
export function sliceAxis(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const op = 'sliceAxis';
  const X = need(op, 'x', x);
  const a = normAxis(op, axis, X.rank);
  const dim = X.shape[a];
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
    throw new Error(`${op}: expected integer start and end, received ${start} and ${end}`);
  }
  const clamp = (v: number): number => Math.min(dim, Math.max(0, v < 0 ? v + dim : v));
  const s = clamp(start), e = Math.max(s, end === undefined ? dim : clamp(end));
  const B = X.shape.map((_, i) => (i === a ? s : 0));
  const S = X.shape.map((d, i) => (i === a ? e - s : d));
  return sliceChecked(X, B, S);
}

/**
 * Constant padding. Two forms:
 * - torch.nn.functional.pad form: a flat list `[lastBefore, lastAfter, prevBefore, prevAfter, ...]`
 *   starting from the LAST axis (so `[1, 1]` pads the last axis, `[l, r, t, b]` pads W then H);
 * - per-axis form: `[[before, after], ...]` starting from the FIRST axis, one pair per axis
 *   (like numpy.pad); fewer pairs than axes leave the trailing axes unpadded.
 * Pads are non-negative integers.
 * @example pad(img, [1, 1, 2, 2], { value: 0 }) // W +1 each side, H +2 each side
 */
export function pad(x: Tensor, padding: readonly number[] | readonly (readonly number[])[], opts: PadOptions = {}): Tensor {
  const op = 'pad';
  const X = need(op, 'x', x);
  checkKeys(op, opts, ['value']);
  const value = opts.value ?? 0;
  if (typeof value !== 'number') throw new Error(`${op}: expected option 'value' to be a number, received ${typeof value}`);
  const before = X.shape.map(() => 0), after = X.shape.map(() => 0);
  const bad = (what: string): Error =>
    new Error(`${op}: expected ${what} for a tensor of shape ${fmtShape(X.shape)}, received ${show(padding)}`);
  if (!Array.isArray(padding)) throw bad('an array of pads');
  if (padding.length > 0 && Array.isArray(padding[0])) {
    const pairs = padding as readonly (readonly number[])[];
    if (pairs.length > X.rank || pairs.some((p) => !Array.isArray(p) || p.length !== 2)) {
      throw bad(`at most ${X.rank} [before, after] pairs`);
    }
    pairs.forEach(([b, a], i) => { before[i] = b; after[i] = a; });
  } else {
    const flat = padding as readonly number[];
    if (flat.length % 2 !== 0 || flat.length > 2 * X.rank || flat.some((p) => typeof p !== 'number')) {
      throw bad(`an even-length flat list of at most ${2 * X.rank} numbers (torch F.pad form)`);
    }
    for (let j = 0; j < flat.length / 2; j++) {
      const ax = X.rank - 1 - j;
      before[ax] = flat[2 * j];
      after[ax] = flat[2 * j + 1];
    }
  }
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) throw bad('non-negative integer pads');
  return padChecked(X, before, after, value);
}

/** Options of `pad`. @example pad(x, [1, 1], { value: -1 }) */
export interface PadOptions {
  /** The fill value of the new border (default 0). */
  value?: number;
}

function padChecked(X: Tensor, before: readonly number[], after: readonly number[], value: number): Tensor {
  const shape = X.shape.map((d, i) => d + before[i] + after[i]);
  const o = out(shape, X);
  if (value !== 0) X.backend.fill(o.storage, value);
  const st = stridesOf(shape);
  X.backend.copy(X.storage, 0, stridesOf(X.shape), o.storage, offsetOf(before, st), st, X.shape);
  return record('pad', o, [X], [], (g) => [sliceChecked(g, [...before], [...X.shape])]);
}

/**
 * Joins tensors along an existing axis; all other dimensions must match.
 * @example concat([a, b], 0) // (2, 3) and (4, 3) -> (6, 3)
 */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const op = 'concat';
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new Error(`${op}: expected a non-empty array of tensors, received ${Array.isArray(xs) ? 'an empty array' : typeof xs}`);
  }
  const X = xs.map((t, i) => need(op, `xs[${i}]`, t));
  const first = X[0];
  const a = normAxis(op, axis, first.rank);
  let total = 0;
  X.forEach((t, i) => {
    sameKind(op, first, t);
    if (t.rank !== first.rank || t.shape.some((d, j) => j !== a && d !== first.shape[j])) {
      throw new Error(`${op}: expected xs[${i}] to match ${fmtShape(first.shape)} except on axis ${a}, received ${fmtShape(t.shape)}`);
    }
    total += t.shape[a];
  });
  const shape = first.shape.map((d, j) => (j === a ? total : d));
  const o = out(shape, first);
  const st = stridesOf(shape);
  const starts: number[] = [];
  let at = 0;
  for (const t of X) {
    starts.push(at);
    first.backend.copy(t.storage, 0, stridesOf(t.shape), o.storage, at * st[a], st, t.shape);
    at += t.shape[a];
  }
  return record(op, o, X, [], (g) => X.map((t, i) => {
    if (!t.requiresGrad) return null;
    const B = shape.map((_, j) => (j === a ? starts[i] : 0));
    return sliceChecked(g, B, [...t.shape]);
  }));
}

/**
 * Joins same-shaped tensors along a new axis.
 * @example stack([a, b], 0) // two (3,) -> (2, 3)
 */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  const op = 'stack';
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new Error(`${op}: expected a non-empty array of tensors, received ${Array.isArray(xs) ? 'an empty array' : typeof xs}`);
  }
  const X = xs.map((t, i) => need(op, `xs[${i}]`, t));
  const a = normAxis(op, axis, X[0].rank + 1);
  X.forEach((t, i) => {
    sameKind(op, X[0], t);
    if (t.rank !== X[0].rank || t.shape.some((d, j) => d !== X[0].shape[j])) {
      throw new Error(`${op}: expected every tensor to have shape ${fmtShape(X[0].shape)}, received ${fmtShape(t.shape)} for xs[${i}]`);
    }
  });
  const parts = X.map((t) => reshape(t, [...t.shape.slice(0, a), 1, ...t.shape.slice(a)]));
  const o = concat(parts, a);
  for (const p of parts) p.dispose();
  return o;
}
