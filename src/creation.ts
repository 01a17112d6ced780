/**
 * Creating tensors: `tensor`, `zeros`, `ones`, `full`, `randn`, `rand`, `arange`, `eye`,
 * `zerosLike`, `onesLike`.
 */
import type { Backend } from './backend/backend.js';
import { sizeOf } from './backend/backend.js';
import { getBackend, resolveBackend } from './backend/registry.js';
import { checkDType, type DType } from './dtype.js';
import { Tensor, fmtShape } from './tensor.js';
import { rngFor } from './random.js';
import { bytesPer } from './dtype.js';
import { fmtBytes, fmtCount } from './utils/format.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** Backend to create on, as an object or a registered name such as 'webgpu' (default: the current one). */
  backend?: Backend | string;
}

const CREATE_KEYS = ['dtype', 'requiresGrad', 'backend'];

function checkOpts(where: string, opts: unknown, extra: string[] = [], numeric: string[] = []): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new Error(`${where}: expected an options object, received ${describe(opts)}`);
  }
  const valid = [...CREATE_KEYS, ...extra];
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!valid.includes(k)) {
      throw new Error(`${where}: unknown option '${k}'; valid options are ${valid.map((v) => `'${v}'`).join(', ')}`);
    }
  }
  if (o.requiresGrad !== undefined && typeof o.requiresGrad !== 'boolean') {
    throw new Error(`${where}: expected option 'requiresGrad' to be a boolean, received ${describe(o.requiresGrad)}`);
  }
  const b = o.backend as Backend | string | undefined;
  if (b !== undefined && typeof b !== 'string' && (b === null || typeof b !== 'object' || typeof b.alloc !== 'function')) {
    throw new Error(`${where}: expected option 'backend' to be a Backend object (see getBackend()) or a backend name, received ${describe(b)}`);
  }
  if (typeof b === 'string') resolveBackend(where, b);
  for (const k of numeric) {
    if (o[k] !== undefined && (typeof o[k] !== 'number' || !Number.isFinite(o[k]))) {
      throw new Error(`${where}: expected option '${k}' to be a finite number, received ${describe(o[k])}`);
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return Array.isArray(v) ? 'an array' : typeof v;
}

/** Validates a shape (array of non-negative integers) naming `where`; returns a copy. */
export function checkShape(where: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    const got = Array.isArray(shape)
      ? `[${shape.map((d) => (typeof d === 'string' ? JSON.stringify(d) : String(d))).join(',')}]`
      : describe(shape);
    throw new Error(`${where}: expected a shape (array of non-negative integers), received ${got}`);
  }
  return [...shape] as number[];
}

/**
 * Checks that a tensor of `shape` fits `backend` before anything is allocated (host arrays
 * included), naming the function: `zeros([1e6, 1e6])` is a clear error, not a RangeError.
 */
export function checkFits(where: string, shape: readonly number[], dtype: DType, backend: Backend): void {
  const n = shape.reduce((a, d) => a * d, 1);
  const bytes = n * bytesPer(dtype);
  const lim = backend.limits;
  const tooBig = lim !== undefined ? bytes > lim.storageBytes : !(n <= MAX_HOST_ELEMENTS);
  if (tooBig) {
    const cap = lim !== undefined
      ? `the ${backend.name} backend holds at most ${fmtBytes(lim.storageBytes)} per tensor (${fmtBytes(lim.totalBytes)} in all)`
      : `the ${backend.name} backend holds at most ${fmtCount(MAX_HOST_ELEMENTS)} values per tensor`;
    throw new Error(`${where}: shape ${fmtShape(shape)} needs ${fmtBytes(bytes)} (${fmtCount(n)} ${dtype} values); ${cap}`);
  }
}

/** The longest typed array the host allocates (V8: 2^32 elements on 64-bit). */
const MAX_HOST_ELEMENTS = 2 ** 32;

function make(where: string, values: ArrayLike<number> | null, shape: number[], opts: CreateOptions): Tensor {
  const dtype = checkDType(opts.dtype ?? 'float32', where);
  const backend = opts.backend === undefined ? getBackend() : resolveBackend(where, opts.backend);
  checkFits(where, shape, dtype, backend);
  const s = backend.alloc(sizeOf(shape), dtype);
  if (values) {
    try {
      backend.write(s, values);
    } catch (e) {
      backend.free(s);
      throw e;
    }
  }
  const t = new Tensor(s, shape, backend);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** `checkFits` with the dtype and backend the options select (before host arrays are made). */
function preflight(where: string, shape: readonly number[], opts: CreateOptions): void {
  checkFits(where, shape, checkDType(opts.dtype ?? 'float32', where), opts.backend === undefined ? getBackend() : resolveBackend(where, opts.backend));
}

type Nested = number | readonly Nested[];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly Nested[])[0];
  }
  return shape;
}

function flatten(where: string, data: Nested, shape: number[]): number[] {
  const out: number[] = [];
  const rec = (v: Nested, ax: number): void => {
    if (ax === shape.length) {
      if (typeof v !== 'number') throw new Error(`${where}: expected a number at depth ${ax}, received ${describe(v)}`);
      out.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[ax]) {
      throw new Error(`${where}: ragged nested array: expected an array of length ${shape[ax]} at depth ${ax}, received ${Array.isArray(v) ? `length ${v.length}` : describe(v)}`);
    }
    for (const x of v as readonly Nested[]) rec(x, ax + 1);
  };
  rec(data, 0);
  return out;
}

/**
 * A tensor from nested arrays, a flat array/typed array with a shape, or a number.
 * @example const x = tensor([[1, 2], [3, 4]]); const y = tensor([1, 2, 3, 4], [2, 2], { dtype: 'float64' });
 */
export function tensor(data: Nested | ArrayLike<number>, shape?: readonly number[], opts: CreateOptions = {}): Tensor {
  checkOpts('tensor', opts);
  if (typeof data === 'number') {
    const sh = shape ? checkShape('tensor', shape) : [];
    if (sizeOf(sh) !== 1) throw new Error(`tensor: a number makes one element, but shape ${fmtShape(sh)} has ${sizeOf(sh)}`);
    return make('tensor', [data], sh, opts);
  }
  if (data === null || typeof data !== 'object') {
    throw new Error(`tensor: expected a number, an array or a typed array, received ${describe(data)}`);
  }
  if (ArrayBuffer.isView(data) || (shape && !Array.isArray((data as ArrayLike<number>)[0]))) {
    const flat = data as ArrayLike<number>;
    if (!ArrayBuffer.isView(flat)) {
      for (let i = 0; i < flat.length; i++) {
        if (typeof flat[i] !== 'number') throw new Error(`tensor: expected a number at index ${i}, received ${describe(flat[i])}`);
      }
    }
    const sh = shape ? checkShape('tensor', shape) : [flat.length];
    if (sizeOf(sh) !== flat.length) {
      throw new Error(`tensor: shape ${fmtShape(sh)} needs ${sizeOf(sh)} values, received ${flat.length}`);
    }
    return make('tensor', flat, sh, opts);
  }
  if (!Array.isArray(data)) throw new Error(`tensor: expected a number, an array or a typed array, received ${describe(data)}`);
  const inferred = inferShape(data as Nested);
  const flat = flatten('tensor', data as Nested, inferred);
  if (shape) {
    const sh = checkShape('tensor', shape);
    if (sizeOf(sh) !== flat.length) {
      throw new Error(`tensor: shape ${fmtShape(sh)} needs ${sizeOf(sh)} values, received ${flat.length}`);
    }
    return make('tensor', flat, sh, opts);
  }
  return make('tensor', flat, inferred, opts);
}

/** @example zeros([2, 3]) */
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  checkOpts('zeros', opts);
  return make('zeros', null, checkShape('zeros', shape), opts);
}

/** @example ones([2, 3], { dtype: 'float64' }) */
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  checkOpts('ones', opts);
  return filled('ones', checkShape('ones', shape), 1, opts);
}

/** @example full([2], 7) */
export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  checkOpts('full', opts);
  if (typeof value !== 'number') throw new Error(`full: expected a number value, received ${describe(value)}`);
  return filled('full', checkShape('full', shape), value, opts);
}

function filled(where: string, shape: number[], value: number, opts: CreateOptions): Tensor {
  const t = make(where, null, shape, { ...opts, requiresGrad: false });
  if (value !== 0) t.backend.fill(t.storage, value);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/**
 * Zeros with `t`'s shape, dtype and backend (options override).
 * @example zerosLike(x)
 */
export function zerosLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return zeros(t.shape, { dtype: t.dtype, backend: t.backend, ...opts });
}

/**
 * Ones with `t`'s shape, dtype and backend (options override).
 * @example onesLike(x, { dtype: 'float64' })
 */
export function onesLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return ones(t.shape, { dtype: t.dtype, backend: t.backend, ...opts });
}

export interface RandomOptions extends CreateOptions {
  /** Seed: the same seed gives the same numbers on every runtime. Without it the global generator (see `manualSeed`) is used. */
  seed?: number;
}

/**
 * Standard normal samples (times `std` plus `mean`).
 * @example randn([2, 3], { seed: 1 })
 */
export function randn(shape: readonly number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkOpts('randn', opts, ['seed', 'mean', 'std'], ['seed', 'mean', 'std']);
  const sh = checkShape('randn', shape);
  const mean = opts.mean ?? 0, std = opts.std ?? 1;
  if (!(std >= 0)) throw new Error(`randn: expected option 'std' to be >= 0 (like torch.normal), received ${std}`);
  preflight('randn', sh, opts);
  const rng = rngFor(opts.seed);
  const v = new Float64Array(sizeOf(sh));
  for (let i = 0; i < v.length; i++) v[i] = mean + std * rng.normal();
  return make('randn', v, sh, opts);
}

/**
 * Uniform samples in [low, high) (default [0, 1)).
 * @example rand([4], { seed: 3, low: -1, high: 1 })
 */
export function rand(shape: readonly number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkOpts('rand', opts, ['seed', 'low', 'high'], ['seed', 'low', 'high']);
  const sh = checkShape('rand', shape);
  const lo = opts.low ?? 0, hi = opts.high ?? 1;
  if (!(lo <= hi)) throw new Error(`rand: expected option 'low' <= 'high' (like torch's uniform_), received low ${lo} and high ${hi}`);
  preflight('rand', sh, opts);
  const rng = rngFor(opts.seed);
  const v = new Float64Array(sizeOf(sh));
  for (let i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * rng.uniform();
  return make('rand', v, sh, opts);
}

/**
 * Evenly spaced values in [start, stop) (one argument: [0, stop)).
 * @example arange(5) // [0,1,2,3,4]
 */
export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  checkOpts('arange', opts);
  if (stop === undefined) { stop = start; start = 0; }
  if (!Number.isFinite(start) || !Number.isFinite(stop)) {
    throw new Error(`arange: expected finite numbers for start and stop, received ${describe(start)} and ${describe(stop)}`);
  }
  if (typeof step !== 'number' || step === 0 || !Number.isFinite(step)) throw new Error(`arange: expected a finite non-zero step, received ${describe(step)}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  preflight('arange', [n], opts);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = start + i * step;
  return make('arange', v, [n], opts);
}

/**
 * Identity matrix (n, m).
 * @example eye(3)
 */
export function eye(n: number, m: number = n, opts: CreateOptions = {}): Tensor {
  checkOpts('eye', opts);
  checkShape('eye', [n, m]);
  preflight('eye', [n, m], opts);
  const v = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) v[i * m + i] = 1;
  return make('eye', v, [n, m], opts);
}
