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
 *
 * A storage's entries hang off the storage itself (`WasmStorage.packs`), so the checks on the
 * hot paths (every product, every write) are one property read.
 */
import type { PackEntry, WasmStorage } from './wasm_heap.js';

/** Default byte budget for packs (a d = 1024 float32 weight takes 4 MiB per orientation). */
export const PACK_CACHE_BYTES = 64 * 2 ** 20;
/** Default number of B storages tracked (packed or seen once). */
export const PACK_CACHE_STORAGES = 64;
/** Smallest B (n * k elements) worth packing once: below it packing is a few hundred ns. */
export const MIN_PACK_ELEMENTS = 1024;

/** Allocation and packing primitives the cache needs from the module. */
export interface PackHost {
  /** Bytes `prepack` writes for a (k x n) B of this storage's dtype. */
  packedBytes(s: WasmStorage, n: number, k: number): number;
  /** Raw 16-byte aligned memory (not a storage); `freeRaw` releases it. */
  allocRaw(bytes: number): number;
  freeRaw(ptr: number): void;
  /** Packs op(B) of storage `s` into `dst`. */
  prepack(s: WasmStorage, transB: boolean, n: number, k: number, dst: number): void;
}

/**
 * Which B operands of one wasm backend are packed, and where.
 * @example
 * const ptr = cache.lookup(w, true, 1024, 1024); // 0 the first time, then a packed buffer
 */
export class PackCache {
  private readonly tracked = new Set<WasmStorage>();
  private held = 0;
  private clock = 0;
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

  /** Storages currently tracked (packed or seen once). */
  get size(): number {
    return this.tracked.size;
  }

  /** Bytes held by packs. */
  bytes(): number {
    return this.held;
  }

  /**
   * The packed op(B) for a product with this B, or 0 when the product should pack B itself
   * (first sighting, too small, or over budget).
   */
  lookup(b: WasmStorage, transB: boolean, n: number, k: number): number {
    if (this.budget <= 0 || this.storages <= 0 || n * k < MIN_PACK_ELEMENTS) return 0;
    const used = ++this.clock;
    let list = b.packs;
    if (list === null) {
      list = b.packs = [];
      this.tracked.add(b);
    }
    let e: PackEntry | undefined;
    for (let i = 0; i < list.length; i++) {
      const x = list[i];
      if (x.transB === transB && x.n === n && x.k === k) e = x;
    }
    if (e === undefined) {
      list.push({ transB, n, k, ptr: 0, bytes: 0, used });
      this.trim(b);
      return 0;
    }
    e.used = used;
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
  drop(s: WasmStorage): void {
    const list = s.packs;
    if (list === null) return;
    s.packs = null;
    this.tracked.delete(s);
    this.release(list);
  }

  private release(list: PackEntry[]): void {
    for (const e of list) {
      if (e.ptr !== 0) {
        this.host.freeRaw(e.ptr);
        this.held -= e.bytes;
        e.ptr = 0;
      }
    }
  }

  /** Evicts least recently used storages (never `keep`) until both budgets hold. */
  private trim(keep: WasmStorage | null): void {
    while (this.tracked.size > this.storages || this.held > this.budget) {
      let oldest: WasmStorage | null = null, stamp = Infinity;
      for (const s of this.tracked) {
        if (s === keep) continue;
        let last = 0;
        for (const e of s.packs!) last = Math.max(last, e.used);
        if (last < stamp) {
          stamp = last;
          oldest = s;
        }
      }
      if (oldest === null) return;
      this.drop(oldest);
    }
  }
}
