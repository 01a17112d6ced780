/**
 * Stochastic gradient descent with torch.optim.SGD's update rule:
 *   d = g + weightDecay * p
 *   buf = d (first step), else buf = momentum * buf + (1 - dampening) * d
 *   d = nesterov ? d + momentum * buf : buf          (when momentum != 0)
 *   p = p - lr * d
 */
import type { Tensor } from '../tensor.js';
import { add, mul } from '../ops/arith.js';
import { clone } from '../ops/cast.js';
import { Optimizer, applyInPlace, checkRange, type ParamGroup, type ParamState, type ParamsInput } from './optimizer.js';
import { show } from '../utils/format.js';

export interface SGDOptions {
  /** Learning rate (default 1e-3, torch's). */
  lr: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov: boolean;
}

/** SGD's defaults (torch's). @example SGD_DEFAULTS.lr // 1e-3 */
export const SGD_DEFAULTS: Readonly<SGDOptions> = Object.freeze({ lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false });

/**
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * await loss.backward(); opt.step(); opt.zeroGrad();
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, opts: Partial<SGDOptions> = {}) {
    super('SGD', params, { ...SGD_DEFAULTS }, opts);
  }

  protected validate(h: SGDOptions, where: string): void {
    checkRange(where, 'lr', h.lr, 0);
    checkRange(where, 'momentum', h.momentum, 0);
    checkRange(where, 'dampening', h.dampening, -Infinity);
    checkRange(where, 'weightDecay', h.weightDecay, 0);
    if (typeof h.nesterov !== 'boolean') throw new Error(`${where}: expected 'nesterov' to be a boolean, received ${show(h.nesterov)}`);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new Error(`${where}: Nesterov momentum needs momentum > 0 and dampening 0, received momentum ${h.momentum} and dampening ${h.dampening}`);
    }
  }

  protected update(p: Tensor, g: Tensor, h: ParamGroup<SGDOptions>, state: ParamState): void {
    state.step++;
    let d = h.weightDecay !== 0 ? add(g, mul(p, h.weightDecay)) : g;
    if (h.momentum !== 0) {
      let buf = state.tensors.get('momentumBuffer');
      if (!buf) {
        buf = this.setState(state, 'momentumBuffer', clone(d));
      } else {
        buf.backend.axpby(h.momentum, buf.storage, 1 - h.dampening, d.storage, buf.storage);
      }
      d = h.nesterov ? add(d, mul(buf, h.momentum)) : buf;
    }
    applyInPlace(p, 1, -h.lr, d);
  }
}
