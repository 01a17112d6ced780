/**
 * Solver scratch memory: every buffer a solve needs is allocated once up front (no allocation
 * inside the iteration loop) and freed together at the end. A `Buf` is a handle whose storage
 * can be swapped (copy-on-write) when user code kept a reference to it.
 */
import type { Backend, Storage } from '../backend/backend.js';
import type { DType, TypedArray } from '../dtype.js';
import { releaseStorage } from '../tensor.js';
import { checkFits } from '../creation.js';

/** A solver-owned storage; `s` may be replaced by `Workspace.exclusive`. */
export class Buf {
  constructor(public s: Storage) {}
}

export class Workspace {
  private readonly bufs: Buf[] = [];

  /** `where` names the solver in errors (a buffer that cannot fit the backend). */
  constructor(readonly backend: Backend, readonly dtype: DType, readonly where = 'solver') {}

  /**
   * A buffer of `size` elements, freed by `free()`: zero-filled, or with `zeroed` false of
   * unspecified contents (for buffers written before they are read, on backends with `allocUninit`).
   * `why` names the option that sized it, for the error when it cannot fit the backend.
   */
  buf(size: number, zeroed = true, why?: string): Buf {
    const be = this.backend;
    if (why !== undefined) checkFits(`${this.where}: ${why}`, [size], this.dtype, be);
    const b = new Buf(!zeroed && be.allocUninit ? be.allocUninit(size, this.dtype) : be.alloc(size, this.dtype));
    this.bufs.push(b);
    return b;
  }

  /**
   * Makes sure nobody else holds `b`'s storage before the solver overwrites it: if user code
   * kept a handle on it, the solver moves to a fresh copy and leaves the old one to its holder.
   */
  exclusive(b: Buf): void {
    if (b.s.refs <= 1) return;
    const fresh = this.backend.alloc(b.s.size, this.dtype);
    copyAll(this.backend, b.s, fresh);
    releaseStorage(this.backend, b.s);
    b.s = fresh;
  }

  /** Frees every buffer (the solve is over). */
  free(): void {
    for (const b of this.bufs) releaseStorage(this.backend, b.s);
    this.bufs.length = 0;
  }
}

/**
 * Reads small per-sample vectors (norms, dots) back to JS. This is the one place the solvers
 * read device data inside their loops; it is async so a GPU backend works unchanged (CPU
 * backends resolve immediately).
 */
export function readVectors(backend: Backend, storages: readonly Storage[]): Promise<TypedArray[]> {
  return Promise.all(storages.map((s) => backend.readAsync(s)));
}

/**
 * Copies the rows (samples) of a (B, D) storage whose `mask` entry is 1 into `dst`, one
 * backend copy per run of consecutive selected samples (usually one for the whole batch).
 */
export function copyRows(backend: Backend, src: Storage, dst: Storage, mask: Uint8Array, D: number): void {
  const B = mask.length;
  let b = 0;
  while (b < B) {
    if (!mask[b]) { b++; continue; }
    const start = b;
    while (b < B && mask[b]) b++;
    const n = (b - start) * D;
    if (n > 0) backend.copy(src, start * D, [1], dst, start * D, [1], [n]);
  }
}

/** Copies a whole storage (same size) into another. */
export function copyAll(backend: Backend, src: Storage, dst: Storage): void {
  if (src.size > 0) backend.copy(src, 0, [1], dst, 0, [1], [src.size]);
}
