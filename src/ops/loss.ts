/**
 * Losses with torch semantics: `crossEntropy` (class-index or class-probability targets,
 * label smoothing) and `mseLoss`, each with `reduction: 'mean' | 'sum' | 'none'`. Both are
 * compositions of differentiable ops.
 */
import { checkKeys } from '../autograd/engine.js';
import { Tensor, fmtShape } from '../tensor.js';
import { arange, tensor } from '../creation.js';
import { tidy } from '../scope.js';
import { need, sameKind, sameShape } from './util.js';
import { add, sub, mul, neg, equal } from './arith.js';
import { sum, mean } from './reduce.js';
import { reshape, permute } from './shape.js';
import { logSoftmax } from './softmax.js';
import { show } from '../utils/format.js';

/** How a loss combines its elements. @example mseLoss(a, b, { reduction: 'none' }) */
export type Reduction = 'mean' | 'sum' | 'none';
const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

/** Options shared by the losses. @example mseLoss(a, b, { reduction: 'sum' }) */
export interface LossOptions {
  /** 'mean' (default) averages over every loss element, 'sum' adds them, 'none' keeps them. */
  reduction?: Reduction;
}

/** Options of `crossEntropy`. @example crossEntropy(x, t, { labelSmoothing: 0.1 }) */
export interface CrossEntropyOptions extends LossOptions {
  /** Mixes the target with the uniform distribution: q = (1 - s) q + s / C (default 0). */
  labelSmoothing?: number;
}

function checkReduction(op: string, r: unknown): Reduction {
  if (!REDUCTIONS.includes(r as Reduction)) {
    throw new Error(`${op}: expected option 'reduction' to be one of ${REDUCTIONS.map((x) => `'${x}'`).join(', ')}, received ${show(r)}`);
  }
  return r as Reduction;
}

function reduce(l: Tensor, r: Reduction): Tensor {
  return r === 'none' ? l : r === 'sum' ? sum(l) : mean(l);
}

/** Moves the class axis (1) last and flattens: (N, C, d...) -> (N*d..., C). */
function classesLast(X: Tensor): Tensor {
  if (X.rank <= 2) return X.rank === 1 ? reshape(X, [1, X.shape[0]]) : X;
  const perm = [0, ...X.shape.map((_, i) => i).slice(2), 1];
  return reshape(permute(X, perm), [-1, X.shape[1]]);
}

/** One-hot rows (M, C) from class indices, validated (reads a Tensor of indices synchronously). */
function oneHot(op: string, targets: Tensor | readonly number[], want: readonly number[], C: number, like: Tensor): Tensor {
  let idx: ArrayLike<number>;
  let shape: readonly number[];
  if (targets instanceof Tensor && targets.backend.asyncOnly) return deviceOneHot(op, targets, want, C, like);
  if (targets instanceof Tensor) {
    const T = need(op, 'targets', targets);
    idx = T.dataSync();
    shape = T.shape;
  } else if (Array.isArray(targets)) {
    idx = targets;
    shape = [targets.length];
  } else {
    throw new Error(`${op}: expected targets to be a Tensor or an array of class indices, received ${typeof targets}`);
  }
  if (!sameShape(shape, want)) {
    throw new Error(`${op}: expected class-index targets of shape ${fmtShape(want)} (or probabilities of the input's shape), received ${fmtShape(shape)}`);
  }
  const v = new Float64Array(idx.length * C);
  for (let i = 0; i < idx.length; i++) {
    const c = idx[i];
    if (!Number.isInteger(c) || c < 0 || c >= C) {
      throw new Error(`${op}: expected class indices that are integers in [0, ${C - 1}], received ${c} at position ${i}`);
    }
    v[i * C + c] = 1;
  }
  return tensor(v, [idx.length, C], { dtype: like.dtype, backend: like.backend });
}

/**
 * One-hot rows built on a backend read only asynchronously (webgpu), without a readback:
 * equal(targets, arange(C)). The indices cannot be validated synchronously there; an index
 * that is not an integer in [0, C) gives an all-zero row (no loss term), as in tfjs's oneHot.
 */
function deviceOneHot(op: string, targets: Tensor, want: readonly number[], C: number, like: Tensor): Tensor {
  const T = need(op, 'targets', targets);
  sameKind(op, like, T);
  if (!sameShape(T.shape, want)) {
    throw new Error(`${op}: expected class-index targets of shape ${fmtShape(want)} (or probabilities of the input's shape), received ${fmtShape(T.shape)}`);
  }
  const classes = arange(0, C, 1, { dtype: like.dtype, backend: like.backend });
  return equal(reshape(T, [T.size, 1]), reshape(classes, [1, C]));
}

/**
 * Cross entropy between logits (N, C) (or (C), or (N, C, d1, ...)) and targets, like
 * torch.nn.functional.cross_entropy: targets are class indices of shape (N) (or (), or
 * (N, d1, ...)) as a Tensor of integer-valued floats or a number[], or class probabilities of
 * the input's shape. A Tensor of indices is read synchronously for validation on CPU backends;
 * on webgpu it is turned into one-hot rows on the device (not validated: an out-of-range index
 * contributes no loss term).
 * @example crossEntropy(logits, [0, 2, 1], { labelSmoothing: 0.1 })
 */
export function crossEntropy(logits: Tensor, targets: Tensor | readonly number[], opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  const X = need(op, 'logits', logits);
  checkKeys(op, opts, ['reduction', 'labelSmoothing']);
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  const eps = opts.labelSmoothing ?? 0;
  if (typeof eps !== 'number' || !(eps >= 0 && eps <= 1)) {
    throw new Error(`${op}: expected option 'labelSmoothing' in [0, 1], received ${typeof eps === 'number' ? eps : JSON.stringify(eps)}`);
  }
  if (X.rank < 1) throw new Error(`${op}: expected logits of shape (C), (N, C) or (N, C, d1, ...), received ${fmtShape(X.shape)}`);
  const C = X.rank === 1 ? X.shape[0] : X.shape[1];
  // The shape of the per-element loss: the input without its class axis.
  const lossShape = X.rank === 1 ? [] : [X.shape[0], ...X.shape.slice(2)];
  return tidy(() => {
    let q: Tensor;
    if (targets instanceof Tensor && sameShape(targets.shape, X.shape)) {
      const T = need(op, 'targets', targets);
      sameKind(op, X, T);
      q = classesLast(T);
    } else {
      q = oneHot(op, targets, lossShape, C, X);
    }
    if (eps > 0) q = add(mul(q, 1 - eps), eps / C);
    const logp = logSoftmax(classesLast(X), -1);
    const perElem = neg(sum(mul(q, logp), -1));
    return reduce(reshape(perElem, lossShape), reduction);
  });
}

/**
 * Mean squared error between same-shaped tensors, like torch.nn.functional.mse_loss.
 * @example mseLoss(pred, target, { reduction: 'sum' })
 */
export function mseLoss(input: Tensor, target: Tensor, opts: LossOptions = {}): Tensor {
  const op = 'mseLoss';
  const A = need(op, 'input', input), B = need(op, 'target', target);
  checkKeys(op, opts, ['reduction']);
  const reduction = checkReduction(op, opts.reduction ?? 'mean');
  sameKind(op, A, B);
  if (!sameShape(A.shape, B.shape)) {
    throw new Error(`${op}: expected target of the input's shape ${fmtShape(A.shape)}, received ${fmtShape(B.shape)}`);
  }
  return tidy(() => {
    const d = sub(A, B);
    return reduce(mul(d, d), reduction);
  });
}
