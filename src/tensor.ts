/**
 * The Tensor: a shape, a dtype and a reference-counted storage on one backend, plus the
 * autograd fields (`requiresGrad`, `grad`, `node`). Tensors are immutable values: every op
 * returns a new tensor. Op methods (`t.add(u)`, ...) are attached in `tensor_methods.ts`.
 */
import type { Backend, Storage } from './backend/backend.js';
import { sizeOf } from './backend/backend.js';
import { findBackend, getBackend, listBackends } from './backend/registry.js';
import { bytesPer, type DType, type TypedArray } from './dtype.js';
import type { Node } from './autograd/node.js';
import { scopes } from './scope.js';

let nextId = 0;
let liveTensors = 0;

/** Internal: the id the next tensor will get (ids grow monotonically). */
export function peekNextTensorId(): number {
  return nextId;
}

/** Releases one reference to a storage; frees it at zero. */
export function releaseStorage(backend: Backend, s: Storage): void {
  s.refs--;
  if (s.refs === 0) backend.free(s);
}

interface Held { backend: Backend; storage: Storage; }
const finalizer = typeof FinalizationRegistry !== 'undefined'
  ? new FinalizationRegistry<Held>((h) => { liveTensors--; releaseStorage(h.backend, h.storage); })
  : null;

/**
 * An immutable n-d array of float32 or float64 values on one backend, with autograd fields.
 * Create tensors with `tensor`, `zeros`, `randn`, ...; every op returns a new tensor.
 * @example const t = tensor([[1, 2], [3, 4]]); t.shape; // [2, 2]
 */
export class Tensor {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  readonly backend: Backend;
  /** Internal: the storage. Do not touch from user code. */
  storage: Storage;
  /** Whether gradients flow to this tensor. Leaves set it; op outputs inherit it. */
  requiresGrad = false;
  /** Gradient accumulated by `backward()` on leaves. Assign `null` to clear. */
  grad: Tensor | null = null;
  /** Internal: the graph node that produced this tensor (null for leaves). */
  node: Node | null = null;
  /** Internal: the leaf that receives this handle's gradient (itself unless it is an alias). */
  target: Tensor = this;
  /**
   * How many times this tensor's values were changed in place (optimizer steps, `loadStateDict`,
   * the in-place `nn.init` fillers, `module.to`). Tensors are otherwise immutable, so a cache
   * computed from a tensor (a weight-normalised weight) is current while the versions match.
   */
  version = 0;
  private disposedFlag = false;
  /** What the GC backstop frees if this handle is dropped undisposed (null: not registered). */
  private held: Held | null = null;

  /**
   * Internal constructor; use `tensor()`, `zeros()` and friends. Takes ownership of one storage
   * ref. `track`: join the innermost tidy scope; `backstop`: when not tracked, register with
   * the GC backstop (false only for handles their creator always disposes itself).
   */
  constructor(storage: Storage, shape: readonly number[], backend: Backend, track = true, backstop = true) {
    this.id = nextId++;
    this.storage = storage;
    // Shapes are shared between tensors once frozen (views, aliases, op outputs of an input's shape).
    this.shape = Object.isFrozen(shape) ? shape : Object.freeze(shape.slice());
    this.dtype = storage.dtype;
    this.size = sizeOf(shape);
    this.backend = backend;
    if (this.size !== storage.size) {
      throw new Error(`Tensor: shape ${fmtShape(shape)} has ${this.size} elements but storage holds ${storage.size}`);
    }
    liveTensors++;
    // A tensor inside a tidy scope is disposed (or handed on) when the scope ends; the scope
    // registers it with the GC backstop only if it leaves every scope alive.
    if (track ? !scopes.track(this) : backstop) this.backstop();
  }

  /**
   * Internal: registers this handle with the garbage-collector backstop (which frees its
   * storage reference if the handle is dropped without `dispose()`). Idempotent.
   */
  backstop(): void {
    if (this.held !== null || this.disposedFlag || finalizer === null) return;
    this.held = { backend: this.backend, storage: this.storage };
    finalizer.register(this, this.held, this);
  }

  get rank(): number { return this.shape.length; }
  get isDisposed(): boolean { return this.disposedFlag; }
  get isLeaf(): boolean { return this.node === null; }

  /** Frees this handle's reference to the storage. Safe to call twice. */
  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    liveTensors--;
    if (this.held !== null) {
      finalizer?.unregister(this);
      this.held = null;
    }
    releaseStorage(this.backend, this.storage);
  }

  /** Throws a clear error if this tensor was disposed. */
  assertLive(where: string): this {
    if (this.disposedFlag) {
      throw new Error(`${where}: expected a live tensor, received a disposed tensor (id ${this.id}, shape ${fmtShape(this.shape)})`);
    }
    return this;
  }

  /** Synchronous copy of the data as a flat typed array (CPU backends only; on webgpu use `await t.data()`). */
  dataSync(): TypedArray {
    this.assertLive('dataSync');
    return this.readSyncFor('dataSync');
  }

  /** The synchronous read behind dataSync/toArray/item, with an error naming `where` on GPU backends. */
  private readSyncFor(where: string): TypedArray {
    if (this.backend.asyncOnly) {
      throw new Error(`${where}: tensors on the '${this.backend.name}' backend are read asynchronously; use \`await t.data()\` (or move the tensor with \`await t.toAsync('wasm')\`)`);
    }
    return this.backend.readSync(this.storage);
  }

  /** Asynchronous copy of the data as a flat typed array (every backend). */
  async data(): Promise<TypedArray> {
    this.assertLive('data');
    return this.backend.readAsync(this.storage);
  }

  /** Nested JS arrays (a number for a scalar). Synchronous: CPU backends only. */
  toArray(): NestedArray {
    this.assertLive('toArray');
    return nest(this.readSyncFor('toArray'), this.shape);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    this.assertLive('item');
    if (this.size !== 1) {
      throw new Error(`item: expected a tensor with exactly 1 element, received shape ${fmtShape(this.shape)}`);
    }
    return this.readSyncFor('item')[0];
  }

  /** A new tensor sharing this storage, cut from the graph (requiresGrad false). */
  detach(): Tensor {
    this.assertLive('detach');
    this.storage.refs++;
    return new Tensor(this.storage, this.shape, this.backend);
  }

  /**
   * Internal: another handle on the same value, graph identity included (same node, same
   * gradient target). Not tracked by tidy when `track` is false.
   */
  alias(track = true): Tensor {
    this.assertLive('alias');
    this.storage.refs++;
    const t = new Tensor(this.storage, this.shape, this.backend, track);
    t.requiresGrad = this.requiresGrad;
    t.node = this.node;
    t.target = this.target;
    return t;
  }

  /** Internal: a new graph-less handle on the same storage with another shape of the same size. */
  view(shape: readonly number[]): Tensor {
    this.assertLive('view');
    this.storage.refs++;
    return new Tensor(this.storage, shape, this.backend);
  }

  /**
   * Internal: swaps this handle's storage for `storage` (one ref, owned from now on) on
   * `backend`, in place: the handle keeps its identity (what `module.to` needs so optimizers
   * keep pointing at the parameters). The old storage reference is released.
   */
  relocate(storage: Storage, backend: Backend): void {
    this.assertLive('relocate');
    if (storage.size !== this.size) {
      throw new Error(`relocate: expected a storage of ${this.size} elements for shape ${fmtShape(this.shape)}, received ${storage.size}`);
    }
    const oldBackend = this.backend, oldStorage = this.storage;
    const wasHeld = this.held !== null;
    if (wasHeld) {
      finalizer?.unregister(this);
      this.held = null;
    }
    this.storage = storage;
    (this as { backend: Backend }).backend = backend;
    (this as { dtype: DType }).dtype = storage.dtype;
    this.version++;
    if (wasHeld) this.backstop();
    releaseStorage(oldBackend, oldStorage);
  }

  /**
   * Internal: copy-on-write before an in-place update (optimizer steps, `loadStateDict`): when
   * another handle shares this storage (`detach()`, `reshape()`, a tensor a recorded graph
   * saved), this handle moves to a private copy, so the others keep the values they had.
   */
  makeExclusive(): void {
    this.assertLive('makeExclusive');
    if (this.storage.refs <= 1) return;
    const be = this.backend, n = this.storage.size;
    const fresh = be.allocUninit ? be.allocUninit(n, this.dtype) : be.alloc(n, this.dtype);
    if (n > 0) be.copy(this.storage, 0, [1], fresh, 0, [1], [n]);
    this.relocate(fresh, be);
  }

  /** Sets requiresGrad on a leaf and returns this. */
  requireGrad(flag = true): this {
    if (!this.isLeaf && !flag) {
      throw new Error('requireGrad: expected a leaf tensor, received a tensor produced by an op; use detach()');
    }
    this.requiresGrad = flag;
    return this;
  }

  toString(): string {
    return `Tensor(shape=${fmtShape(this.shape)}, dtype=${this.dtype}, backend=${this.backend.name}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

export type NestedArray = number | NestedArray[];

function nest(data: TypedArray, shape: readonly number[]): NestedArray {
  if (shape.length === 0) return data[0];
  const rec = (off: number, ax: number): NestedArray[] => {
    const n = shape[ax];
    const out: NestedArray[] = new Array(n);
    if (ax === shape.length - 1) {
      for (let i = 0; i < n; i++) out[i] = data[off + i];
      return out;
    }
    let step = 1;
    for (let j = ax + 1; j < shape.length; j++) step *= shape[j];
    for (let i = 0; i < n; i++) out[i] = rec(off + i * step, ax + 1);
    return out;
  };
  return rec(0, 0);
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Allocates a fresh tensor of `shape` on `backend` (zero-filled). */
export function empty(shape: readonly number[], dtype: DType, backend: Backend = getBackend()): Tensor {
  return new Tensor(backend.alloc(sizeOf(shape), dtype), shape, backend);
}

/**
 * Internal: a fresh tensor whose contents are unspecified (no zero-fill where the backend
 * allows it). Only for op outputs that a kernel overwrites entirely.
 */
export function uninitialized(shape: readonly number[], dtype: DType, backend: Backend): Tensor {
  const n = sizeOf(shape);
  return new Tensor(backend.allocUninit ? backend.allocUninit(n, dtype) : backend.alloc(n, dtype), shape, backend);
}

/**
 * Live tensor handles and bytes held by each backend.
 * @example const before = memory().numBytes; tidy(() => zeros([100]).add(1)); memory().numBytes === before; // true
 */
export function memory(): { numTensors: number; numBytes: number; backends: Record<string, number> } {
  return { numTensors: liveTensors, numBytes: bytesOfAll(), backends: bytesByBackend() };
}

function bytesByBackend(): Record<string, number> {
  const r: Record<string, number> = {};
  for (const name of listBackends()) r[name] = findBackend(name)!.liveBytes();
  return r;
}
function bytesOfAll(): number {
  let n = 0;
  for (const name of listBackends()) n += findBackend(name)!.liveBytes();
  return n;
}
export { bytesPer };
