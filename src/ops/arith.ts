/**
 * Broadcasting binary arithmetic and comparisons, with VJPs composed from ops (so they can be
 * differentiated again under `createGraph`).
 */
import type { BinaryOp } from '../backend/backend.js';
import { record } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { broadcastShapes, broadcastStrides, out, outWritten, pair, need, sameKind, sameShape, type TensorLike } from './util.js';
import { sumTo } from './reduce.js';

/** Frees the rank-0 tensors `pair` made from number arguments (a graph node keeps its own handles). */
function freeLifted(o: Tensor, A: Tensor, B: Tensor, liftedA: boolean, liftedB: boolean): Tensor {
  if (liftedA) A.dispose();
  if (liftedB) B.dispose();
  return o;
}

/** Runs a broadcasting binary kernel (no graph). */
export function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor, name: string = op): Tensor {
  const shape = broadcastShapes(name, a.shape, b.shape);
  const o = outWritten(shape, a);
  a.backend.binary(op, a.storage, b.storage, o.storage, shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape));
  return o;
}

/**
 * Elementwise a + b with broadcasting.
 * @example add(tensor([1, 2]), 1) // [2, 3]
 */
export function add(a: TensorLike, b: TensorLike): Tensor {
  const [A, B, la, lb] = pair('add', a, b);
  const o = binaryRaw('add', A, B);
  return freeLifted(record('add', o, [A, B], [], (g) => [sumTo(g, A.shape), sumTo(g, B.shape)]), A, B, la, lb);
}

/** Elementwise a - b with broadcasting. @example sub(x, y) */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  const [A, B, la, lb] = pair('sub', a, b);
  const o = binaryRaw('sub', A, B);
  return freeLifted(record('sub', o, [A, B], [], (g, _s, needs) => [needs[0] ? sumTo(g, A.shape) : null, needs[1] ? sumTo(neg(g), B.shape) : null]), A, B, la, lb);
}

/** Elementwise a * b with broadcasting. @example mul(x, 2) */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [A, B, la, lb] = pair('mul', a, b);
  const o = binaryRaw('mul', A, B);
  return freeLifted(record('mul', o, [A, B], [A, B], (g, [sa, sb], needs) => [
    needs[0] ? sumTo(mul(g, sb), A.shape) : null,
    needs[1] ? sumTo(mul(g, sa), B.shape) : null,
  ]), A, B, la, lb);
}

/** Elementwise a / b with broadcasting. @example div(x, 4) */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const [A, B, la, lb] = pair('div', a, b);
  const o = binaryRaw('div', A, B);
  return freeLifted(record('div', o, [A, B], [A, B], (g, [sa, sb], needs) => [
    needs[0] ? sumTo(div(g, sb), A.shape) : null,
    needs[1] ? sumTo(neg(div(mul(g, sa), mul(sb, sb))), B.shape) : null,
  ]), A, B, la, lb);
}

/** Elementwise -x. @example neg(x) */
export function neg(x: Tensor): Tensor {
  const X = need('neg', 'x', x);
  const o = out(X.shape, X);
  X.backend.unary('neg', X.storage, o.storage);
  return record('neg', o, [X], [], (g) => [neg(g)]);
}

/**
 * Elementwise a ** b with broadcasting. The gradient for b uses log(a) (NaN for a < 0, like torch).
 * @example pow(x, 2)
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  const [A, B, la, lb] = pair('pow', a, b);
  const o = binaryRaw('pow', A, B);
  return freeLifted(record('pow', o, [A, B], [A, B, o], (g, [sa, sb, so], needs) => [
    needs[0] ? sumTo(mul(g, mul(sb, pow(sa, sub(sb, 1)))), A.shape) : null,
    needs[1] ? sumTo(mul(g, mul(so, logOf(sa))), B.shape) : null,
  ]), A, B, la, lb);
}

function logOf(x: Tensor): Tensor {
  const o = out(x.shape, x);
  x.backend.unary('log', x.storage, o.storage);
  return record('log', o, [x], [x], (g, [sx]) => [div(g, sx)]);
}

function minmax(op: 'maximum' | 'minimum', a: TensorLike, b: TensorLike): Tensor {
  const [A, B, la, lb] = pair(op, a, b);
  const o = binaryRaw(op, A, B);
  // Ties split the gradient evenly, as torch does.
  return freeLifted(record(op, o, [A, B], [A, B], (g, [sa, sb], needs) => {
    const win = binaryRaw(op === 'maximum' ? 'gt' : 'lt', sa, sb);
    const tie = binaryRaw('eq', sa, sb);
    const wa = add(win, mul(tie, 0.5));
    const wb = sub(1, add(win, mul(tie, 0.5)));
    return [needs[0] ? sumTo(mul(g, wa), A.shape) : null, needs[1] ? sumTo(mul(g, wb), B.shape) : null];
  }), A, B, la, lb);
}

/** Elementwise maximum with broadcasting. @example maximum(x, 0) */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return minmax('maximum', a, b);
}

/** Elementwise minimum with broadcasting. @example minimum(x, 1) */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return minmax('minimum', a, b);
}

function compare(op: BinaryOp, a: TensorLike, b: TensorLike): Tensor {
  const [A, B, la, lb] = pair(op, a, b);
  return freeLifted(binaryRaw(op, A, B), A, B, la, lb);
}

/** 1 where a == b else 0 (no gradient). @example equal(x, y) */
export const equal = (a: TensorLike, b: TensorLike): Tensor => compare('eq', a, b);
/** 1 where a != b else 0. @example notEqual(x, 0) */
export const notEqual = (a: TensorLike, b: TensorLike): Tensor => compare('ne', a, b);
/** 1 where a < b else 0. @example less(x, y) */
export const less = (a: TensorLike, b: TensorLike): Tensor => compare('lt', a, b);
/** 1 where a <= b else 0. @example lessEqual(x, 1) */
export const lessEqual = (a: TensorLike, b: TensorLike): Tensor => compare('le', a, b);
/** 1 where a > b else 0. @example greater(x, 0) */
export const greater = (a: TensorLike, b: TensorLike): Tensor => compare('gt', a, b);
/** 1 where a >= b else 0. @example greaterEqual(x, y) */
export const greaterEqual = (a: TensorLike, b: TensorLike): Tensor => compare('ge', a, b);

/**
 * Picks a where cond != 0 else b, broadcasting all three.
 * @example where(greater(x, 0), x, 0)
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const C = need('where', 'cond', cond);
  const [A, B, la, lb] = pair('where', a, b);
  sameKind('where', C, A);
  const shape = broadcastShapes('where', broadcastShapes('where', C.shape, A.shape), B.shape);
  const o = out(shape, A);
  A.backend.where(C.storage, A.storage, B.storage, o.storage, shape,
    broadcastStrides(C.shape, shape), broadcastStrides(A.shape, shape), broadcastStrides(B.shape, shape));
  return freeLifted(record('where', o, [C, A, B], [C], (g, [sc], needs) => {
    const zero = g.mul(0);
    return [
      null,
      needs[1] ? sumTo(where(sc, g, zero), A.shape) : null,
      needs[2] ? sumTo(where(sc, zero, g), B.shape) : null,
    ];
  }), A, B, la, lb);
}

export { sameShape };
