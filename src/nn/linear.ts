/**
 * `Linear`: y = x W^T + b with torch's layout (W is (out, in)) and torch's default init:
 * kaiming_uniform with a = sqrt(5), i.e. W and b ~ U(-1/sqrt(in), 1/sqrt(in)).
 */
import type { Backend } from '../backend/backend.js';
import { checkKeys } from '../autograd/engine.js';
import type { DType } from '../dtype.js';
import type { Rng } from '../random.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { linear } from '../ops/linalg.js';
import { Module } from './module.js';
import { generatorFor, kaimingUniform, uniform } from './init.js';
import { show } from '../utils/format.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  dtype?: DType;
  backend?: Backend;
  /** Seed for the initial weights (weight drawn first, then bias). */
  seed?: number;
  /** A shared generator for the initial weights. Not together with `seed`. */
  generator?: Rng;
}

/** Internal: checks a layer size argument. @example checkSize('Linear', 'inFeatures', 4) */
export function checkSize(where: string, name: string, v: unknown, min = 0): number {
  if (!Number.isInteger(v) || (v as number) < min) {
    throw new Error(`${where}: expected ${name} to be an integer >= ${min}, received ${show(v)}`);
  }
  return v as number;
}

/**
 * Internal: registers a layer's `weight` (shape `weightShape`, kaiming_uniform with a = sqrt(5))
 * and `bias` (weightShape[0] values ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)), or null when `opts.bias`
 * is false), torch's default init of Linear and Conv2d; the weight is drawn first, then the bias.
 * @example registerWeightAndBias(this, 'Linear', [outFeatures, inFeatures], inFeatures, opts)
 */
export function registerWeightAndBias(m: Module, where: string, weightShape: readonly number[], fanIn: number, opts: LinearOptions): void {
  const rng = generatorFor(where, opts);
  const kind = { dtype: opts.dtype ?? 'float32', ...(opts.backend ? { backend: opts.backend } : {}) };
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  tidy(() => {
    m.registerParameter('weight', kaimingUniform(weightShape, { a: Math.sqrt(5), generator: rng, ...kind }));
    m.registerParameter('bias', opts.bias ?? true
      ? uniform([weightShape[0]], { low: -bound, high: bound, generator: rng, ...kind })
      : null);
  });
}

/**
 * Fully connected layer with parameters `weight` (out, in) and `bias` (out).
 * @example
 * const fc = new Linear(4, 2, { seed: 0 });
 * const y = fc.forward(randn([8, 4])); // (8, 2)
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkKeys('Linear', opts, ['bias', 'dtype', 'backend', 'seed', 'generator']);
    this.inFeatures = checkSize('Linear', 'inFeatures', inFeatures);
    this.outFeatures = checkSize('Linear', 'outFeatures', outFeatures);
    registerWeightAndBias(this, 'Linear', [outFeatures, inFeatures], inFeatures, opts);
  }

  /** The (out, in) weight (a computed tensor if a reparametrisation replaced it). */
  get weight(): Tensor {
    return this.tensor('weight');
  }

  /** The (out) bias, or null without bias. */
  get bias(): Tensor | null {
    return this.optionalTensor('bias');
  }

  /** x (..., in) -> (..., out). */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
