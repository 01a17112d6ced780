/**
 * Offload: running a DEQ solve (and its backward) on the GPU for a model whose tensors live on a
 * CPU backend. While the wrapped `func` runs (its synchronous part), every tensor an op receives
 * that is not on the offload backend is moved there (`need` in src/ops/util.ts asks
 * `offloaded`), through a differentiable copy: its backward moves the gradient back, so
 * gradients land on the model's own tensors. The copies' GPU storages are cached per source
 * tensor and reused while its storage and `version` are unchanged (a parameter is uploaded once
 * per optimizer step, not once per solver iteration).
 *
 * The mode is a module-level slot set only around synchronous code (JS runs one synchronous
 * section at a time), so concurrent solves cannot see each other's mode.
 */
import type { Backend, Storage } from '../backend/backend.js';
import { record } from '../autograd/engine.js';
import { Tensor } from '../tensor.js';
import { toAsync, to, storageFrom } from '../ops/transfer.js';

/** What `offload` may be: never, when it pays (the default), or always onto webgpu. */
export type OffloadMode = 'none' | 'auto' | 'webgpu';

export const OFFLOAD_MODES: readonly OffloadMode[] = ['none', 'auto', 'webgpu'];

/**
 * The provisional crossover of `offload: 'auto'`: the state (B x D elements) at or above which a
 * solve moves to a hardware GPU. Not yet measured on a real GPU (BENCHMARKS.md, section
 * "DEQ on the GPU"); chosen as the (1024, 64) case where the wasm step stops beating TorchDEQ.
 */
export const OFFLOAD_AUTO_MIN_ELEMENTS = 65536;

/** GPU copies of CPU tensors, keyed by the source tensor (weakly: a dropped tensor drops its copy). */
export class OffloadCache {
  private readonly copies = new WeakMap<Tensor, { storage: Storage; version: number; copy: Tensor }>();
  /** Uploads made (for tests and benchmarks). */
  uploads = 0;

  constructor(readonly target: Backend) {}

  /** The GPU storage for `x` (uploaded now when missing or stale); the cache keeps one ref. */
  storageFor(x: Tensor): Storage {
    const hit = this.copies.get(x);
    if (hit && hit.storage === x.storage && hit.version === x.version && !hit.copy.isDisposed) return hit.copy.storage;
    if (hit && !hit.copy.isDisposed) hit.copy.dispose();
    const values = x.backend.readSync(x.storage);
    const s = storageFrom(this.target, x.dtype, values);
    // Freed by the GC backstop when the entry (and its source) is gone.
    const copy = new Tensor(s, x.shape, this.target, false, true);
    this.copies.set(x, { storage: x.storage, version: x.version, copy });
    this.uploads++;
    return s;
  }

  /** x on the target: a differentiable copy sharing the cached storage. */
  copyOf(x: Tensor): Tensor {
    const s = this.storageFor(x);
    s.refs++;
    const o = new Tensor(s, x.shape, this.target);
    const src = { backend: x.backend, dtype: x.dtype };
    return record('offload', o, [x], [], (g) => (g.backend.asyncOnly ? toAsync(g, src).then((t) => [t]) : [to(g, src)]));
  }
}

let active: OffloadCache | null = null;

/** Internal (ops): `t`, or its copy on the offload backend while an offloaded func runs. */
export function offloaded(t: Tensor): Tensor {
  if (active === null || t.backend === active.target || t.backend.asyncOnly) return t;
  return active.copyOf(t);
}

/**
 * Wraps `f` so its synchronous part runs with `cache` active. A func that returns a promise
 * cannot be offloaded (its later ops would run outside the mode): that is an error.
 */
export function offloadFunc<A, R>(where: string, cache: OffloadCache, f: (z: A) => R): (z: A) => R {
  return (z: A): R => {
    const prev = active;
    active = cache;
    let r: R;
    try {
      r = f(z);
    } finally {
      active = prev;
    }
    if (r instanceof Promise) {
      throw new Error(`${where}: offload needs a synchronous func (its ops after an await would run outside the offload); use offload: 'none' or make func synchronous`);
    }
    return r;
  };
}

/** What `auto` needs to know about a webgpu backend (its adapter). */
interface GpuLike extends Backend { adapterInfo?: { isFallbackAdapter: boolean } }

/**
 * The backend a solve of state `x` (B x D elements) offloads to under `mode`, or null.
 * 'webgpu' requires a registered webgpu backend and a float32 state on another backend;
 * 'auto' offloads only onto a hardware adapter (never a fallback / CPU adapter) and only at or
 * above OFFLOAD_AUTO_MIN_ELEMENTS, and never changes anything otherwise.
 */
export function offloadTarget(where: string, mode: OffloadMode, x: { backend: Backend; dtype: string; size: number },
  find: (name: string) => Backend | undefined): Backend | null {
  if (mode === 'none' || x.backend.name === 'webgpu') return null;
  const gpu = find('webgpu') as GpuLike | undefined;
  if (mode === 'auto') {
    if (!gpu || gpu.adapterInfo?.isFallbackAdapter !== false || x.dtype !== 'float32') return null;
    return x.size >= OFFLOAD_AUTO_MIN_ELEMENTS ? gpu : null;
  }
  if (!gpu) throw new Error(`${where}: offload 'webgpu' needs the webgpu backend; call \`await init({ gpu })\` first (or use offload: 'auto', which falls back to the CPU)`);
  if (x.dtype !== 'float32') throw new Error(`${where}: offload 'webgpu' needs a float32 state (WGSL has no float64), received ${x.dtype}`);
  return gpu;
}

/** Checks an `offload` option value. */
export function checkOffload(where: string, v: unknown): OffloadMode {
  if (!(OFFLOAD_MODES as readonly unknown[]).includes(v)) {
    throw new Error(`${where}: option 'offload' expected one of ${OFFLOAD_MODES.map((m) => `'${m}'`).join(', ')}, received ${JSON.stringify(v)}`);
  }
  return v as OffloadMode;
}
