/**
 * Normalisation layers: `LayerNorm` over trailing dimensions and `GroupNorm` over channel
 * groups, with torch's parameters (weight ones, bias zeros) and names.
 */
import type { Backend } from '../backend/backend.js';
import { checkKeys } from '../autograd/engine.js';
import type { DType } from '../dtype.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { groupNorm, layerNorm } from '../ops/norm.js';
import { Module } from './module.js';
import { ones, zeros } from './init.js';
import { checkSize } from './linear.js';
import { show } from '../utils/format.js';

function checkEps(where: string, eps: unknown): number {
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) {
    throw new Error(`${where}: expected eps to be a finite number >= 0, received ${show(eps)}`);
  }
  return eps;
}

function checkBool(where: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error(`${where}: expected ${name} to be a boolean, received ${show(v)}`);
  return v;
}

export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn `weight` and `bias` of shape normalizedShape (default true). */
  elementwiseAffine?: boolean;
  /** Learn `bias` when elementwiseAffine (default true). */
  bias?: boolean;
  dtype?: DType;
  backend?: Backend;
}

/**
 * Layer normalisation over the last `normalizedShape.length` dimensions.
 * @example const ln = new LayerNorm(64); const y = ln.forward(x); // x (B, T, 64)
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    const where = 'LayerNorm';
    checkKeys(where, opts, ['eps', 'elementwiseAffine', 'bias', 'dtype', 'backend']);
    const ns = typeof normalizedShape === 'number' ? [normalizedShape] : Array.isArray(normalizedShape) ? [...normalizedShape] : null;
    if (!ns || ns.length === 0) throw new Error(`${where}: expected normalizedShape to be a positive integer or a non-empty array of them, received ${show(normalizedShape)}`);
    ns.forEach((d) => checkSize(where, 'every normalizedShape entry', d, 1));
    this.normalizedShape = ns;
    this.eps = checkEps(where, opts.eps ?? 1e-5);
    const affine = checkBool(where, 'elementwiseAffine', opts.elementwiseAffine ?? true);
    const withBias = checkBool(where, 'bias', opts.bias ?? true);
    const kind = { dtype: opts.dtype ?? 'float32', ...(opts.backend ? { backend: opts.backend } : {}) };
    tidy(() => {
      this.registerParameter('weight', affine ? ones(ns, kind) : null);
      this.registerParameter('bias', affine && withBias ? zeros(ns, kind) : null);
    });
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.optionalTensor('weight'), this.optionalTensor('bias'), this.eps);
  }
}

export interface GroupNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn per-channel `weight` and `bias` (default true). */
  affine?: boolean;
  dtype?: DType;
  backend?: Backend;
}

/**
 * Group normalisation of (N, C, ...) inputs with C split into `numGroups` groups.
 * @example const gn = new GroupNorm(4, 32); const y = gn.forward(x); // x (N, 32, H, W)
 */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;

  constructor(numGroups: number, numChannels: number, opts: GroupNormOptions = {}) {
    super();
    const where = 'GroupNorm';
    checkKeys(where, opts, ['eps', 'affine', 'dtype', 'backend']);
    this.numGroups = checkSize(where, 'numGroups', numGroups, 1);
    this.numChannels = checkSize(where, 'numChannels', numChannels, 1);
    if (numChannels % numGroups !== 0) {
      throw new Error(`${where}: expected numGroups to divide numChannels, received numGroups ${numGroups} and numChannels ${numChannels}`);
    }
    this.eps = checkEps(where, opts.eps ?? 1e-5);
    const affine = checkBool(where, 'affine', opts.affine ?? true);
    const kind = { dtype: opts.dtype ?? 'float32', ...(opts.backend ? { backend: opts.backend } : {}) };
    tidy(() => {
      this.registerParameter('weight', affine ? ones([numChannels], kind) : null);
      this.registerParameter('bias', affine ? zeros([numChannels], kind) : null);
    });
  }

  forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, this.optionalTensor('weight'), this.optionalTensor('bias'), this.eps);
  }
}
