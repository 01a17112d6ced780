/**
 * The `wasm` backend: every primitive of the Backend contract runs as an AssemblyScript SIMD
 * kernel (assembly/) on storages that live in the module's linear memory. Tensors never
 * cross between JS and WASM per op: only pointers and sizes are passed, N-d geometry goes
 * through a small dims block kept in WASM memory, and data is copied only by `write` and
 * `readSync`. Created by `init()` (src/init.ts) or `createWasmBackend` (./wasm_loader.ts).
 */
import type { Backend, BinaryOp, ConvSpec, MatmulSpec, ReduceOp, Storage, TrackSpec, UnaryOp } from './backend.js';
import { trackStepHost } from './track_host.js';
import { armijoStageHost } from './armijo_host.js';
import { bytesPer, type DType, type TypedArray } from '../dtype.js';
import { DIMS_BYTES, MAX_ALLOC_BYTES } from './wasm_constants.js';
import { packDims } from './wasm_dims.js';
import { MAX_MEMORY_BYTES, WasmHeap, type WasmStorage } from './wasm_heap.js';
import { bindKernels, type DTypeKernels } from './wasm_kernels.js';
import type { ParallelKernels } from './wasm_parallel.js';
import { PackCache } from './wasm_pack_cache.js';

/** Which build of the module runs: baseline SIMD, or SIMD plus relaxed SIMD (fused madd). */
export type WasmVariant = 'simd' | 'relaxed';

/** Byte address of a storage, checked (a freed or foreign storage would corrupt memory). */
function p(s: Storage): number {
  const ptr = (s as WasmStorage).ptr;
  if (!(ptr > 0)) {
    throw new Error(`wasm backend: expected a live wasm storage, received ${ptr === 0 ? 'a freed storage' : 'a storage of another backend'}`);
  }
  return ptr;
}

/**
 * A Backend running on one instance of the tsdeq WASM module.
 * @example
 * const wasm = await createWasmBackend(bytes); // or: await init()
 * const s = wasm.alloc(4, 'float32'); wasm.write(s, [1, 2, 3, 4]); wasm.readSync(s);
 */
export class WasmBackend implements Backend {
  readonly name = 'wasm';
  readonly limits = { storageBytes: MAX_ALLOC_BYTES, totalBytes: MAX_MEMORY_BYTES } as const;
  readonly variant: WasmVariant;
  private readonly heap: WasmHeap;
  /**
   * The dtypes this instance computes in: both, or `['float32']` on the float32-only build
   * (tsdeq-*-f32.wasm, loaded by `init({ dtypes: ['float32'] })`), which has no float64
   * kernels; `alloc` refuses float64 storages there.
   */
  readonly dtypes: readonly DType[];
  private readonly k: Record<DType, DTypeKernels>;
  /** Byte address of the dims block (allocated once, never moves). */
  private readonly dims: number;
  /**
   * Multi-threaded kernels, when this instance runs on shared memory (set by
   * `createSharedWasmBackend`, see ./wasm_shared.ts); null: everything runs on one thread.
   */
  parallel: ParallelKernels | null = null;
  /**
   * GEMM right-hand operands kept packed between products (./wasm_pack_cache.ts): a weight
   * multiplied again and again during a solve is packed once. `packCache.maxBytes = 0` turns
   * it off; `packCache.bytes()` is what it holds (not counted in `liveBytes`).
   */
  readonly packCache: PackCache;

  constructor(instance: WebAssembly.Instance, variant: WasmVariant) {
    this.variant = variant;
    this.heap = new WasmHeap(instance.exports);
    const f64 = typeof instance.exports.add_f64 === 'function';
    this.dtypes = f64 ? ['float32', 'float64'] : ['float32'];
    // On the float32-only build there is no float64 table: every float64 storage is refused by
    // `alloc` before any kernel could look for one.
    this.k = { float32: bindKernels(instance.exports, 'float32', !f64), float64: f64 ? bindKernels(instance.exports, 'float64') : null! };
    this.dims = this.heap.allocRaw(DIMS_BYTES, 'dims block');
    this.packCache = new PackCache({
      packedBytes: (s, n, k) => this.k[s.dtype].gemmPackedBytes(n, k),
      allocRaw: (bytes) => this.heap.allocRaw(bytes, 'GEMM operand pack', false),
      freeRaw: (ptr) => this.heap.freeRaw(ptr),
      prepack: (s, transB, n, k, dst) => this.k[s.dtype].gemmPrepack(p(s), transB ? 1 : 0, n, k, dst),
    });
  }

  /** Byte address of a storage a kernel writes: any pack of its old values is dropped first. */
  private w(s: Storage): number {
    if ((s as WasmStorage).packs != null) this.packCache.drop(s as WasmStorage);
    return p(s);
  }

  /** Current size of the module's linear memory in bytes (grows, never shrinks). */
  memoryBytes(): number {
    return this.heap.memoryBytes();
  }

  // ---- memory ----
  alloc(size: number, dtype: DType): Storage {
    this.checkDtype(dtype);
    return this.heap.alloc(size, dtype);
  }
  allocUninit(size: number, dtype: DType): Storage {
    this.checkDtype(dtype);
    return this.heap.alloc(size, dtype, false);
  }
  private checkDtype(dtype: DType): void {
    if (this.k[dtype] === null) {
      throw new Error(`wasm backend: ${dtype} tensors are not available: this instance runs the float32-only build of the module (init({ dtypes: ['float32'] }) or a tsdeq-*-f32.wasm module); load the full build (init() without 'dtypes', or with dtypes: ['float32', 'float64']) to compute in ${dtype} on wasm, or keep ${dtype} tensors on the js backend ({ backend: 'js' })`);
    }
  }
  free(s: Storage): void {
    if ((s as WasmStorage).packs != null) this.packCache.drop(s as WasmStorage);
    this.heap.free(s);
  }
  write(s: Storage, src: ArrayLike<number>, offset = 0): void {
    if (!(offset >= 0 && offset + src.length <= s.size)) {
      throw new Error(`wasm backend: write: expected ${src.length} values at offset ${offset} to fit a storage of ${s.size} elements`);
    }
    const base = this.w(s) / bytesPer(s.dtype);
    this.heap.view(s.dtype).set(src, base + offset);
  }
  readSync(s: Storage): TypedArray {
    const base = p(s) / bytesPer(s.dtype);
    return this.heap.view(s.dtype).slice(base, base + s.size);
  }
  readInto(s: Storage, dst: TypedArray): void {
    const base = p(s) / bytesPer(s.dtype);
    dst.set(this.heap.view(s.dtype).subarray(base, base + s.size));
  }
  trackStep(norms: Storage, state: Storage, trace: Storage, candidate: Storage, best: Storage, spec: TrackSpec): void {
    trackStepHost(this, norms, state, trace, candidate, best, spec);
  }
  armijoStage(norm: Storage, state: Storage, trial: Storage, take: Storage, stage: number): void {
    armijoStageHost(this, norm, state, trial, take, stage);
  }
  readAsync(s: Storage): Promise<TypedArray> {
    return Promise.resolve(this.readSync(s));
  }
  liveBytes(): number {
    return this.heap.liveBytes();
  }

  // ---- elementwise ----
  fill(out: Storage, value: number): void {
    this.k[out.dtype].fill(this.w(out), value, out.size);
  }
  unary(op: UnaryOp, x: Storage, out: Storage): void {
    const f = this.k[out.dtype].unary[op];
    if (f === undefined) throw new Error(`wasm backend: unknown unary op '${op as string}'`);
    f(this.w(out), p(x), out.size);
  }
  binary(op: BinaryOp, a: Storage, b: Storage, out: Storage, shape: readonly number[],
    aStrides: readonly number[], bStrides: readonly number[]): void {
    const f = this.k[out.dtype].binary[op];
    if (f === undefined) throw new Error(`wasm backend: unknown binary op '${op as string}'`);
    if (out.size === 0) return;
    const pa = p(a), pb = p(b), po = this.w(out);
    const nd = packDims(this.heap.int32(), this.dims, shape, aStrides, bStrides, null);
    f(po, pa, pb, nd, this.dims);
  }
  where(cond: Storage, a: Storage, b: Storage, out: Storage, shape: readonly number[],
    cStrides: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void {
    if (out.size === 0) return;
    const pc = p(cond), pa = p(a), pb = p(b), po = this.w(out);
    const nd = packDims(this.heap.int32(), this.dims, shape, cStrides, aStrides, bStrides);
    this.k[out.dtype].where(po, pc, pa, pb, nd, this.dims);
  }
  axpby(alpha: number, x: Storage, beta: number, y: Storage, out: Storage): void {
    this.k[out.dtype].axpby(this.w(out), alpha, p(x), beta, p(y), out.size);
  }
  cast(x: Storage, out: Storage): void {
    if (x.dtype === out.dtype) {
      const u8 = new Uint8Array(this.heap.view('float64').buffer);
      const px = p(x);
      u8.copyWithin(this.w(out), px, px + x.size * bytesPer(x.dtype));
      return;
    }
    // castTo is null only on the float32-only build, where no storage of another dtype exists.
    this.k[x.dtype].castTo!(this.w(out), p(x), x.size);
  }

  // ---- layout ----
  copy(x: Storage, xOffset: number, xStrides: readonly number[], out: Storage, outOffset: number,
    outStrides: readonly number[], shape: readonly number[]): void {
    for (const n of shape) if (n === 0) return;
    const sz = bytesPer(out.dtype);
    const px = p(x) + xOffset * sz, po = this.w(out) + outOffset * sz;
    const nd = packDims(this.heap.int32(), this.dims, shape, xStrides, outStrides, null);
    this.k[out.dtype].copy(po, px, nd, this.dims);
  }

  // ---- reductions ----
  reduce(op: ReduceOp, x: Storage, out: Storage, outer: number, n: number, inner: number): void {
    const f = this.k[x.dtype].reduce[op];
    if (f === undefined) throw new Error(`wasm backend: unknown reduce op '${op as string}'`);
    if (outer * inner === 0) return;
    f(this.w(out), p(x), outer, n, inner);
  }

  // ---- linear algebra ----
  matmul(a: Storage, b: Storage, out: Storage, s: MatmulSpec): void {
    const po = this.w(out);
    // One B for the whole product, and not a matrix-vector shape (those never pack B).
    const packed = (s.batch === 1 || s.strideB === 0) && s.m > 1 && s.n > 1 && s.k > 0
      ? this.packCache.lookup(b as WasmStorage, s.transB, s.n, s.k) : 0;
    if (packed !== 0) {
      if (this.parallel !== null && this.parallel.gemmPacked(out.dtype, p(a), packed, po, s)) return;
      this.k[out.dtype].gemmPacked(p(a), packed, po, s.batch, s.m, s.n, s.k, s.transA ? 1 : 0, s.strideA);
      return;
    }
    if (this.parallel !== null && this.parallel.gemm(out.dtype, p(a), p(b), po, s)) return;
    this.k[out.dtype].gemm(p(a), p(b), po, s.batch, s.m, s.n, s.k, s.transA ? 1 : 0, s.transB ? 1 : 0,
      s.strideA, s.strideB);
  }
  batchedDot(x: Storage, y: Storage, out: Storage, B: number, D: number): void {
    this.k[out.dtype].dot(this.w(out), p(x), p(y), B, D);
  }
  batchedNorm(x: Storage, out: Storage, B: number, D: number): void {
    this.k[out.dtype].norm(this.w(out), p(x), B, D);
  }
  gram(g: Storage, out: Storage, B: number, m: number, D: number, lam: number): void {
    this.k[out.dtype].gram(this.w(out), p(g), B, m, D, lam);
  }
  solve(a: Storage, rhs: Storage, out: Storage, B: number, n: number): boolean[] {
    const pa = p(a), pr = p(rhs), po = this.w(out);
    const flags = this.heap.allocRaw(Math.max(B, 1) * 4, 'solve');
    try {
      this.k[out.dtype].solve(po, pa, pr, B, n, flags);
      const v = this.heap.int32();
      const ok = new Array<boolean>(B);
      for (let i = 0; i < B; i++) ok[i] = v[(flags >>> 2) + i] === 1;
      return ok;
    } finally {
      this.heap.freeRaw(flags);
    }
  }
  lowRankMatvec(u: Storage, v: Storage, x: Storage, out: Storage, B: number, r: number,
    rmax: number, D: number, s: number): void {
    this.k[out.dtype].lowrank(this.w(out), p(u), p(v), p(x), B, r, rmax, D, s);
  }
  lowRankMatvecPair(u: Storage, v: Storage, x: Storage, y: Storage, outX: Storage, outY: Storage, B: number,
    r: number, rmax: number, D: number, s: number): void {
    this.k[outX.dtype].lowrankPair(this.w(outX), this.w(outY), p(u), p(v), p(x), p(y), B, r, rmax, D, s);
  }

  // ---- fused ----
  addTanh(x: Storage, u: Storage, out: Storage, rows: number, cols: number, uRowStride: number): void {
    if (rows * cols === 0) return;
    const po = this.w(out);
    if (this.parallel !== null && this.parallel.addTanh(out.dtype, po, p(x), p(u), rows, cols, uRowStride)) return;
    this.k[out.dtype].addTanh(po, p(x), p(u), rows, cols, uRowStride);
  }
  tanhGrad(g: Storage, y: Storage, out: Storage): void {
    if (out.size === 0) return;
    const po = this.w(out);
    if (this.parallel !== null && this.parallel.tanhGrad(out.dtype, po, p(g), p(y), out.size)) return;
    this.k[out.dtype].tanhGrad(po, p(g), p(y), out.size);
  }
  fixedPointStep(f: Storage, x: Storage, tau: number, out: Storage, norms: Storage, B: number, D: number): void {
    if (B === 0) return;
    const po = this.w(out), pn = this.w(norms);
    if (this.parallel !== null && this.parallel.fixedPointStep(out.dtype, po, pn, p(f), p(x), tau, B, D)) return;
    this.k[out.dtype].fpStep(po, pn, p(f), p(x), tau, B, D);
  }
  andersonRecord(x: Storage, f: Storage, X: Storage, F: Storage, G: Storage, gram: Storage, norms: Storage,
    slot: number, B: number, m: number, D: number): void {
    if (B === 0) return;
    const pX = this.w(X), pF = this.w(F), pG = this.w(G), pg = this.w(gram), pn = this.w(norms);
    if (this.parallel !== null && this.parallel.andersonRecord(f.dtype, pX, pF, pG, pg, pn, p(x), p(f), slot, B, m, D)) return;
    this.k[f.dtype].andersonRecord(pX, pF, pG, pg, pn, p(x), p(f), slot, B, m, D);
  }
  andersonMix(gram: Storage, F: Storage, X: Storage, out: Storage, n: number, lam: number, tau: number,
    B: number, m: number, D: number): number {
    if (B === 0) return 0;
    const po = this.w(out), pg = p(gram), pf = p(F), px = p(X);
    const flags = this.flagsFor(B);
    if (this.parallel !== null && this.parallel.andersonMix(out.dtype, po, flags, pg, pf, px, n, lam, tau, B, m, D)) {
      const f = this.heap.int32();
      let bad = 0;
      for (let b = 0; b < B; b++) if (f[(flags >>> 2) + b] === 0) bad++;
      return bad;
    }
    return this.k[out.dtype].andersonMix(po, flags, pg, pf, px, n, lam, tau, B, m, D);
  }

  /** A grow-only block of B int32 flags for andersonMix (no allocation per solver iteration). */
  private flagsFor(B: number): number {
    if (B > this.flagsCount) {
      if (this.flags !== 0) this.heap.freeRaw(this.flags);
      this.flags = 0;
      this.flagsCount = 0;
      this.flags = this.heap.allocRaw(B * 4, 'andersonMix', false);
      this.flagsCount = B;
    }
    return this.flags;
  }
  private flags = 0;
  private flagsCount = 0;
  broydenAdvance(f: Storage, xNew: Storage, x: Storage, g: Storage, gNew: Storage, dx: Storage, dg: Storage,
    norms: Storage, B: number, D: number): void {
    if (B === 0) return;
    const pgn = this.w(gNew), pdx = this.w(dx), pdg = this.w(dg), pn = this.w(norms);
    if (this.parallel !== null && this.parallel.broydenAdvance(f.dtype, pgn, pdx, pdg, pn, p(f), p(xNew), p(x), p(g), B, D)) return;
    this.k[f.dtype].broydenAdvance(pgn, pdx, pdg, pn, p(f), p(xNew), p(x), p(g), B, D);
  }
  broydenStep(dx: Storage, dg: Storage, g: Storage, d: Storage, U: Storage, V: Storage, r: number, slot: number,
    direction: boolean, B: number, mem: number, D: number): void {
    if (B === 0) return;
    const pU = this.w(U), pV = this.w(V), pd = this.w(d);
    if (this.parallel !== null && this.parallel.broydenStep(d.dtype, pU, pV, pd, p(dx), p(dg), p(g), r, slot, direction, B, mem, D)) return;
    this.k[d.dtype].broydenStep(pU, pV, pd, p(dx), p(dg), p(g), r, slot, direction ? 1 : 0, B, mem, D);
  }

  // ---- convolution ----
  im2col(x: Storage, cols: Storage, sp: ConvSpec): void {
    this.k[x.dtype].im2col(this.w(cols), p(x), sp.n, sp.c, sp.h, sp.w, sp.kh, sp.kw, sp.sh, sp.sw, sp.ph, sp.pw,
      sp.dh, sp.dw, sp.oh, sp.ow);
  }
  col2im(cols: Storage, out: Storage, sp: ConvSpec): void {
    this.k[out.dtype].col2im(this.w(out), p(cols), sp.n, sp.c, sp.h, sp.w, sp.kh, sp.kw, sp.sh, sp.sw, sp.ph, sp.pw,
      sp.dh, sp.dw, sp.oh, sp.ow);
  }
}
