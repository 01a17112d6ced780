/**
 * Adam and AdamW with torch.optim's update rules (step t counted from 1):
 *   Adam:  g = g + weightDecay * p                       (L2 penalty through the gradient)
 *   AdamW: p = p * (1 - lr * weightDecay)                (decoupled decay)
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g^2
 *   vHat = amsgrad ? (vMax = max(vMax, v)) : v
 *   p = p - (lr / (1 - beta1^t)) * m / (sqrt(vHat) / sqrt(1 - beta2^t) + eps)
 * Moments start at zero.
 */
import type { Tensor } from '../tensor.js';
import { add, div, maximum, mul } from '../ops/arith.js';
import { sqrt, square } from '../ops/unary.js';
import { zerosLike } from '../creation.js';
import { clone } from '../ops/cast.js';
import { Optimizer, applyInPlace, checkRange, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';
import { show } from '../utils/format.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moments (default [0.9, 0.999]). */
  betas: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay: number;
  /** Use the running maximum of the second moment (default false). */
  amsgrad: boolean;
}

/** Adam's defaults (torch's). @example new Adam(params, { ...ADAM_DEFAULTS, lr: 1e-2 }) */
export const ADAM_DEFAULTS: Readonly<AdamOptions> = Object.freeze({ lr: 1e-3, betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 0, amsgrad: false });
/** AdamW's defaults (torch's: weight decay 1e-2). @example ADAMW_DEFAULTS.weightDecay // 0.01 */
export const ADAMW_DEFAULTS: Readonly<AdamOptions> = Object.freeze({ ...ADAM_DEFAULTS, weightDecay: 1e-2 });

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  protected validate(h: AdamOptions, where: string): void {
    checkRange(where, 'lr', h.lr, 0);
    if (!Array.isArray(h.betas) || h.betas.length !== 2) {
      throw new Error(`${where}: expected 'betas' to be a pair [beta1, beta2], received ${show(h.betas)}`);
    }
    checkRange(where, 'betas[0]', h.betas[0], 0, 1);
    checkRange(where, 'betas[1]', h.betas[1], 0, 1);
    checkRange(where, 'eps', h.eps, 0);
    checkRange(where, 'weightDecay', h.weightDecay, 0);
    if (typeof h.amsgrad !== 'boolean') throw new Error(`${where}: expected 'amsgrad' to be a boolean, received ${show(h.amsgrad)}`);
  }

  protected update(p: Tensor, g: Tensor, h: ParamGroup<AdamOptions>, state: ParamState): void {
    const [b1, b2] = h.betas;
    const t = ++state.step;
    const m = state.tensors.get('expAvg') ?? this.setState(state, 'expAvg', zerosLike(p));
    const v = state.tensors.get('expAvgSq') ?? this.setState(state, 'expAvgSq', zerosLike(p));
    let decay = 1;
    if (h.weightDecay !== 0) {
      if (this.decoupled) decay = 1 - h.lr * h.weightDecay;
      else g = add(g, mul(p, h.weightDecay));
    }
    m.backend.axpby(b1, m.storage, 1 - b1, g.storage, m.storage);
    v.backend.axpby(b2, v.storage, 1 - b2, square(g).storage, v.storage);
    let vHat = v;
    if (h.amsgrad) {
      const prev = state.tensors.get('maxExpAvgSq');
      vHat = this.setState(state, 'maxExpAvgSq', prev ? maximum(prev, v) : clone(v));
    }
    const stepSize = h.lr / (1 - b1 ** t);
    const denom = add(div(sqrt(vHat), Math.sqrt(1 - b2 ** t)), h.eps);
    applyInPlace(p, decay, -stepSize, div(m, denom));
  }
}

/**
 * Adam (Kingma & Ba, 2015), as torch.optim.Adam.
 * @example const opt = new Adam(model.parameters(), { lr: 1e-3 });
 */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: ParamsInput<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super('Adam', params, { ...ADAM_DEFAULTS }, opts);
  }
}

/**
 * AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, as torch.optim.AdamW.
 * @example const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 });
 */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: ParamsInput<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super('AdamW', params, { ...ADAMW_DEFAULTS }, opts);
  }
}
