/**
 * Parameter-free activation modules, for use in `Sequential`.
 */
import type { Tensor } from '../tensor.js';
import { gelu, relu, sigmoid, tanh } from '../ops/unary.js';
import { reshape } from '../ops/shape.js';
import { Module } from './module.js';

/** tanh as a module. @example new Sequential(new Linear(2, 8), new Tanh()) */
export class Tanh extends Module {
  forward(x: Tensor): Tensor { return tanh(x); }
}

/** max(x, 0) as a module. @example new ReLU().forward(x) */
export class ReLU extends Module {
  forward(x: Tensor): Tensor { return relu(x); }
}

/** Exact (erf) GELU as a module. @example new GELU().forward(x) */
export class GELU extends Module {
  forward(x: Tensor): Tensor { return gelu(x); }
}

/** Logistic sigmoid as a module. @example new Sigmoid().forward(x) */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return sigmoid(x); }
}

/** Returns its input unchanged (a new handle on the same value, graph included). @example new Identity().forward(x) */
export class Identity extends Module {
  forward(x: Tensor): Tensor { return reshape(x, x.shape); }
}
