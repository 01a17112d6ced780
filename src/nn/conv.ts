/**
 * `Conv2d`: 2-D convolution over (N, C, H, W) with torch's weight layout
 * (out, in/groups, kh, kw) and torch's default init: kaiming_uniform with a = sqrt(5), i.e.
 * weight and bias ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with fanIn = in/groups * kh * kw.
 */
import { checkKeys } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { conv2d } from '../ops/conv.js';
import { Module } from './module.js';
import { checkSize, registerWeightAndBias, type LinearOptions } from './linear.js';
import { show } from '../utils/format.js';

type Pair = number | readonly [number, number];

/** Conv2d's geometry, plus Linear's options (bias, dtype, backend, seed, generator). */
export interface Conv2dLayerOptions extends LinearOptions {
  /** Step between windows (default 1). */
  stride?: Pair;
  /** Zeros added on both sides of H and W (default 0). */
  padding?: Pair;
  /** Spacing between kernel taps (default 1). */
  dilation?: Pair;
  /** Independent channel groups (default 1). */
  groups?: number;
}

function pair(name: string, v: Pair, min: number): [number, number] {
  const p: unknown[] = typeof v === 'number' ? [v, v] : Array.isArray(v) ? [...v] : [];
  if (p.length !== 2 || p.some((d) => !Number.isInteger(d) || (d as number) < min)) {
    throw new Error(`Conv2d: expected ${name} to be an integer >= ${min} or a pair of them, received ${show(v)}`);
  }
  return p as [number, number];
}

/**
 * @example
 * const conv = new Conv2d(3, 8, 3, { padding: 1, seed: 0 });
 * const y = conv.forward(x); // (N, 3, H, W) -> (N, 8, H, W)
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dLayerOptions = {}) {
    super();
    checkKeys('Conv2d', opts, ['stride', 'padding', 'dilation', 'groups', 'bias', 'dtype', 'backend', 'seed', 'generator']);
    this.inChannels = checkSize('Conv2d', 'inChannels', inChannels, 1);
    this.outChannels = checkSize('Conv2d', 'outChannels', outChannels, 1);
    this.kernelSize = pair('kernelSize', kernelSize, 1);
    this.stride = pair('stride', opts.stride ?? 1, 1);
    this.padding = pair('padding', opts.padding ?? 0, 0);
    this.dilation = pair('dilation', opts.dilation ?? 1, 1);
    this.groups = checkSize('Conv2d', 'groups', opts.groups ?? 1, 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new Error(`Conv2d: expected groups to divide inChannels ${inChannels} and outChannels ${outChannels}, received ${this.groups}`);
    }
    const [kh, kw] = this.kernelSize;
    registerWeightAndBias(this, 'Conv2d', [outChannels, inChannels / this.groups, kh, kw], (inChannels / this.groups) * kh * kw, opts);
  }

  /** The (out, in/groups, kh, kw) weight (a computed tensor if a reparametrisation replaced it). */
  get weight(): Tensor {
    return this.tensor('weight');
  }

  /** The (out) bias, or null without bias. */
  get bias(): Tensor | null {
    return this.optionalTensor('bias');
  }

  /** x (N, in, H, W) -> (N, out, H', W'). */
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}
