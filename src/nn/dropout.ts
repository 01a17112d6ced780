/**
 * `Dropout` as a module: active in training mode, the identity in eval mode.
 */
import type { Tensor } from '../tensor.js';
import { dropout } from '../ops/dropout.js';
import { Module } from './module.js';
import { show } from '../utils/format.js';

/**
 * Zeroes each element with probability p during training (scaling the rest by 1/(1-p));
 * masks come from the global generator (`manualSeed`).
 * @example const drop = new Dropout(0.1); model.eval(); drop.forward(x) // x unchanged
 */
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new Error(`Dropout: expected a drop probability p in [0, 1], received ${show(p)}`);
    }
    this.p = p;
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, { training: this.training });
  }
}
