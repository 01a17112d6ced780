/**
 * The multi-threaded kernels of a wasm backend that runs on shared memory: which calls are
 * worth splitting across the thread pool and how. The GEMM (by far the largest share of a DEQ
 * step at large sizes): assembly/gemm_part.ts splits it into row, column or batch blocks; and
 * the fused DEQ-cell kernels addTanh / tanhGrad (assembly/fused_part.ts: blocks of rows or
 * elements), which follow each product of the cell and its VJP. Every split gives
 * bit-identical results whatever the number of parts.
 *
 * Small calls stay on the calling thread: handing a job to the workers and waiting for them
 * costs some microseconds, so a product is split only from `MIN_PARALLEL_FLOPS` and an
 * elementwise kernel from `MIN_PARALLEL_ELEMENTS` (measured: `npm run bench -- --only gemm
 * --threads 2`, and one vs two threads on the kernels alone). The product threshold is 4 MFLOP
 * (2^22): `npm run bench -- --only threads_split` (a whole DEQ training step, one thread vs two
 * by threshold, interleaved) put two threads at 1.17-1.28x one thread's time at (d, B) = (96,
 * 128) to (160, 64) when products from 2 MFLOP were split, and never above noise from 4 MFLOP
 * (BENCHMARKS.md, "Threads: where splitting pays"). The pool starts lazily: the first call worth splitting starts
 * it in the background and runs on one thread.
 */
import type { MatmulSpec } from './backend.js';
import type { DType } from '../dtype.js';
import { ThreadPool, type PoolTarget } from '../threads/pool.js';

/** Default smallest product (2 m n k flops, whole batch) that is split across threads. */
export const MIN_PARALLEL_FLOPS = 2 ** 22;

/**
 * Default smallest addTanh / tanhGrad (elements) split across threads: tanh is compute-heavy
 * and gains from 16K elements (1.6x at 64 x 256 on 2 threads), tanhGrad is three flops per
 * element and gains only from about 64K (1.5x at 64 x 1024, 2.1x at 256 x 1024).
 */
export const MIN_PARALLEL_ELEMENTS: Readonly<{ addTanh: number; tanhGrad: number; solverStep: number }> = Object.freeze({
  addTanh: 2 ** 14, tanhGrad: 2 ** 16, solverStep: 2 ** 15,
});

/** The kernels the pool runs, by index. */
const KERNELS = ['gemm_part_f32', 'gemm_part_f64', 'add_tanh_part_f32', 'add_tanh_part_f64',
  'tanh_grad_part_f32', 'tanh_grad_part_f64', 'gemm_part_packed_f32', 'gemm_part_packed_f64',
  'fp_step_part_f32', 'fp_step_part_f64', 'anderson_record_part_f32', 'anderson_record_part_f64',
  'anderson_mix_part_f32', 'anderson_mix_part_f64', 'broyden_advance_part_f32', 'broyden_advance_part_f64',
  'broyden_step_part_f32', 'broyden_step_part_f64'] as const;
const KERNEL_INDEX = (name: (typeof KERNELS)[number]): number => KERNELS.indexOf(name);
const GEMM: Record<DType, number> = { float32: KERNEL_INDEX('gemm_part_f32'), float64: KERNEL_INDEX('gemm_part_f64') };
const GEMM_PACKED: Record<DType, number> = {
  float32: KERNEL_INDEX('gemm_part_packed_f32'), float64: KERNEL_INDEX('gemm_part_packed_f64'),
};
const ADD_TANH: Record<DType, number> = { float32: KERNEL_INDEX('add_tanh_part_f32'), float64: KERNEL_INDEX('add_tanh_part_f64') };
const TANH_GRAD: Record<DType, number> = { float32: KERNEL_INDEX('tanh_grad_part_f32'), float64: KERNEL_INDEX('tanh_grad_part_f64') };
const FP_STEP: Record<DType, number> = { float32: KERNEL_INDEX('fp_step_part_f32'), float64: KERNEL_INDEX('fp_step_part_f64') };
const RECORD: Record<DType, number> = {
  float32: KERNEL_INDEX('anderson_record_part_f32'), float64: KERNEL_INDEX('anderson_record_part_f64'),
};
const MIX: Record<DType, number> = { float32: KERNEL_INDEX('anderson_mix_part_f32'), float64: KERNEL_INDEX('anderson_mix_part_f64') };
const ADVANCE: Record<DType, number> = {
  float32: KERNEL_INDEX('broyden_advance_part_f32'), float64: KERNEL_INDEX('broyden_advance_part_f64'),
};
const STEP: Record<DType, number> = { float32: KERNEL_INDEX('broyden_step_part_f32'), float64: KERNEL_INDEX('broyden_step_part_f64') };

type PartsFn = (batch: number, m: number, n: number, k: number, transA: number, strideA: number, strideB: number, wanted: number) => number;
type ScratchFn = (batch: number, m: number, n: number, k: number, transA: number, strideA: number, strideB: number) => number;
type MixScratchFn = (n: number, D: number) => number;
type BroydenScratchFn = (r: number, D: number) => number;

/**
 * The pooled kernels of one shared-memory instance; `WasmBackend.matmul` asks `gemm` first.
 * @example
 * const par = new ParallelKernels({ memory, exports, workerBytes }, () => 2);
 * if (!par.gemm('float32', a, b, c, spec)) runOnOneThread();
 */
export class ParallelKernels {
  readonly pool: ThreadPool;
  /** Products with fewer flops than this run on one thread (tests lower it to split tiny ones). */
  minFlops = MIN_PARALLEL_FLOPS;
  /** Elementwise kernels on fewer elements than this run on one thread (tests lower it too). */
  minElements = { ...MIN_PARALLEL_ELEMENTS };
  /** Why the last background start failed (then no further automatic attempts), or null. */
  startError: string | null = null;
  private readonly parts: Record<DType, PartsFn>;
  private readonly scratch: Record<DType, ScratchFn>;
  private readonly mixScratch: Record<DType, MixScratchFn>;
  private readonly broydenScratch: Record<DType, BroydenScratchFn>;

  /**
   * @param target the module instance (shared memory) the pool works for
   * @param wanted the thread count to use now (the setThreads setting)
   */
  constructor(target: PoolTarget, private readonly wanted: () => number) {
    this.pool = new ThreadPool(target, KERNELS);
    const ex = target.exports as Record<string, unknown>;
    this.parts = { float32: ex.gemm_parts_f32 as PartsFn, float64: ex.gemm_parts_f64 as PartsFn };
    this.scratch = { float32: ex.gemm_part_scratch_f32 as ScratchFn, float64: ex.gemm_part_scratch_f64 as ScratchFn };
    this.mixScratch = { float32: ex.anderson_mix_scratch_f32 as MixScratchFn, float64: ex.anderson_mix_scratch_f64 as MixScratchFn };
    this.broydenScratch = {
      float32: ex.broyden_scratch_f32 as BroydenScratchFn, float64: ex.broyden_scratch_f64 as BroydenScratchFn,
    };
  }

  /** Threads a split call uses now: the wanted count once the pool runs it, else 1. */
  private threads(): number {
    const want = this.wanted();
    if (this.pool.requested !== want && this.startError === null) {
      this.pool.resize(want).catch((e: unknown) => { this.startError = (e as Error).message; });
    }
    return this.pool.usable();
  }

  /**
   * Runs the product on the pool when it is large enough and splits; false: the caller runs it
   * on one thread (nothing was written).
   */
  gemm(dtype: DType, a: number, b: number, c: number, s: MatmulSpec): boolean {
    const threads = this.gemmThreads(s);
    return threads > 1 && this.splitGemm(GEMM[dtype], dtype, s, s.strideB, threads,
      [a, b, c, s.batch, s.m, s.n, s.k, s.transA ? 1 : 0, s.transB ? 1 : 0, s.strideA, s.strideB]);
  }

  /**
   * `gemm` with B packed whole beforehand (./wasm_pack_cache.ts; one B for the batch, so
   * strideB is 0), the parts sharing the packed panels; false: run it on one thread.
   */
  gemmPacked(dtype: DType, a: number, packedB: number, c: number, s: MatmulSpec): boolean {
    const threads = this.gemmThreads(s);
    return threads > 1 && this.splitGemm(GEMM_PACKED[dtype], dtype, s, 0, threads,
      [a, packedB, c, s.batch, s.m, s.n, s.k, s.transA ? 1 : 0, s.strideA]);
  }

  /** Threads a product of this size may use now (1: keep it on the calling thread). */
  private gemmThreads(s: MatmulSpec): number {
    if (2 * s.batch * s.m * s.n * s.k < this.minFlops || this.wanted() <= 1) return 1;
    return this.threads();
  }

  /** Splits the product into parts and runs them (`args` after the scratch); false: one part. */
  private splitGemm(kernel: number, dtype: DType, s: MatmulSpec, strideB: number, threads: number, args: number[]): boolean {
    const tA = s.transA ? 1 : 0;
    const parts = this.parts[dtype](s.batch, s.m, s.n, s.k, tA, s.strideA, strideB, threads);
    if (parts <= 1) return false;
    this.pool.run(kernel, parts, this.scratch[dtype](s.batch, s.m, s.n, s.k, tA, s.strideA, strideB), args);
    return true;
  }

  /** addTanh (see Backend.addTanh) split into blocks of rows; false: run it on one thread. */
  addTanh(dtype: DType, out: number, x: number, u: number, rows: number, cols: number, uRowStride: number): boolean {
    if (rows * cols < this.minElements.addTanh || rows < 2 || this.wanted() <= 1) return false;
    const threads = this.threads();
    if (threads <= 1) return false;
    this.pool.run(ADD_TANH[dtype], Math.min(threads, rows), 0, [out, x, u, rows, cols, uRowStride]);
    return true;
  }

  /** tanhGrad (see Backend.tanhGrad) split into blocks of elements; false: run it on one thread. */
  tanhGrad(dtype: DType, out: number, g: number, y: number, n: number): boolean {
    if (n < this.minElements.tanhGrad || this.wanted() <= 1) return false;
    const threads = this.threads();
    if (threads <= 1) return false;
    this.pool.run(TANH_GRAD[dtype], threads, 0, [out, g, y, n]);
    return true;
  }

  /** Threads for a per-sample solver step on (B, D) states, or 1 to run it on the calling thread. */
  private solverThreads(B: number, D: number, minSamples: number): number {
    if (B * D < this.minElements.solverStep || B < minSamples || this.wanted() <= 1) return 1;
    return Math.min(this.threads(), B);
  }

  /** fixedPointStep (see Backend.fixedPointStep) split into blocks of samples; false: one thread. */
  fixedPointStep(dtype: DType, out: number, norms: number, f: number, x: number, tau: number, B: number, D: number): boolean {
    const threads = this.solverThreads(B, D, 2);
    if (threads <= 1) return false;
    this.pool.run(FP_STEP[dtype], threads, 0, [out, norms, f, x, tau, B, D]);
    return true;
  }

  /** andersonRecord (see Backend.andersonRecord) split into blocks of samples; false: one thread. */
  andersonRecord(dtype: DType, X: number, F: number, G: number, gram: number, norms: number, x: number, f: number,
    slot: number, B: number, m: number, D: number): boolean {
    const threads = this.solverThreads(B, D, 2);
    if (threads <= 1) return false;
    this.pool.run(RECORD[dtype], threads, 0, [X, F, G, gram, norms, x, f, slot, B, m, D]);
    return true;
  }

  /**
   * andersonMix (see Backend.andersonMix) split into blocks of samples, each part with its
   * own scratch; the per-sample flags are written to `flags`. False: run it on one thread.
   */
  andersonMix(dtype: DType, out: number, flags: number, gram: number, F: number, X: number, n: number, lam: number,
    tau: number, B: number, m: number, D: number): boolean {
    const threads = this.solverThreads(B, D, 4);
    if (threads <= 1) return false;
    this.pool.run(MIX[dtype], threads, this.mixScratch[dtype](n, D), [out, flags, gram, F, X, n, lam, tau, B, m, D]);
    return true;
  }

  /** broydenAdvance (see Backend.broydenAdvance) split into blocks of samples; false: one thread. */
  broydenAdvance(dtype: DType, gNew: number, dx: number, dg: number, norms: number, f: number, xNew: number, x: number,
    g: number, B: number, D: number): boolean {
    const threads = this.solverThreads(B, D, 2);
    if (threads <= 1) return false;
    this.pool.run(ADVANCE[dtype], threads, this.broydenScratch[dtype](1, D), [gNew, dx, dg, norms, f, xNew, x, g, B, D]);
    return true;
  }

  /**
   * broydenStep (see Backend.broydenStep) split into blocks of samples, each part with its own
   * scratch; its work grows with the rank r, so it splits from B D max(r, 2) elements of history
   * read. False: run it on one thread.
   */
  broydenStep(dtype: DType, U: number, V: number, d: number, dx: number, dg: number, g: number, r: number, slot: number,
    direction: boolean, B: number, mem: number, D: number): boolean {
    const threads = this.solverThreads(B, D * Math.max(r, 2), 2);
    if (threads <= 1) return false;
    this.pool.run(STEP[dtype], threads, this.broydenScratch[dtype](r, D),
      [U, V, d, dx, dg, g, r, slot, direction ? 1 : 0, B, mem, D]);
    return true;
  }
}
