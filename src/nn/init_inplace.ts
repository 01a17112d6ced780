/**
 * In-place initialisers with torch.nn.init's names and arguments (`uniform_(w, a, b)`,
 * `normal_(w, mean, std)`, `xavier_uniform_(w, gain)`, `kaiming_normal_(w, a, mode,
 * nonlinearity)`, ...): each fills an existing leaf tensor (a parameter) with a fresh draw of
 * the matching initialiser in ./init.ts, in its own dtype and backend, bumps its `version` (so
 * computed weights depending on it are recomputed) and returns it. Arguments are positional as
 * in torch, or one options object with torch's names (plus `seed` / `generator`).
 * camelCase aliases (`xavierUniform_`, ...) are exported too.
 */
import { Tensor, fmtShape } from '../tensor.js';
import { checkKeys } from '../autograd/engine.js';
import type { Rng } from '../random.js';
import { copyInto } from './module.js';
import * as I from './init.js';

/** Random-draw options every in-place initialiser accepts. */
export interface FillOptions {
  /** Seed for a fresh generator. */
  seed?: number;
  /** A generator to draw from (torch's `generator`). Not together with `seed`. */
  generator?: Rng;
}

function target(where: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${where}: expected argument 'tensor' to be a Tensor, received ${t === null ? 'null' : typeof t}`);
  t.assertLive(where);
  if (!t.isLeaf) {
    throw new Error(`${where}: expected a leaf tensor (a parameter), received a tensor produced by an op (shape ${fmtShape(t.shape)}); initialise the leaf it came from`);
  }
  return t;
}

/** Writes `fresh` (same shape) into `t` and frees it. */
function fill(t: Tensor, fresh: Tensor): Tensor {
  try {
    copyInto(t, fresh);
  } finally {
    fresh.dispose();
  }
  return t;
}

/** Positional torch arguments or one options object → the options object. */
function args<O extends object>(where: string, rest: unknown[], names: readonly string[], extra: readonly string[] = ['seed', 'generator']): O {
  if (rest.length === 1 && rest[0] !== null && typeof rest[0] === 'object') {
    checkKeys(where, rest[0] as object, [...names, ...extra]);
    return rest[0] as O;
  }
  if (rest.length > names.length + 1) throw new Error(`${where}: expected at most ${names.length} arguments after the tensor (${names.join(', ')}), received ${rest.length}`);
  const o: Record<string, unknown> = {};
  rest.forEach((v, i) => {
    if (i === names.length && v !== null && typeof v === 'object') {
      checkKeys(where, v as object, extra);
      Object.assign(o, v);
    } else if (v !== undefined) {
      if (i >= names.length) throw new Error(`${where}: expected an options object { ${extra.join(', ')} } after ${names.join(', ')}, received ${typeof v}`);
      o[names[i]] = v;
    }
  });
  return o as O;
}

const NUMERIC = new Set(['a', 'b', 'mean', 'std', 'gain']);

/** Checks the numeric torch arguments by their torch names. */
function numbers<O extends object>(where: string, o: O): O {
  for (const [k, v] of Object.entries(o)) {
    if (NUMERIC.has(k) && v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw new Error(`${where}: expected argument '${k}' to be a finite number, received ${JSON.stringify(v)}`);
    }
  }
  return o;
}

const place = (t: Tensor): { dtype: Tensor['dtype']; backend: Tensor['backend'] } => ({ dtype: t.dtype, backend: t.backend });
const rng = (o: FillOptions): FillOptions => ({ ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.generator !== undefined ? { generator: o.generator } : {}) });

/**
 * Fills `tensor` from U(a, b) (default U(0, 1)), torch's `nn.init.uniform_`.
 * @example init.uniform_(w, -0.1, 0.1); init.uniform_(w, { a: -0.1, b: 0.1, seed: 0 })
 */
export function uniform_(tensor: Tensor, a?: number | (FillOptions & { a?: number; b?: number }), b?: number, opts?: FillOptions): Tensor {
  const where = 'init.uniform_';
  const t = target(where, tensor);
  const o = numbers(where, args<FillOptions & { a?: number; b?: number }>(where, trim([a, b, opts]), ['a', 'b']));
  if ((o.a ?? 0) > (o.b ?? 1)) throw new Error(`${where}: expected a <= b, received a ${o.a ?? 0} and b ${o.b ?? 1}`);
  return fill(t, I.uniform(t.shape, { low: o.a ?? 0, high: o.b ?? 1, ...place(t), ...rng(o) }));
}

/**
 * Fills `tensor` from N(mean, std^2) (default N(0, 1)), torch's `nn.init.normal_`.
 * @example init.normal_(w, 0, 0.02)
 */
export function normal_(tensor: Tensor, mean?: number | (FillOptions & { mean?: number; std?: number }), std?: number, opts?: FillOptions): Tensor {
  const where = 'init.normal_';
  const t = target(where, tensor);
  const o = numbers(where, args<FillOptions & { mean?: number; std?: number }>(where, trim([mean, std, opts]), ['mean', 'std']));
  if ((o.std ?? 1) < 0) throw new Error(`${where}: expected argument 'std' to be >= 0, received ${o.std}`);
  return fill(t, I.normal(t.shape, { mean: o.mean ?? 0, std: o.std ?? 1, ...place(t), ...rng(o) }));
}

/** Fills `tensor` with `val` (torch's `nn.init.constant_`). @example init.constant_(b, 0.1) */
export function constant_(tensor: Tensor, val: number): Tensor {
  const where = 'init.constant_';
  const t = target(where, tensor);
  if (typeof val !== 'number' || Number.isNaN(val)) throw new Error(`${where}: expected argument 'val' to be a number, received ${JSON.stringify(val)}`);
  return fill(t, I.constant(t.shape, val, place(t)));
}

/** Fills `tensor` with zeros. @example init.zeros_(b) */
export function zeros_(tensor: Tensor): Tensor {
  return constant_(target('init.zeros_', tensor), 0);
}

/** Fills `tensor` with ones. @example init.ones_(g) */
export function ones_(tensor: Tensor): Tensor {
  return constant_(target('init.ones_', tensor), 1);
}

/**
 * Glorot uniform in place (torch's `nn.init.xavier_uniform_`).
 * @example init.xavier_uniform_(w, init.calculate_gain('tanh'))
 */
export function xavier_uniform_(tensor: Tensor, gain?: number | (FillOptions & { gain?: number }), opts?: FillOptions): Tensor {
  const where = 'init.xavier_uniform_';
  const t = target(where, tensor);
  const o = numbers(where, args<FillOptions & { gain?: number }>(where, trim([gain, opts]), ['gain']));
  return fill(t, I.xavierUniform(t.shape, { gain: o.gain ?? 1, ...place(t), ...rng(o) }));
}

/** Glorot normal in place (torch's `nn.init.xavier_normal_`). @example init.xavier_normal_(w) */
export function xavier_normal_(tensor: Tensor, gain?: number | (FillOptions & { gain?: number }), opts?: FillOptions): Tensor {
  const where = 'init.xavier_normal_';
  const t = target(where, tensor);
  const o = numbers(where, args<FillOptions & { gain?: number }>(where, trim([gain, opts]), ['gain']));
  return fill(t, I.xavierNormal(t.shape, { gain: o.gain ?? 1, ...place(t), ...rng(o) }));
}

type KaimingArgs = FillOptions & { a?: number; mode?: I.FanMode; nonlinearity?: string };

/**
 * He uniform in place (torch's `nn.init.kaiming_uniform_(tensor, a=0, mode='fan_in',
 * nonlinearity='leaky_relu')`).
 * @example init.kaiming_uniform_(w, Math.sqrt(5)) // torch's default Linear init
 */
export function kaiming_uniform_(tensor: Tensor, a?: number | KaimingArgs, mode?: I.FanMode, nonlinearity?: string, opts?: FillOptions): Tensor {
  const where = 'init.kaiming_uniform_';
  const t = target(where, tensor);
  const o = numbers(where, args<KaimingArgs>(where, trim([a, mode, nonlinearity, opts]), ['a', 'mode', 'nonlinearity']));
  return fill(t, I.kaimingUniform(t.shape, { a: o.a ?? 0, mode: o.mode ?? 'fan_in', nonlinearity: o.nonlinearity ?? 'leaky_relu', ...place(t), ...rng(o) }));
}

/** He normal in place (torch's `nn.init.kaiming_normal_`). @example init.kaiming_normal_(w, 0, 'fan_out', 'relu') */
export function kaiming_normal_(tensor: Tensor, a?: number | KaimingArgs, mode?: I.FanMode, nonlinearity?: string, opts?: FillOptions): Tensor {
  const where = 'init.kaiming_normal_';
  const t = target(where, tensor);
  const o = numbers(where, args<KaimingArgs>(where, trim([a, mode, nonlinearity, opts]), ['a', 'mode', 'nonlinearity']));
  return fill(t, I.kaimingNormal(t.shape, { a: o.a ?? 0, mode: o.mode ?? 'fan_in', nonlinearity: o.nonlinearity ?? 'leaky_relu', ...place(t), ...rng(o) }));
}

/** A (semi-)orthogonal matrix times gain, in place (torch's `nn.init.orthogonal_`). @example init.orthogonal_(w, 1) */
export function orthogonal_(tensor: Tensor, gain?: number | (FillOptions & { gain?: number }), opts?: FillOptions): Tensor {
  const where = 'init.orthogonal_';
  const t = target(where, tensor);
  const o = numbers(where, args<FillOptions & { gain?: number }>(where, trim([gain, opts]), ['gain']));
  return fill(t, I.orthogonal(t.shape, { gain: o.gain ?? 1, ...place(t), ...rng(o) }));
}

/** torch's `nn.init.calculate_gain`. @example init.calculate_gain('leaky_relu', 0.2) */
export const calculate_gain = I.calculateGain;
/** camelCase aliases. */
export const xavierUniform_ = xavier_uniform_;
export const xavierNormal_ = xavier_normal_;
export const kaimingUniform_ = kaiming_uniform_;
export const kaimingNormal_ = kaiming_normal_;

/** Drops trailing undefined arguments. */
function trim(xs: unknown[]): unknown[] {
  let n = xs.length;
  while (n > 0 && xs[n - 1] === undefined) n--;
  return xs.slice(0, n);
}
