/**
 * Elementwise WGSL kernels: fill, unary, binary and where with broadcasting strides, axpby,
 * strided copy, and the DEQ cell's fused addTanh / tanhGrad. One thread per output element;
 * the structure key is the op and the rank after `collapse`, every size and stride is a
 * uniform.
 */
import type { BinaryOp, UnaryOp } from '../backend.js';
import type { KernelDef } from './pipelines.js';
import { ERF, TANH, header, linearMain, stridedOffsets } from './wgsl.js';

const cache = new Map<string, KernelDef>();
/** The cached definition of `key` (the code is built on first compile only). */
export function def(key: string, code: () => string): KernelDef {
  let d = cache.get(key);
  if (!d) cache.set(key, (d = { key, code }));
  return d;
}

/** WGSL of each unary op on `x` (f32), matching the js reference's definitions. */
const UNARY: Record<UnaryOp, string> = {
  neg: '-x',
  sqrt: 'select(sqrt(x), nan(), x < 0.0)',
  exp: 'exp(x)',
  log: 'select(select(log(x), -inf(), x == 0.0), nan(), x < 0.0)',
  abs: 'abs(x)',
  tanh: 'tanh_(x)',
  sigmoid: 'select(exp(x) / (1.0 + exp(x)), 1.0 / (1.0 + exp(-x)), x >= 0.0)',
  relu: 'select(0.0, x, x > 0.0)',
  gelu: '0.5 * x * (1.0 + erf_(x * 0.70710678118654752))',
  geluGrad: '0.5 * (1.0 + erf_(x * 0.70710678118654752)) + x * 0.39894228040143268 * exp(-0.5 * x * x)',
  softplus: 'select(log(1.0 + exp(x)), x, x > 20.0)',
  sign: 'select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0)',
  square: 'x * x',
  reciprocal: '1.0 / x',
  step: 'select(0.0, 1.0, x > 0.0)',
  sin: 'sincos_(x, 0u)',
  cos: 'sincos_(x, 1u)',
};

/** Ops that map NaN to 0 as the reference does (x > 0 is false for NaN); the others keep NaN. */
const NAN_TO_VALUE: ReadonlySet<UnaryOp> = new Set(['relu', 'step', 'sign']);

/**
 * sin / cos to a few ulp: WGSL's builtins only promise an absolute error of 2^-11. Reduction by
 * pi/2 in two parts (Cody-Waite), Taylor polynomials on [-pi/4, pi/4], quadrant by k mod 4.
 */
const SINCOS = `
fn sincos_(x: f32, shift: u32) -> f32 {
  if (!is_finite(x)) { return nan(); }
  let k = round(x * 0.63661977236758134);
  let r = (x - k * 1.5707963705062866) + k * 4.371139000186243e-8;
  let r2 = r * r;
  let s = r + r * r2 * (-0.16666666666666666 + r2 * (0.008333333333333333 + r2 * (-0.0001984126984126984 + r2 * 2.7557319223985893e-6)));
  let c = 1.0 + r2 * (-0.5 + r2 * (0.041666666666666664 + r2 * (-0.001388888888888889 + r2 * 2.48015873015873e-5)));
  let q = (u32(i32(k) & 3) + shift) & 3u;
  if (q == 0u) { return s; }
  if (q == 1u) { return c; }
  if (q == 2u) { return -s; }
  return -c;
}`;

const POW = `
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return nan(); }
  if (a == 0.0) { return select(inf(), 0.0, b > 0.0); }
  if (a > 0.0) { return exp2(b * log2(a)); }
  if (b != floor(b)) { return nan(); }
  let m = exp2(b * log2(-a));
  let odd = abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
  return select(m, -m, odd);
}`;

/** WGSL of each binary op on `a`, `b` (f32). */
const BINARY: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'pow_(a, b)',
  maximum: 'select(b, a, a >= b || is_nan(a))',
  minimum: 'select(b, a, a <= b || is_nan(a))',
  eq: 'select(0.0, 1.0, a == b && !is_nan(a))',
  ne: 'select(1.0, 0.0, a == b && !is_nan(a))',
  lt: 'select(0.0, 1.0, a < b)',
  le: 'select(0.0, 1.0, a <= b)',
  gt: 'select(0.0, 1.0, a > b)',
  ge: 'select(0.0, 1.0, a >= b)',
};

export function isUnaryOp(op: string): op is UnaryOp {
  return Object.prototype.hasOwnProperty.call(UNARY, op);
}
export function isBinaryOp(op: string): op is BinaryOp {
  return Object.prototype.hasOwnProperty.call(BINARY, op);
}

/** fill: out[i] = value. Words: [n, value]. */
export const fillKernel = def('fill', () => `${header(2, [{ name: 'o', write: true }])}
${linearMain('  o[gid] = PF(1u);')}`);

/** unary: out[i] = op(x[i]). Words: [n]. */
export function unaryKernel(op: UnaryOp): KernelDef {
  return def(`unary_${op}`, () => `${header(1, [{ name: 'xs' }, { name: 'o', write: true }])}
${ERF}
${TANH}
${op === 'sin' || op === 'cos' ? SINCOS : ''}
${linearMain(`  let x = xs[gid];\n  o[gid] = ${NAN_TO_VALUE.has(op) ? UNARY[op] : `select(${UNARY[op]}, x, is_nan(x))`};`)}`);
}

/** binary: out[i] = a[ia] op b[ib]. Words: [n, shape(r), aStrides(r), bStrides(r)]. */
export function binaryKernel(op: BinaryOp, rank: number): KernelDef {
  return def(`binary_${op}_r${rank}`, () => `${header(1 + 3 * rank, [{ name: 'as_' }, { name: 'bs' }, { name: 'o', write: true }])}
${POW}
${linearMain(`${stridedOffsets(rank, 1, [1 + rank, 1 + 2 * rank], ['ia', 'ib'])}
  let a = as_[ia];
  let b = bs[ib];
  o[gid] = ${BINARY[op]};`)}`);
}

/** where: out[i] = c[ic] != 0 ? a[ia] : b[ib]. Words: [n, shape(r), c, a, b strides(r each)]. */
export function whereKernel(rank: number): KernelDef {
  return def(`where_r${rank}`, () => `${header(1 + 4 * rank, [{ name: 'cs' }, { name: 'as_' }, { name: 'bs' }, { name: 'o', write: true }])}
${linearMain(`${stridedOffsets(rank, 1, [1 + rank, 1 + 2 * rank, 1 + 3 * rank], ['ic', 'ia', 'ib'])}
  let c = cs[ic];
  o[gid] = select(bs[ib], as_[ia], c != 0.0 || is_nan(c));`)}`);
}

/** axpby: out[i] = alpha x[i] + beta y[i]. Words: [n, alpha, beta]. */
export const axpbyKernel = def('axpby', () => `${header(3, [{ name: 'xs' }, { name: 'ys' }, { name: 'o', write: true }])}
${linearMain('  o[gid] = PF(1u) * xs[gid] + PF(2u) * ys[gid];')}`);

/** copy: out[oOff + i.oStrides] = x[xOff + i.xStrides]. Words: [n, xOff, oOff, shape(r), xStrides(r), oStrides(r)]. */
export function copyKernel(rank: number): KernelDef {
  return def(`copy_r${rank}`, () => `${header(3 + 3 * rank, [{ name: 'xs' }, { name: 'o', write: true }])}
${linearMain(`${stridedOffsets(rank, 3, [3 + rank, 3 + 2 * rank], ['ix', 'io'])}
  o[PI(2u) + io] = xs[PI(1u) + ix];`)}`);
}

/** addTanh: out[r, j] = tanh(x[r, j] + u[r uRowStride + j]). Words: [n, cols, uRowStride]. */
export const addTanhKernel = def('addTanh', () => `${header(3, [{ name: 'xs' }, { name: 'us' }, { name: 'o', write: true }])}
${TANH}
${linearMain('  let r = gid / P(1u);\n  let j = gid - r * P(1u);\n  o[gid] = tanh_(xs[gid] + us[r * P(2u) + j]);')}`);

/** tanhGrad: out[i] = g[i] (1 - y[i]^2). Words: [n]. */
export const tanhGradKernel = def('tanhGrad', () => `${header(1, [{ name: 'gs' }, { name: 'ys' }, { name: 'o', write: true }])}
${linearMain('  let y = ys[gid];\n  o[gid] = gs[gid] * (1.0 - y * y);')}`);
