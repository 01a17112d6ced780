/**
 * Elementwise unary functions with VJPs. Derivatives of tanh, sigmoid, exp and sqrt are
 * written with their outputs so double backward works through them.
 */
import type { UnaryOp } from '../backend/backend.js';
import { record } from '../autograd/engine.js';
import type { Tensor } from '../tensor.js';
import { need, outWritten } from './util.js';
import { mul, div, sub, neg } from './arith.js';
import { tanhBackward } from './fused.js';

/** Runs a unary kernel (no graph). */
export function unaryRaw(op: UnaryOp, x: Tensor): Tensor {
  const o = outWritten(x.shape, x);
  x.backend.unary(op, x.storage, o.storage);
  return o;
}

function unary(op: UnaryOp, x: Tensor, saveOut: boolean,
  vjp: (g: Tensor, x: Tensor, y: Tensor) => Tensor): Tensor {
  const X = need(op, 'x', x);
  const o = unaryRaw(op, X);
  return record(op, o, [X], saveOut ? [X, o] : [X], (g, [sx, so]) => [vjp(g, sx, so)]);
}

/** @example sqrt(x) */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, true, (g, _x, y) => div(g, mul(y, 2)));
/** @example exp(x) */
export const exp = (x: Tensor): Tensor => unary('exp', x, true, (g, _x, y) => mul(g, y));
/** Natural logarithm. @example log(x) */
export const log = (x: Tensor): Tensor => unary('log', x, false, (g, sx) => div(g, sx));
/** @example abs(x) */
export const abs = (x: Tensor): Tensor => unary('abs', x, false, (g, sx) => mul(g, unaryRaw('sign', sx)));
/** @example tanh(x) */
export const tanh = (x: Tensor): Tensor => unary('tanh', x, true, (g, _x, y) => tanhBackward(g, y));
/** Logistic sigmoid. @example sigmoid(x) */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x, true, (g, _x, y) => mul(g, mul(y, sub(1, y))));
/** max(x, 0); the derivative at 0 is 0, as in torch. @example relu(x) */
export const relu = (x: Tensor): Tensor => unary('relu', x, false, (g, sx) => mul(g, unaryRaw('step', sx)));
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
/** gelu'(x) = Phi(x) + x phi(x) as an op, so gelu has a second derivative: phi(x) (2 - x^2). */
function geluGrad(x: Tensor): Tensor {
  const o = unaryRaw('geluGrad', x);
  return record('geluGrad', o, [x], [x], (g, [sx]) => {
    const x2 = mul(sx, sx);
    return [mul(g, mul(mul(exp(mul(x2, -0.5)), INV_SQRT_2PI), sub(2, x2)))];
  });
}
/** Exact (erf) GELU, torch's default. @example gelu(x) */
export const gelu = (x: Tensor): Tensor => unary('gelu', x, false, (g, sx) => mul(g, geluGrad(sx)));
/** log(1 + exp(x)), linear above 20 like torch. @example softplus(x) */
export const softplus = (x: Tensor): Tensor => unary('softplus', x, false, (g, sx) => mul(g, sigmoid(sx)));
/** x * x. @example square(x) */
export const square = (x: Tensor): Tensor => unary('square', x, false, (g, sx) => mul(g, mul(sx, 2)));
/** @example sin(x) */
export const sin = (x: Tensor): Tensor => unary('sin', x, false, (g, sx) => mul(g, cos(sx)));
/** @example cos(x) */
export const cos = (x: Tensor): Tensor => unary('cos', x, false, (g, sx) => neg(mul(g, sin(sx))));
