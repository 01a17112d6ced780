/**
 * Moving tensors between backends and dtypes: `t.to(target)` (synchronous) and
 * `await t.toAsync(target)` (any backend, GPU ones included). Generic over the backend
 * registry: the only primitives used are the contract's `readSync` / `readAsync` (source) and
 * `alloc` + `write` (destination), so a backend registered later (webgpu) moves like the others.
 * A backend whose `readSync` cannot work (`asyncOnly: true` in the contract) is left with
 * `toAsync`; moving *to* it is synchronous (writes are).
 *
 * Semantics follow torch's `Tensor.to`: when neither the backend nor the dtype changes the
 * tensor itself is returned (`t.to(t.backend) === t`), so disposing the result disposes `t`.
 * Otherwise the result is a new tensor with its own storage, differentiable: its backward moves
 * the gradient back to the source backend and dtype.
 */
import type { Backend, Storage } from '../backend/backend.js';
import { findBackend, listBackends } from '../backend/registry.js';
import { record } from '../autograd/engine.js';
import { Tensor, fmtShape } from '../tensor.js';
import { DTYPES, type DType, type TypedArray } from '../dtype.js';
import { cast } from './cast.js';
import { need } from './util.js';

/** Where `to` moves a tensor: a backend (object or registered name), a dtype, or both. */
export type ToTarget = Backend | string | { backend?: Backend | string; dtype?: DType };

/** Internal: the backend and dtype a `to` call asks for (unchanged parts taken from `from`). */
export interface Placement { backend: Backend; dtype: DType; }

/**
 * Internal: resolves `to`'s arguments. A string is a dtype ('float32', 'float64') or a
 * registered backend name; `dtype` may be given as a second argument (torch's `to(device, dtype)`).
 */
export function resolvePlacement(where: string, from: { backend: Backend; dtype: DType }, target: unknown,
  dtype?: unknown): Placement {
  let backend: unknown, dt: unknown = dtype;
  if (typeof target === 'string') {
    if ((DTYPES as readonly string[]).includes(target)) {
      if (dtype !== undefined) {
        throw new Error(`${where}: expected a backend before the dtype, received two dtypes ('${target}', ${JSON.stringify(dtype)})`);
      }
      dt = target;
    } else {
      backend = target;
    }
  } else if (isBackend(target)) {
    backend = target;
  } else if (target !== null && typeof target === 'object') {
    const o = target as Record<string, unknown>;
    const unknownKeys = Object.keys(o).filter((k) => k !== 'backend' && k !== 'dtype');
    if (unknownKeys.length) {
      throw new Error(`${where}: unknown option '${unknownKeys[0]}'; expected 'backend' and/or 'dtype'`);
    }
    if (dtype !== undefined) throw new Error(`${where}: expected the dtype inside the options object, received a second argument too`);
    backend = o.backend;
    dt = o.dtype;
  } else {
    throw new Error(`${where}: expected a backend (name or object), a dtype or { backend, dtype }, received ${target === null ? 'null' : typeof target}`);
  }
  let b: Backend = from.backend;
  if (typeof backend === 'string') {
    const found = findBackend(backend);
    if (!found) {
      throw new Error(`${where}: unknown backend or dtype '${backend}'; expected a dtype (${DTYPES.map((d) => `'${d}'`).join(', ')}) or a registered backend (${listBackends().map((n) => `'${n}'`).join(', ')}; 'wasm' after \`await init()\`)`);
    }
    b = found;
  } else if (backend !== undefined) {
    if (!isBackend(backend)) throw new Error(`${where}: expected option 'backend' to be a Backend or a backend name, received ${typeof backend}`);
    b = backend;
  }
  let d: DType = from.dtype;
  if (dt !== undefined) {
    if (dt !== 'float32' && dt !== 'float64') {
      throw new Error(`${where}: expected dtype 'float32' or 'float64', received ${JSON.stringify(dt)}`);
    }
    d = dt;
  }
  return { backend: b, dtype: d };
}

function isBackend(x: unknown): x is Backend {
  return x !== null && typeof x === 'object' && typeof (x as Backend).alloc === 'function'
    && typeof (x as Backend).readAsync === 'function' && typeof (x as Backend).name === 'string';
}

/** Internal: a fresh storage on `dst` of `dtype` holding `values` (converted by the typed-array write). */
export function storageFrom(dst: Backend, dtype: DType, values: ArrayLike<number>): Storage {
  const s = dst.alloc(values.length, dtype);
  try {
    dst.write(s, values);
  } catch (e) {
    dst.free(s);
    throw e;
  }
  return s;
}

/** Internal: reads `x` on the host synchronously, or throws naming `toAsync` for async-only backends. */
export function readForMove(where: string, x: Tensor): TypedArray {
  if (x.backend.asyncOnly) {
    throw new Error(`${where}: the '${x.backend.name}' backend is read asynchronously; use \`await t.toAsync(...)\` (or \`await module.toAsync(...)\`) to move tensors off it`);
  }
  return x.backend.readSync(x.storage);
}

/** Internal: the storage of `x` placed on `p` (a new storage with one ref), from host values. */
function placedStorage(x: Tensor, p: Placement, values: TypedArray): Storage {
  if (values.length !== x.size) throw new Error(`to: the '${x.backend.name}' backend returned ${values.length} values for a tensor of shape ${fmtShape(x.shape)}`);
  return storageFrom(p.backend, p.dtype, values);
}

function moved(x: Tensor, p: Placement, values: TypedArray): Tensor {
  const o = new Tensor(placedStorage(x, p, values), x.shape, p.backend);
  const src: Placement = { backend: x.backend, dtype: x.dtype };
  return record('to', o, [x], [], (g) => moveGradBack(g, src));
}

/** The backward of `to`: the gradient moved back where the input lives (async if it must read a GPU). */
function moveGradBack(g: Tensor, src: Placement): [Tensor] | Promise<[Tensor]> {
  if (g.backend.asyncOnly && g.backend !== src.backend) return toAsync(g, src).then((t) => [t]);
  return [to(g, src)];
}

/**
 * `x` on another backend and/or dtype (torch's `Tensor.to`). Returns `x` itself when nothing
 * changes. Differentiable. Synchronous: a source on a backend read only asynchronously
 * (webgpu) needs `toAsync`.
 * @example const w = tensor([1, 2]).to('float64'); // same backend, float64
 * @example const v = x.to('js'); // a copy on the js backend (x itself if already there)
 */
export function to(x: Tensor, target: ToTarget, dtype?: DType): Tensor {
  const X = need('to', 'x', x);
  const p = resolvePlacement('to', X, target, dtype);
  if (p.backend === X.backend) return p.dtype === X.dtype ? X : cast(X, p.dtype);
  return moved(X, p, readForMove('to', X));
}

/**
 * Like `to`, for every backend including those read asynchronously (webgpu). Resolves to `x`
 * itself when nothing changes.
 * @example const host = await gpuTensor.toAsync('js');
 */
export async function toAsync(x: Tensor, target: ToTarget, dtype?: DType): Promise<Tensor> {
  const X = need('toAsync', 'x', x);
  const p = resolvePlacement('toAsync', X, target, dtype);
  if (p.backend === X.backend) return p.dtype === X.dtype ? X : cast(X, p.dtype);
  const values = await X.backend.readAsync(X.storage);
  X.assertLive('toAsync (the tensor was disposed while it was being read)');
  return moved(X, p, values);
}
