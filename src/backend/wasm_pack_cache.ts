/**
 * Prepacked GEMM right-hand operands of the wasm backend.
 *
 * The GEMM copies B into micro-panels before multiplying (assembly/gemm_pack.ts). A DEQ layer
 * multiplies by the same weight once per solver iteration, forward (`z W^T`) and in the
 * adjoint solve (`g W`), so at d = 1024 it packed the same 4 MB again for each of the ~64
 * products of a training step (13-17% of the step). This cache keeps B packed whole
 * (`gemm_prepack_*`) for storages that are multiplied repeatedly:
 * - the first product with a given B (storage, transposition, n, k) only records it; the
 *   second packs it into a buffer of its own, and later ones read that buffer. One-off
 *   operands (activations, gradients) therefore never pay for a second copy.
 * - any write into the storage drops its packs (the backend calls `drop` from every method
 *   that writes, from `write` and from `free`), so a pack never outlives the values it copied.
 *   An optimizer's in-place update of a weight simply starts over with the next product.
 * - at most `maxStorages` storages are tracked and at most `maxBytes` are held in packs; the
 *   least recently used go first. `maxBytes = 0` turns packing off.
 * Results are bit-identical with and without a pack: the packed product reads the same values
 * in the same order (test/gemm_prepack.test.ts).
 */
import type { Storage } from './backend.js';

/** Default byte budget for packs (a d = 1024 float32 weight takes 4 MiB per orientation). */
export const PACK_CACHE_BYTES = 64 * 2 ** 20;
/** Default number of B storages tracked (packed or seen once). */
export const PACK_CACHE_STORAGES = 64;
/** Smallest B (n * k elements) worth packing once: below it packing is a few hundred ns. */
export const MIN_PACK_ELEMENTS = 1024;

interface Entry {
  transB: boolean;
  n: number;
  k: number;
  /** Byte address of the packed panels, 0 while the operand has been seen only once. */
  ptr: number;
  bytes: number;
}

/** Allocation and packing primitives the cache needs from the module. */
export interface PackHost {
  /** Bytes `prepack` writes for a (k x n) B of this storage's dtype. */
  packedBytes(s: Storage, n: number, k: number): number;
  /** Raw 16-byte aligned memory (not a storage); `free` releases it. */
  allocRaw(bytes: number): number;
  freeRaw(ptr: number): void;
  /** Packs op(B) of storage `s` into `dst`. */
  prepack(s: Storage, transB: boolean, n: number, k: number, dst: number): void;
}

/**
 * Which B operands of one wasm backend are packed, and where.
 * @example
 * const ptr = cache.lookup(w, true, 1024, 1024); // 0 the first time, then a packed buffer
 */
export class PackCache {
  private readonly entries = new Map<Storage, Entry[]>();
  private held = 0;
  private budget = PACK_CACHE_BYTES;
  private storages = PACK_CACHE_STORAGES;

  constructor(private readonly host: PackHost) {}

  /** Byte budget for packs; 0 disables packing. Lowering it releases packs at once. */
  get maxBytes(): number {
    return this.budget;
  }
  set maxBytes(bytes: number) {
    if (!(Number.isFinite(bytes) && bytes >= 0)) {
      throw new Error(`PackCache.maxBytes: expected a number of bytes >= 0, received ${String(bytes)}`);
    }
    this.budget = bytes;
    this.trim(null);
  }

  /** Most B storages tracked at once (packed or seen once). */
  get maxStorages(): number {
    return this.storages;
  }
  set maxStorages(n: number) {
    if (!(Number.isInteger(n) && n >= 0)) {
      throw new Error(`PackCache.maxStorages: expected an integer >= 0, received ${String(n)}`);
    }
    this.storages = n;
    this.trim(null);
  }

  /** Storages currently tracked (packed or seen once); 0 lets writers skip `drop`. */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes held by packs. */
  bytes(): number {
    return this.held;
  }

  /**
   * The packed op(B) for a product with this B, or 0 when the product should pack B itself
   * (first sighting, too small, or over budget).
   */
  lookup(b: Storage, transB: boolean, n: number, k: number): number {
    if (this.budget <= 0 || this.storages <= 0 || n * k < MIN_PACK_ELEMENTS) return 0;
    let list = this.entries.get(b);
    if (list !== undefined) {
      this.entries.delete(b); // re-inserted below: Map order is recency order
    } else {
      list = [];
    }
    this.entries.set(b, list);
    let e: Entry | undefined;
    for (const x of list) if (x.transB === transB && x.n === n && x.k === k) e = x;
    if (e === undefined) {
      list.push({ transB, n, k, ptr: 0, bytes: 0 });
      this.trim(b);
      return 0;
    }
    if (e.ptr === 0) {
      const bytes = this.host.packedBytes(b, n, k);
      this.held += bytes;
      this.trim(b);
      if (this.held > this.budget) {
        this.held -= bytes;
        return 0;
      }
      e.ptr = this.host.allocRaw(bytes);
      e.bytes = bytes;
      this.host.prepack(b, transB, n, k, e.ptr);
    }
    return e.ptr;
  }

  /** Forgets every pack of `s` (its values change or it is freed). */
  drop(s: Storage): void {
    const list = this.entries.get(s);
    if (list === undefined) return;
    this.entries.delete(s);
    this.release(list);
  }

  /** Releases every pack. */
  clear(): void {
    for (const list of this.entries.values()) this.release(list);
    this.entries.clear();
  }

  private release(list: Entry[]): void {
    for (const e of list) {
      if (e.ptr !== 0) {
        this.host.freeRaw(e.ptr);
        this.held -= e.bytes;
        e.ptr = 0;
      }
    }
  }

  /** Evicts least recently used storages (never `keep`) until both budgets hold. */
  private trim(keep: Storage | null): void {
    for (const [s, list] of this.entries) {
      if (this.entries.size <= this.storages && this.held <= this.budget) return;
      if (s === keep) continue;
      this.entries.delete(s);
      this.release(list);
    }
  }
}
