/**
 * Normalisation layers as functions with torch semantics (biased variance, eps inside the
 * square root): `layerNorm` over the trailing `normalizedShape`, and `groupNorm` over channel
 * groups of an (N, C, ...) tensor. Both are compositions of differentiable ops.
 */
import type { Tensor } from '../tensor.js';
import { fmtShape } from '../tensor.js';
import { tidy } from '../scope.js';
import { need, sameKind, sameShape } from './util.js';
import { add, sub, mul, div } from './arith.js';
import { sqrt } from './unary.js';
import { mean } from './reduce.js';
import { reshape } from './shape.js';

function checkEps(op: string, eps: number): void {
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) {
    throw new Error(`${op}: expected eps to be a finite non-negative number, received ${typeof eps === 'number' ? eps : JSON.stringify(eps)}`);
  }
}

function affineParam(op: string, name: string, p: Tensor | null | undefined, X: Tensor, shape: readonly number[]): Tensor | null {
  if (p === undefined || p === null) return null;
  const P = need(op, name, p);
  sameKind(op, X, P);
  if (!sameShape(P.shape, shape)) {
    throw new Error(`${op}: expected ${name} of shape ${fmtShape(shape)}, received ${fmtShape(P.shape)}`);
  }
  return P;
}

/** (x - mean) / sqrt(var + eps) over `axes` (biased variance). */
function standardize(X: Tensor, axes: number[], eps: number): Tensor {
  const mu = mean(X, axes, { keepDims: true });
  const xc = sub(X, mu);
  const v = mean(mul(xc, xc), axes, { keepDims: true });
  return div(xc, sqrt(add(v, eps)));
}

/**
 * Layer normalisation over the last `normalizedShape.length` axes, with an optional
 * elementwise affine `weight` and `bias` of shape `normalizedShape`.
 * @example layerNorm(x, [64], gamma, beta) // x (B, T, 64)
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null,
  bias?: Tensor | null, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  const X = need(op, 'x', x);
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
  const k = ns.length;
  if (k === 0 || k > X.rank || !sameShape(X.shape.slice(X.rank - k), ns)) {
    throw new Error(`${op}: expected an input whose trailing dimensions are normalizedShape ${fmtShape(ns)}, received ${fmtShape(X.shape)}`);
  }
  checkEps(op, eps);
  const W = affineParam(op, 'weight', weight, X, ns), B = affineParam(op, 'bias', bias, X, ns);
  return tidy(() => {
    const axes = ns.map((_, i) => X.rank - k + i);
    let y = standardize(X, axes, eps);
    if (W) y = mul(y, W);
    if (B) y = add(y, B);
    return y;
  });
}

/**
 * Group normalisation of x (N, C, ...) with C split into `numGroups` groups, each normalised
 * over its channels and all spatial positions; optional per-channel `weight` and `bias` (C).
 * @example groupNorm(feat, 8, gamma, beta) // feat (N, 32, H, W)
 */
export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const op = 'groupNorm';
  const X = need(op, 'x', x);
  if (X.rank < 2) throw new Error(`${op}: expected an input of shape (N, C, ...), received ${fmtShape(X.shape)}`);
  const [N, C] = X.shape;
  if (!Number.isInteger(numGroups) || numGroups < 1 || C % numGroups !== 0) {
    throw new Error(`${op}: expected numGroups to be a positive integer dividing the ${C} channels of ${fmtShape(X.shape)}, received ${numGroups}`);
  }
  checkEps(op, eps);
  const W = affineParam(op, 'weight', weight, X, [C]), B = affineParam(op, 'bias', bias, X, [C]);
  return tidy(() => {
    // Explicit group size (not -1): an empty batch (N = 0) has a shape too, as in torch.
    const grouped = reshape(X, [N, numGroups, (C / numGroups) * X.shape.slice(2).reduce((a, d) => a * d, 1)]);
    let y = reshape(standardize(grouped, [2], eps), X.shape);
    const chan = [C, ...X.shape.slice(2).map(() => 1)];
    if (W) y = mul(y, reshape(W, chan));
    if (B) y = add(y, reshape(B, chan));
    return y;
  });
}
