/**
 * The multi-threaded kernels of a wasm backend that runs on shared memory: which calls are
 * worth splitting across the thread pool and how. Today that is the GEMM (by far the largest
 * share of a DEQ step at large sizes): assembly/gemm_part.ts splits it into row, column or
 * batch blocks that give bit-identical results whatever the number of parts.
 *
 * Small products stay on the calling thread: handing a job to the workers and waiting for
 * them costs some microseconds, so a product is split only from `MIN_PARALLEL_FLOPS`
 * (measured with `npm run bench -- --only gemm --threads 2`). The pool starts lazily: the
 * first product worth splitting starts it in the background and runs on one thread.
 */
import type { MatmulSpec } from './backend.js';
import type { DType } from '../dtype.js';
import { ThreadPool, type PoolTarget } from '../threads/pool.js';

/** Default smallest product (2 m n k flops, whole batch) that is split across threads. */
export const MIN_PARALLEL_FLOPS = 2 ** 21;

/** The kernels the pool runs, by index. */
const KERNELS = ['gemm_part_f32', 'gemm_part_f64'] as const;

type PartsFn = (batch: number, m: number, n: number, k: number, transA: number, strideA: number, strideB: number, wanted: number) => number;
type ScratchFn = (batch: number, m: number, n: number, k: number, transA: number, strideA: number, strideB: number) => number;

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
  /** Why the last background start failed (then no further automatic attempts), or null. */
  startError: string | null = null;
  private readonly parts: Record<DType, PartsFn>;
  private readonly scratch: Record<DType, ScratchFn>;

  /**
   * @param target the module instance (shared memory) the pool works for
   * @param wanted the thread count to use now (the setThreads setting)
   */
  constructor(target: PoolTarget, private readonly wanted: () => number) {
    this.pool = new ThreadPool(target, KERNELS);
    const ex = target.exports as Record<string, unknown>;
    this.parts = { float32: ex.gemm_parts_f32 as PartsFn, float64: ex.gemm_parts_f64 as PartsFn };
    this.scratch = { float32: ex.gemm_part_scratch_f32 as ScratchFn, float64: ex.gemm_part_scratch_f64 as ScratchFn };
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
    if (2 * s.batch * s.m * s.n * s.k < this.minFlops || this.wanted() <= 1) return false;
    const threads = this.threads();
    if (threads <= 1) return false;
    const tA = s.transA ? 1 : 0;
    const parts = this.parts[dtype](s.batch, s.m, s.n, s.k, tA, s.strideA, s.strideB, threads);
    if (parts <= 1) return false;
    const bytes = this.scratch[dtype](s.batch, s.m, s.n, s.k, tA, s.strideA, s.strideB);
    this.pool.run(dtype === 'float32' ? 0 : 1, parts, bytes,
      [a, b, c, s.batch, s.m, s.n, s.k, tA, s.transB ? 1 : 0, s.strideA, s.strideB]);
    return true;
  }
}
