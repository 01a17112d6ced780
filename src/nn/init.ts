/**
 * Parameter initialisers, with torch.nn.init's formulas: uniform, normal, constant, zeros,
 * ones, Xavier/Glorot, Kaiming/He and orthogonal. Tensors are immutable values, so each
 * initialiser returns a new tensor instead of filling one in place. Random draws come from the
 * deterministic `Rng` (src/random.ts): pass `seed` for a fresh generator, `generator` to share
 * one across several tensors (as torch's global generator is shared), or neither to use the
 * global generator set by `manualSeed`. The in-place forms with torch's names and positional
 * arguments (`uniform_(w, a, b)`, `xavier_uniform_(w, gain)`, ...) are in ./init_inplace.ts.
 */
import type { Backend } from '../backend/backend.js';
import { sizeOf } from '../backend/backend.js';
import { checkKeys } from '../autograd/engine.js';
import { tensor } from '../creation.js';
import type { DType } from '../dtype.js';
import { Rng, rngFor } from '../random.js';
import { Tensor, fmtShape } from '../tensor.js';
import { show } from '../utils/format.js';

export interface InitOptions {
  dtype?: DType;
  backend?: Backend;
  /** Seed for a fresh generator. */
  seed?: number;
  /** A generator to draw from (shared across calls). Not together with `seed`. */
  generator?: Rng;
}

export type FanMode = 'fan_in' | 'fan_out';

const BASE_KEYS = ['dtype', 'backend', 'seed', 'generator'];

/**
 * The generator an initialiser or layer draws from: a fresh one for `seed`, the given
 * `generator`, else the global one (`manualSeed`).
 * @example const rng = generatorFor('MyLayer', { seed: 3 });
 */
export function generatorFor(where: string, opts: { seed?: number; generator?: Rng }): Rng {
  if (opts.seed !== undefined && opts.generator !== undefined) {
    throw new Error(`${where}: expected at most one of the options 'seed' and 'generator', received both`);
  }
  if (opts.generator !== undefined) {
    if (!(opts.generator instanceof Rng)) {
      throw new Error(`${where}: expected option 'generator' to be an Rng, received ${typeof opts.generator}`);
    }
    return opts.generator;
  }
  if (opts.seed !== undefined && !Number.isFinite(opts.seed)) {
    throw new Error(`${where}: expected option 'seed' to be a finite number, received ${show(opts.seed)}`);
  }
  return rngFor(opts.seed);
}

function checkShape(where: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${where}: expected a shape (array of non-negative integers), received ${show(shape)}`);
  }
  return shape as number[];
}

function make(values: Float64Array, shape: number[], opts: InitOptions): Tensor {
  return tensor(values, shape, { dtype: opts.dtype ?? 'float32', ...(opts.backend ? { backend: opts.backend } : {}) });
}

function draw(where: string, shape: readonly number[], opts: InitOptions, sample: (rng: Rng) => number): Tensor {
  const sh = checkShape(where, shape);
  const rng = generatorFor(where, opts);
  const v = new Float64Array(sizeOf(sh));
  for (let i = 0; i < v.length; i++) v[i] = sample(rng);
  return make(v, sh, opts);
}

function finiteNumber(where: string, name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new Error(`${where}: expected option '${name}' to be a finite number${min > -Infinity ? ` >= ${min}` : ''}, received ${show(v)}`);
  }
  return v;
}

/**
 * Samples from U(low, high) (default U(0, 1)); `a` / `b` are torch's names for low / high.
 * @example uniform([3, 4], { low: -0.1, high: 0.1, seed: 0 })
 */
export function uniform(shape: readonly number[], opts: InitOptions & { low?: number; high?: number; a?: number; b?: number } = {}): Tensor {
  checkKeys('init.uniform', opts, [...BASE_KEYS, 'low', 'high', 'a', 'b']);
  if (opts.a !== undefined && opts.low !== undefined) throw new Error("init.uniform: expected one of 'a' (torch's name) and 'low', received both");
  if (opts.b !== undefined && opts.high !== undefined) throw new Error("init.uniform: expected one of 'b' (torch's name) and 'high', received both");
  const lo = finiteNumber('init.uniform', opts.a !== undefined ? 'a' : 'low', opts.a ?? opts.low ?? 0);
  const hi = finiteNumber('init.uniform', opts.b !== undefined ? 'b' : 'high', opts.b ?? opts.high ?? 1);
  if (hi < lo) throw new Error(`init.uniform: expected low <= high, received low ${lo} and high ${hi}`);
  return draw('init.uniform', shape, opts, (r) => lo + (hi - lo) * r.uniform());
}

/**
 * Samples from N(mean, std^2) (default N(0, 1)).
 * @example normal([3, 4], { std: 0.02, seed: 0 })
 */
export function normal(shape: readonly number[], opts: InitOptions & { mean?: number; std?: number } = {}): Tensor {
  checkKeys('init.normal', opts, [...BASE_KEYS, 'mean', 'std']);
  const mu = finiteNumber('init.normal', 'mean', opts.mean ?? 0), sd = finiteNumber('init.normal', 'std', opts.std ?? 1, 0);
  return draw('init.normal', shape, opts, (r) => mu + sd * r.normal());
}

/** A tensor filled with `value`. @example constant([2], 0.5) */
export function constant(shape: readonly number[], value: number, opts: Omit<InitOptions, 'seed' | 'generator'> = {}): Tensor {
  checkKeys('init.constant', opts, ['dtype', 'backend']);
  if (typeof value !== 'number') throw new Error(`init.constant: expected a number value, received ${typeof value}`);
  const sh = checkShape('init.constant', shape);
  return make(new Float64Array(sizeOf(sh)).fill(value), sh, opts);
}

/** @example zeros([4]) */
export function zeros(shape: readonly number[], opts: Omit<InitOptions, 'seed' | 'generator'> = {}): Tensor {
  return constant(shape, 0, opts);
}

/** @example ones([4]) */
export function ones(shape: readonly number[], opts: Omit<InitOptions, 'seed' | 'generator'> = {}): Tensor {
  return constant(shape, 1, opts);
}

/** Recommended gains by nonlinearity (torch.nn.init.calculate_gain). */
const GAINS = new Map<string, (param?: number) => number>([
  ['linear', () => 1], ['identity', () => 1], ['conv1d', () => 1], ['conv2d', () => 1], ['conv3d', () => 1],
  ['sigmoid', () => 1],
  ['tanh', () => 5 / 3],
  ['relu', () => Math.SQRT2],
  ['leaky_relu', (p) => Math.sqrt(2 / (1 + (p ?? 0.01) ** 2))],
  ['selu', () => 3 / 4],
]);

/**
 * The recommended gain for a nonlinearity, as torch.nn.init.calculate_gain (`param` is
 * leaky_relu's negative slope, default 0.01).
 * @example calculateGain('tanh') // 5/3
 */
export function calculateGain(nonlinearity: string, param?: number): number {
  const g = GAINS.get(nonlinearity);
  if (!g) {
    throw new Error(`init.calculateGain: unknown nonlinearity ${show(nonlinearity)}; known: ${[...GAINS.keys()].map((k) => `'${k}'`).join(', ')}`);
  }
  if (param !== undefined) finiteNumber('init.calculateGain', 'param', param);
  return g(param);
}

/**
 * fan_in and fan_out of a weight shape (out, in, *kernel): in*prod(kernel), out*prod(kernel).
 * @example fans([8, 3, 3, 3]) // { fanIn: 27, fanOut: 72 }
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const sh = checkShape('init.fans', shape);
  if (sh.length < 2) {
    throw new Error(`init.fans: expected a shape with at least 2 dimensions (out, in, ...), received ${fmtShape(sh)}`);
  }
  const receptive = sizeOf(sh.slice(2));
  return { fanIn: sh[1] * receptive, fanOut: sh[0] * receptive };
}

function fanOf(where: string, shape: readonly number[], mode: unknown): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') {
    throw new Error(`${where}: expected option 'mode' to be 'fan_in' or 'fan_out', received ${show(mode)}`);
  }
  const f = fans(shape);
  return mode === 'fan_in' ? f.fanIn : f.fanOut;
}

function nonEmptyFan(where: string, shape: readonly number[], fan: number): void {
  if (fan === 0 && sizeOf(shape) > 0) throw new Error(`${where}: a fan of 0 for shape ${fmtShape(shape)}`);
}

/** A Glorot initialiser's checked options and shape: its gain and fanIn + fanOut (non-zero for a non-empty shape). */
function xavierGainAndFans(where: string, shape: readonly number[], opts: InitOptions & { gain?: number }): [number, number] {
  checkKeys(where, opts, [...BASE_KEYS, 'gain']);
  const { fanIn, fanOut } = fans(shape);
  nonEmptyFan(where, shape, fanIn + fanOut);
  return [finiteNumber(where, 'gain', opts.gain ?? 1), fanIn + fanOut];
}

/**
 * Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fanIn + fanOut)).
 * @example xavierUniform([16, 8], { seed: 1 })
 */
export function xavierUniform(shape: readonly number[], opts: InitOptions & { gain?: number } = {}): Tensor {
  const where = 'init.xavierUniform';
  const [gain, fanSum] = xavierGainAndFans(where, shape, opts);
  const b = gain * Math.sqrt(6 / fanSum);
  return draw(where, shape, opts, (r) => -b + 2 * b * r.uniform());
}

/**
 * Glorot normal: N(0, s^2) with s = gain * sqrt(2 / (fanIn + fanOut)).
 * @example xavierNormal([16, 8], { seed: 1 })
 */
export function xavierNormal(shape: readonly number[], opts: InitOptions & { gain?: number } = {}): Tensor {
  const where = 'init.xavierNormal';
  const [gain, fanSum] = xavierGainAndFans(where, shape, opts);
  const s = gain * Math.sqrt(2 / fanSum);
  return draw(where, shape, opts, (r) => s * r.normal());
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows (default 0). */
  a?: number;
  /** 'fan_in' (default) preserves forward variance, 'fan_out' backward variance. */
  mode?: FanMode;
  /** Nonlinearity for `calculateGain` (default 'leaky_relu'). */
  nonlinearity?: string;
}

function kaimingStd(where: string, shape: readonly number[], opts: KaimingOptions): number {
  checkKeys(where, opts, [...BASE_KEYS, 'a', 'mode', 'nonlinearity']);
  const fan = fanOf(where, shape, opts.mode ?? 'fan_in');
  nonEmptyFan(where, shape, fan);
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', finiteNumber(where, 'a', opts.a ?? 0));
  return fan === 0 ? 0 : gain / Math.sqrt(fan);
}

/**
 * He uniform: U(-b, b) with b = gain * sqrt(3 / fan). With a = sqrt(5) this is torch's
 * default Linear / Conv2d weight init, U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
 * @example kaimingUniform([16, 8], { a: Math.sqrt(5), seed: 1 })
 */
export function kaimingUniform(shape: readonly number[], opts: KaimingOptions = {}): Tensor {
  const b = Math.sqrt(3) * kaimingStd('init.kaimingUniform', shape, opts);
  return draw('init.kaimingUniform', shape, opts, (r) => -b + 2 * b * r.uniform());
}

/**
 * He normal: N(0, s^2) with s = gain / sqrt(fan).
 * @example kaimingNormal([16, 8], { nonlinearity: 'relu', seed: 1 })
 */
export function kaimingNormal(shape: readonly number[], opts: KaimingOptions = {}): Tensor {
  const s = kaimingStd('init.kaimingNormal', shape, opts);
  return draw('init.kaimingNormal', shape, opts, (r) => s * r.normal());
}

/**
 * A (semi-)orthogonal matrix times `gain` (torch.nn.init.orthogonal_): the shape is viewed
 * as (rows, cols) = (shape[0], rest); rows are orthonormal when rows <= cols, columns otherwise.
 * Built by QR (modified Gram-Schmidt) of a standard normal matrix; Gram-Schmidt gives R a
 * positive diagonal (torch's sign correction), so the result is Haar-distributed.
 * @example orthogonal([4, 4], { seed: 3 })
 */
export function orthogonal(shape: readonly number[], opts: InitOptions & { gain?: number } = {}): Tensor {
  const where = 'init.orthogonal';
  checkKeys(where, opts, [...BASE_KEYS, 'gain']);
  const sh = checkShape(where, shape);
  if (sh.length < 2) throw new Error(`${where}: expected a shape with at least 2 dimensions, received ${fmtShape(sh)}`);
  const gain = finiteNumber(where, 'gain', opts.gain ?? 1);
  if (sizeOf(sh) === 0) return make(new Float64Array(0), sh, opts);
  const rows = sh[0], cols = sizeOf(sh) / rows;
  const rng = generatorFor(where, opts);
  // Work on the tall orientation (m >= n), columns orthonormalised.
  const m = Math.max(rows, cols), n = Math.min(rows, cols);
  const a = new Float64Array(m * n); // column-major: column j at [j*m, (j+1)*m)
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  for (let j = 0; j < n; j++) {
    const cj = j * m;
    for (let k = 0; k < j; k++) {
      const ck = k * m;
      let dot = 0;
      for (let i = 0; i < m; i++) dot += a[ck + i] * a[cj + i];
      for (let i = 0; i < m; i++) a[cj + i] -= dot * a[ck + i];
    }
    let nrm = 0;
    for (let i = 0; i < m; i++) nrm += a[cj + i] * a[cj + i];
    nrm = Math.sqrt(nrm);
    if (!(nrm > 1e-12)) throw new Error(`${where}: degenerate random draw (rank deficient); try another seed`);
    for (let i = 0; i < m; i++) a[cj + i] /= nrm;
  }
  const v = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // Tall: entry (r, c) is column c's row r. Wide: it is the transpose.
      v[r * cols + c] = gain * (rows >= cols ? a[c * m + r] : a[r * m + c]);
    }
  }
  return make(v, sh, opts);
}
