/**
 * Storages in a WASM module's linear memory: zero-filled, 16-byte aligned blocks from the
 * module's allocator, plus typed-array views that are re-derived whenever the memory has
 * grown (a `memory.grow` detaches every earlier view of the old ArrayBuffer, so a view must
 * never be kept across a call that may allocate).
 */
import type { Storage } from './backend.js';
import { bytesPer, type DType, type TypedArray } from '../dtype.js';
import { MAX_ALLOC_BYTES } from './wasm_constants.js';
import { fmtBytes } from '../utils/format.js';

/** The most a wasm32 module's linear memory can grow to (65536 pages of 64 KiB). */
export const MAX_MEMORY_BYTES = 2 ** 32;

/** A wasm storage: `ptr` is the byte address of element 0 (0 once freed). */
export interface WasmStorage extends Storage {
  ptr: number;
  /** GEMM packs of this storage's values (./wasm_pack_cache.ts), null when it has none. */
  packs: PackEntry[] | null;
}

/** One packed (or seen-once) GEMM operand of a storage; see ./wasm_pack_cache.ts. */
export interface PackEntry {
  transB: boolean;
  n: number;
  k: number;
  /** Byte address of the packed panels, 0 while the operand has been seen only once. */
  ptr: number;
  bytes: number;
  /** Recency stamp for eviction. */
  used: number;
}

interface HeapExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  alloc_uninit(bytes: number): number;
  free(ptr: number): void;
}

export class WasmHeap {
  private readonly ex: HeapExports;
  private buffer: ArrayBuffer | null = null;
  private f32v = new Float32Array(0);
  private f64v = new Float64Array(0);
  private i32v = new Int32Array(0);
  private live = 0;
  private count = 0;

  constructor(exports: WebAssembly.Exports) {
    this.ex = exports as unknown as HeapExports;
  }

  /** Bytes held by live storages. */
  liveBytes(): number {
    return this.live;
  }

  /** Storages allocated and not yet freed. */
  liveCount(): number {
    return this.count;
  }

  /** Current size of the linear memory in bytes. */
  memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /**
   * Allocates `bytes` raw bytes (not counted as live storage), zero-filled unless `zeroed` is
   * false; release with `freeRaw`. `where` names the caller in errors (a function: built only
   * when an error is thrown).
   */
  allocRaw(bytes: number, where: string | (() => string), zeroed = true): number {
    if (!(Number.isInteger(bytes) && bytes >= 0 && bytes <= MAX_ALLOC_BYTES)) {
      throw new Error(`wasm backend: ${typeof where === 'string' ? where : where()}: expected at most ${MAX_ALLOC_BYTES} bytes per storage (the WASM allocator's limit), received a request for ${bytes} bytes`);
    }
    let ptr: number;
    try {
      // Addresses are unsigned: past 2 GiB an i32 result comes back negative.
      ptr = (zeroed ? this.ex.alloc(bytes) : this.ex.alloc_uninit(bytes)) >>> 0;
    } catch {
      // The allocator traps before changing any state when memory.grow fails, so the heap stays usable.
      throw new Error(`out of WebAssembly memory: cannot allocate ${fmtBytes(bytes)} more (${typeof where === 'string' ? where : where()}); `
        + `${this.count} live tensors hold ${fmtBytes(this.live)} of the ${fmtBytes(MAX_MEMORY_BYTES)} the module can grow to `
        + `(linear memory now ${fmtBytes(this.memoryBytes())}; missing tidy() or dispose()?)`);
    }
    return ptr;
  }

  freeRaw(ptr: number): void {
    this.ex.free(ptr);
  }

  /** A storage of `size` elements, zero-filled unless `zeroed` is false (contents then unspecified). */
  alloc(size: number, dtype: DType, zeroed = true): WasmStorage {
    const bytes = size * bytesPer(dtype);
    const ptr = this.allocRaw(bytes, () => `alloc(${size}, '${dtype}')`, zeroed);
    this.live += bytes;
    this.count++;
    return { dtype, size, refs: 1, ptr, packs: null };
  }

  free(s: Storage): void {
    const w = s as WasmStorage;
    if (!(w.ptr > 0)) {
      throw new Error(`wasm backend: free: expected a live wasm storage, received ${w.ptr === 0 ? 'a storage that was already freed' : 'a storage of another backend'}`);
    }
    this.ex.free(w.ptr);
    w.ptr = 0;
    this.live -= s.size * bytesPer(s.dtype);
    this.count--;
  }

  private refresh(): void {
    const buf = this.ex.memory.buffer;
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.f32v = new Float32Array(buf);
      this.f64v = new Float64Array(buf);
      this.i32v = new Int32Array(buf);
    }
  }

  /** A Float32Array or Float64Array over the whole current memory. */
  view(dtype: DType): TypedArray {
    this.refresh();
    return dtype === 'float32' ? this.f32v : this.f64v;
  }

  /** An Int32Array over the whole current memory. */
  int32(): Int32Array {
    this.refresh();
    return this.i32v;
  }

  /** Element index of a storage's first element in `view(s.dtype)`. */
  static index(s: WasmStorage): number {
    return s.ptr / bytesPer(s.dtype);
  }
}
