/**
 * The `webgpu` backend: every primitive of the contract (src/backend/backend.ts) as WGSL
 * kernels in float32, recorded into the device context's command batches (./context.ts).
 * Calls return as soon as the work is recorded; reads are asynchronous (`readAsync`), and
 * `readSync` throws. float64 does not exist here (WGSL has no f64): allocating it throws and
 * points to the `wasm` backend.
 *
 * Storages own one pooled GPU buffer each. A kernel whose output is also one of its inputs (the
 * contract lets `axpby`, `addTanh`, ... alias) writes to a temporary that is copied back, since
 * WebGPU forbids a buffer bound writable twice in one dispatch.
 */
import type { Backend, ConvSpec, LoopCapture, MatmulSpec, ReduceOp, Storage, UnaryOp, BinaryOp, TrackSpec } from '../backend.js';
import { trackCopyKernel, trackRecordKernel, trackStopKernel } from './kernels_track.js';
import { andersonAlphaKernel } from './kernels_anderson.js';
import { broydenCombineKernel, broydenDenKernel, broydenDotsKernel, broydenUpdateKernel } from './kernels_broyden.js';
import { armijoStageKernel, gmresColumnKernel, gmresStartKernel } from './kernels_gmres.js';
import type { DType, TypedArray } from '../../dtype.js';
import { GpuContext } from './context.js';
import { storageBytes } from './buffers.js';
import type { KernelDef } from './pipelines.js';
import { collapse, fbits, grid, ibits, linearGrid } from './wgsl.js';
import * as E from './kernels_elementwise.js';
import * as R from './kernels_reduce.js';
import { TILE, matmulKernel } from './kernels_matmul.js';
import * as L from './kernels_linalg.js';

export interface GpuStorage extends Storage {
  buffer: GPUBuffer | null;
  readonly owner: WebGpuBackend;
}

/** What the adapter and device behind a webgpu backend are. */
export interface WebGpuAdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** True for a software (CPU) adapter such as SwiftShader or lavapipe. */
  isFallbackAdapter: boolean;
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  readonly asyncOnly = true;
  /** WGSL has no 64-bit floats: float32 only (clipGradNorm and others accumulate in float32 here). */
  readonly dtypes: readonly DType[] = ['float32'];
  readonly ctx: GpuContext;
  private bytes = 0;
  private readonly maxBinding: number;

  constructor(readonly device: GPUDevice, readonly adapterInfo: WebGpuAdapterInfo) {
    this.ctx = new GpuContext(device);
    this.maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  }

  // ---- memory ----
  alloc(size: number, dtype: DType): Storage {
    return this.make(size, dtype, true);
  }
  allocUninit(size: number, dtype: DType): Storage {
    return this.make(size, dtype, false);
  }
  private make(size: number, dtype: DType, zero: boolean): GpuStorage {
    if (dtype !== 'float32') {
      throw new Error(`webgpu backend: ${dtype} tensors are not supported (WGSL has no 64-bit floats); keep float64 on the 'wasm' backend (e.g. t.to('wasm')) or use float32 on webgpu`);
    }
    this.ctx.check('webgpu backend');
    const bytes = storageBytes(size);
    if (bytes > this.maxBinding) {
      throw new Error(`webgpu backend: a tensor of ${size} float32 elements (${bytes} bytes) exceeds this device's storage binding limit of ${this.maxBinding} bytes (maxStorageBufferBindingSize); split it, or keep it on the 'wasm' backend`);
    }
    const buffer = this.ctx.acquire(bytes, zero);
    this.bytes += size * 4;
    return { dtype, size, refs: 1, buffer, owner: this };
  }
  free(s: Storage): void {
    const g = s as GpuStorage;
    if (g.buffer === null) return;
    this.ctx.release(g.buffer);
    g.buffer = null;
    this.bytes -= s.size * 4;
  }
  write(s: Storage, src: ArrayLike<number>, offset = 0): void {
    const buf = this.buf(s, 'write');
    const data = src instanceof Float32Array ? src : Float32Array.from(src);
    if (offset + data.length > s.size) {
      throw new Error(`webgpu backend: write of ${data.length} values at offset ${offset} overruns a storage of ${s.size}`);
    }
    this.ctx.upload(buf, offset * 4, data);
  }
  readSync(_s: Storage): TypedArray {
    throw new Error("dataSync: tensors on the 'webgpu' backend are read asynchronously; use `await t.data()` (or move them with `await t.toAsync('wasm')`)");
  }
  async readAsync(s: Storage): Promise<TypedArray> {
    const buf = this.buf(s, 'data');
    return new Float32Array(await this.ctx.read(buf, 0, s.size * 4, 'data'));
  }
  liveBytes(): number {
    return this.bytes;
  }

  /** Record once, replay: see ./capture.ts. */
  captureLoop(period: number): LoopCapture {
    this.ctx.check('captureLoop');
    return this.ctx.captureLoop(period);
  }

  /** Waits until every recorded command has run on the GPU. */
  sync(): Promise<void> {
    return this.ctx.sync();
  }

  private buf(s: Storage, where: string): GPUBuffer {
    const g = s as GpuStorage;
    if (g.owner !== this) {
      if (g.owner instanceof WebGpuBackend) throw g.owner.ctx.isLost ? g.owner.ctx.lostError(where) : new Error(`${where}: the storage belongs to another WebGPU device`);
      throw new Error(`${where}: expected a storage of the webgpu backend`);
    }
    if (g.buffer === null) throw new Error(`${where}: the storage was already freed`);
    this.ctx.check(where);
    return g.buffer;
  }

  /**
   * Records one dispatch with `ins` then `outs` bound at 1..; an output that is also bound
   * elsewhere is replaced by a temporary (seeded with its contents) and copied back after.
   */
  private run(k: KernelDef, ins: readonly Storage[], outs: readonly Storage[], params: readonly number[],
    groups: [number, number, number]): void {
    const inBufs = ins.map((s) => this.buf(s, k.key));
    const outBufs = outs.map((s) => this.buf(s, k.key));
    const temps: [GPUBuffer, GPUBuffer][] = [];
    outBufs.forEach((o, i) => {
      if (inBufs.includes(o) || outBufs.indexOf(o) !== i) {
        const t = this.ctx.acquire(o.size, false);
        this.ctx.copy(o, 0, t, 0, o.size);
        temps.push([t, o]);
        outBufs[i] = t;
      }
    });
    this.ctx.dispatch(k, [...inBufs, ...outBufs], params, groups);
    for (const [t, o] of temps) {
      this.ctx.copy(t, 0, o, 0, o.size);
      this.ctx.release(t);
    }
  }

  /** A temporary storage freed (after submission) by the caller. */
  private temp(size: number): GpuStorage {
    return this.make(size, 'float32', false);
  }

  // ---- elementwise ----
  fill(out: Storage, value: number): void {
    this.run(E.fillKernel, [], [out], [out.size, fbits(value)], linearGrid(out.size));
  }
  unary(op: UnaryOp, x: Storage, out: Storage): void {
    if (!E.isUnaryOp(op)) throw new Error(`webgpu backend: unknown unary op '${op as string}'`);
    this.run(E.unaryKernel(op), [x], [out], [out.size], linearGrid(out.size));
  }
  binary(op: BinaryOp, a: Storage, b: Storage, out: Storage, shape: readonly number[],
    aStrides: readonly number[], bStrides: readonly number[]): void {
    if (!E.isBinaryOp(op)) throw new Error(`webgpu backend: unknown binary op '${op as string}'`);
    const c = collapse(shape, [aStrides, bStrides]);
    const r = c.shape.length;
    this.run(E.binaryKernel(op, r), [a, b], [out], [out.size, ...c.shape, ...c.strides[0].map(ibits), ...c.strides[1].map(ibits)],
      linearGrid(out.size));
  }
  where(cond: Storage, a: Storage, b: Storage, out: Storage, shape: readonly number[],
    cStrides: readonly number[], aStrides: readonly number[], bStrides: readonly number[]): void {
    const c = collapse(shape, [cStrides, aStrides, bStrides]);
    const words = [out.size, ...c.shape, ...c.strides.flat().map(ibits)];
    this.run(E.whereKernel(c.shape.length), [cond, a, b], [out], words, linearGrid(out.size));
  }
  axpby(alpha: number, x: Storage, beta: number, y: Storage, out: Storage): void {
    this.run(E.axpbyKernel, [x, y], [out], [out.size, fbits(alpha), fbits(beta)], linearGrid(out.size));
  }
  cast(x: Storage, out: Storage): void {
    const src = this.buf(x, 'cast'), dst = this.buf(out, 'cast');
    if (src !== dst) this.ctx.copy(src, 0, dst, 0, out.size * 4);
  }

  // ---- layout ----
  copy(x: Storage, xOffset: number, xStrides: readonly number[], out: Storage, outOffset: number,
    outStrides: readonly number[], shape: readonly number[]): void {
    const c = collapse(shape, [xStrides, outStrides]);
    let n = 1;
    for (const d of shape) n *= d;
    if (n === 0) return;
    const src = this.buf(x, 'copy'), dst = this.buf(out, 'copy');
    if (src !== dst && (c.shape.length === 0 || (c.shape.length === 1 && c.strides[0][0] === 1 && c.strides[1][0] === 1))) {
      this.ctx.copy(src, xOffset * 4, dst, outOffset * 4, n * 4);
      return;
    }
    const r = c.shape.length;
    this.run(E.copyKernel(r), [x], [out], [n, ibits(xOffset), ibits(outOffset), ...c.shape, ...c.strides[0].map(ibits), ...c.strides[1].map(ibits)],
      linearGrid(n));
  }

  // ---- reductions ----
  reduce(op: ReduceOp, x: Storage, out: Storage, outer: number, n: number, inner: number): void {
    if (n === 0) {
      this.fill(out, op === 'sum' ? 0 : NaN);
      return;
    }
    if (inner === 1 && n >= R.ROW_WG) {
      this.run(R.reduceRowsKernel(op), [x], [out], [outer, n], grid(outer));
    } else {
      this.run(R.reduceColsKernel(op), [x], [out], [outer * inner, n, inner], linearGrid(outer * inner));
    }
  }

  // ---- linear algebra ----
  /** GEMM with general strides and a diagonal added (see kernels_matmul.ts). */
  private gemm(a: Storage, b: Storage, out: Storage, batch: number, m: number, n: number, k: number,
    aOff: number, aRS: number, aCS: number, aBS: number, bOff: number, bRS: number, bCS: number, bBS: number,
    oOff: number, diag: number): void {
    const gx = Math.ceil(n / TILE), gy = Math.ceil(m / TILE);
    const maxDim = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (gx > maxDim || gy > maxDim) {
      throw new Error(`webgpu backend: a ${m} x ${n} product needs ${gy} x ${gx} tiles, over this device's ${maxDim} workgroups per dimension`);
    }
    for (let b0 = 0; b0 < batch; b0 += maxDim) {
      const nb = Math.min(maxDim, batch - b0);
      this.run(matmulKernel, [a, b], [out], [m, n, k, aOff, aRS, aCS, aBS, bOff, bRS, bCS, bBS, oOff, fbits(diag), b0], [gx, gy, nb]);
    }
  }
  matmul(a: Storage, b: Storage, out: Storage, spec: MatmulSpec): void {
    const { batch, m, n, k, transA, transB, strideA, strideB } = spec;
    this.gemm(a, b, out, batch, m, n, k,
      0, transA ? 1 : k, transA ? m : 1, strideA,
      0, transB ? 1 : n, transB ? k : 1, strideB, 0, 0);
  }
  batchedDot(x: Storage, y: Storage, out: Storage, B: number, D: number): void {
    this.run(R.dotRows, [x, y], [out], [B, D, 0], grid(B));
  }
  batchedNorm(x: Storage, out: Storage, B: number, D: number): void {
    this.run(R.normRows, [x], [out], [B, D, 0], grid(B));
  }
  gram(g: Storage, out: Storage, B: number, m: number, D: number, lam: number): void {
    this.gemm(g, g, out, B, m, m, D, 0, D, 1, m * D, 0, 1, D, m * D, 0, lam);
  }
  /** Resolves once the flags are read back (the solve itself is recorded like any kernel). */
  solve(a: Storage, rhs: Storage, out: Storage, B: number, n: number): Promise<boolean[]> {
    const M = this.temp(B * n * n), ok = this.temp(B);
    try {
      this.copy(a, 0, [1], M, 0, [1], [B * n * n]);
      this.copy(rhs, 0, [1], out, 0, [1], [B * n]);
      this.run(L.solveKernel, [], [M, out, ok], [B, n], linearGrid(B));
      const flags = this.readAsync(ok);
      return flags.then((f) => Array.from(f, (v) => v === 1));
    } finally {
      this.free(M);
      this.free(ok);
    }
  }
  lowRankMatvec(u: Storage, v: Storage, x: Storage, out: Storage, B: number, r: number,
    rmax: number, D: number, s: number): void {
    const c = this.temp(Math.max(1, B * r));
    try {
      if (r > 0) this.run(L.lowRankDotsKernel, [v, x], [c], [B * r, r, rmax, D], grid(B * r));
      this.run(L.lowRankCombineKernel, [u, c, x], [out], [B * D, D, r, rmax, fbits(s)], linearGrid(B * D));
    } finally {
      this.free(c);
    }
  }

  // ---- solver bookkeeping ----
  trackStep(norms: Storage, state: Storage, trace: Storage, candidate: Storage, best: Storage, p: TrackSpec): void {
    const { B, D, width, col } = p;
    if (col < 1 || col >= width) throw new Error(`trackStep: column ${col} outside the trace of width ${width} (internal error)`);
    this.run(trackRecordKernel, [norms], [state, trace], [B, width, col, fbits(p.step), fbits(p.eps), p.stopMode,
      p.returnFinal ? 1 : 0, fbits(p.divergence)], linearGrid(B));
    if (B * D > 0) this.run(trackCopyKernel, [state, candidate], [best], [B * D, D, B], linearGrid(B * D));
    this.run(trackStopKernel, [], [state, trace], [B, width, col, fbits(p.step), fbits(p.tol), p.stopMode,
      p.returnFinal ? 1 : 0, p.stallSteps, fbits(p.stallRatio), fbits(p.stallTol)], [1, 1, 1]);
  }

  gmresStart(beta: Storage, fNorm: Storage, xNorm: Storage, lsq: Storage, scale: Storage, h: Storage, B: number, m: number): void {
    if (B > 0) this.run(gmresStartKernel, [beta, fNorm, xNorm], [lsq, scale, h], [B, m], linearGrid(B));
  }
  gmresColumn(h: Storage, avNorm: Storage, wNorm: Storage, lsq: Storage, scale: Storage, y: Storage, s: Storage, abs: Storage,
    j: number, B: number, m: number, breakdown: number): void {
    if (B > 0) this.run(gmresColumnKernel, [h, avNorm, wNorm], [lsq, scale, y, s, abs], [B, m, j, fbits(breakdown)], linearGrid(B));
  }
  armijoStage(norm: Storage, state: Storage, trial: Storage, take: Storage, stage: number): void {
    this.run(armijoStageKernel, [norm], [state, trial, take], [1, ibits(stage)], [1, 1, 1]);
  }

  // ---- convolution ----
  private convWords(total: number, sp: ConvSpec): number[] {
    return [total, sp.n, sp.c, sp.h, sp.w, sp.kh, sp.kw, sp.sh, sp.sw, sp.ph, sp.pw, sp.dh, sp.dw, sp.oh, sp.ow];
  }
  im2col(x: Storage, cols: Storage, sp: ConvSpec): void {
    const total = sp.n * sp.c * sp.kh * sp.kw * sp.oh * sp.ow;
    this.run(L.im2colKernel, [x], [cols], this.convWords(total, sp), linearGrid(total));
  }
  col2im(cols: Storage, out: Storage, sp: ConvSpec): void {
    const total = sp.n * sp.c * sp.h * sp.w;
    this.run(L.col2imKernel, [cols], [out], this.convWords(total, sp), linearGrid(total));
  }

  // ---- fused ----
  addTanh(x: Storage, u: Storage, out: Storage, rows: number, cols: number, uRowStride: number): void {
    this.run(E.addTanhKernel, [x, u], [out], [rows * cols, cols, uRowStride], linearGrid(rows * cols));
  }
  tanhGrad(g: Storage, y: Storage, out: Storage): void {
    this.run(E.tanhGradKernel, [g, y], [out], [out.size], linearGrid(out.size));
  }
  fixedPointStep(f: Storage, x: Storage, tau: number, out: Storage, norms: Storage, B: number, D: number): void {
    this.axpby(tau, f, 1 - tau, x, out);
    this.run(R.diffNormRows, [out, x], [norms], [B, D, 0], grid(B));
    this.run(R.normRows, [out], [norms], [B, D, B], grid(B));
  }
  andersonRecord(x: Storage, f: Storage, X: Storage, F: Storage, G: Storage, gram: Storage, norms: Storage,
    slot: number, B: number, m: number, D: number): void {
    const g = this.temp(B * D), row = this.temp(B * m);
    try {
      this.copy(x, 0, [D, 1], X, slot * D, [m * D, 1], [B, D]);
      this.copy(f, 0, [D, 1], F, slot * D, [m * D, 1], [B, D]);
      this.axpby(1, f, -1, x, g);
      this.copy(g, 0, [D, 1], G, slot * D, [m * D, 1], [B, D]);
      // row[b, j] = g[b] . G[b, j]
      this.gemm(g, G, row, B, 1, m, D, 0, D, 1, D, 0, 1, D, m * D, 0, 0);
      this.copy(row, 0, [m, 1], gram, slot * m, [m * m, 1], [B, m]);
      this.copy(row, 0, [m, 1], gram, slot, [m * m, m], [B, m]);
      this.run(R.normRows, [g], [norms], [B, D, 0], grid(B));
      this.run(R.normRows, [f], [norms], [B, D, B], grid(B));
    } finally {
      this.free(g);
      this.free(row);
    }
  }
  /** Resolves singular samples on the device (see Backend.andersonMix) and returns 0: nothing is read. */
  andersonMix(gram: Storage, F: Storage, X: Storage, out: Storage, n: number, lam: number, tau: number,
    B: number, m: number, D: number, newest: number): number {
    const w = n + 1;
    const M = this.temp(B * w * w), xs = this.temp(B * w), alpha = this.temp(B * m);
    const mixX = tau !== 1 ? this.temp(B * D) : null;
    try {
      this.run(andersonAlphaKernel, [gram], [M, xs, alpha], [B, n, m, fbits(lam), newest], linearGrid(B));
      // out[b] = alpha[b]^T F[b] (1 x m times m x D per sample), then the damping with X.
      this.gemm(alpha, F, out, B, 1, D, m, 0, m, 1, m, 0, D, 1, m * D, 0, 0);
      if (mixX) {
        this.gemm(alpha, X, mixX, B, 1, D, m, 0, m, 1, m, 0, D, 1, m * D, 0, 0);
        this.axpby(tau, out, 1 - tau, mixX, out);
      }
    } finally {
      this.free(M);
      this.free(xs);
      this.free(alpha);
      if (mixX) this.free(mixX);
    }
    return 0;
  }
  /** Four dispatches (./kernels_broyden.ts) for the composition's nineteen. */
  broydenStep(dx: Storage, dg: Storage, g: Storage, d: Storage, U: Storage, V: Storage, r: number, slot: number,
    direction: boolean, B: number, mem: number, D: number): void {
    if (B * D === 0) return;
    const c1 = this.temp(Math.max(1, B * r)), c2 = this.temp(Math.max(1, B * r));
    const vT = this.temp(B * D), p = this.temp(B * D), den = this.temp(2 * B);
    try {
      if (r > 0) this.run(broydenDotsKernel, [U, V, dx, g], [c1, c2], [B * r, r, mem, D], grid(B * r));
      this.run(broydenCombineKernel, [U, V, c1, c2, dx, g], [vT, p], [B * D, D, r, mem], linearGrid(B * D));
      this.run(broydenDenKernel, [vT, dg, g], [den], [B, D], grid(B));
      this.run(broydenUpdateKernel, [dx, p, vT, den], [d, U, V], [B * D, D, mem, slot, direction ? 1 : 0, B], linearGrid(B * D));
    } finally {
      for (const t of [c1, c2, vT, p, den]) this.free(t);
    }
  }
  broydenAdvance(f: Storage, xNew: Storage, x: Storage, g: Storage, gNew: Storage, dx: Storage, dg: Storage,
    norms: Storage, B: number, D: number): void {
    this.axpby(1, f, -1, xNew, gNew);
    this.axpby(1, xNew, -1, x, dx);
    this.axpby(1, gNew, -1, g, dg);
    this.run(R.normRows, [gNew], [norms], [B, D, 0], grid(B));
    this.run(R.sumNormRows, [gNew, xNew], [norms], [B, D, B], grid(B));
  }
}
