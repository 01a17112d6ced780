/**
 * The multi-threaded GEMM, for section `gemm`: float32 GFLOP/s of the shared-memory build with
 * 1 thread and with T threads (the bench's `--threads`, at least 2), on one module instance,
 * timed interleaved, and the speed-up T threads / 1 thread.
 */
import { createSharedWasmBackend } from '../backend/wasm_shared.js';
import { detectFeatures, wasmBytes } from '../backend/wasm_loader.js';
import { threadSupport } from '../threads/platform.js';
import { getThreads } from '../threads/settings.js';
import type { BenchCell, BenchTable } from './registry.js';
import { square, type GemmShape } from './subjects.js';
import { backendSubject } from './tsdeq_subject.js';
import { DEFAULT_TIMING, timeCalls } from './timing.js';

const label = (s: GemmShape): string => `${s.m}x${s.k} @ ${s.k}x${s.n}${s.transB ? ' (B^T)' : ''}`;

/**
 * The table (one note instead of rows when this platform cannot run threads).
 * @example const t = await gemmThreadsTable(false, console.error);
 */
export async function gemmThreadsTable(quick: boolean, log: (m: string) => void): Promise<BenchTable> {
  const threads = Math.max(2, getThreads());
  const title = `GEMM float32, 1 vs ${threads} threads (GFLOP/s; speed-up = ${threads} threads / 1 thread)`;
  const columns = ['shape', '1 thread', `${threads} threads`, 'speed-up', 'split calls'];
  const support = threadSupport();
  if (!support.ok) return { title, columns, rows: [], notes: [`not measured: ${support.reason}`] };
  const variant = detectFeatures().relaxed ? 'relaxed' : 'simd';
  // The pool keeps its threads throughout (a resize restarts the workers, and a restarting pool
  // runs on one thread meanwhile); the one-thread column is the same instance with splitting off.
  const backend = await createSharedWasmBackend(await wasmBytes(variant, true), () => threads, 'bench');
  const par = backend.parallel!;
  const pool = par.pool;
  const minFlops = par.minFlops;
  await pool.resize(threads);
  const subject = backendSubject('tsdeq threads', backend);
  const shapes: GemmShape[] = [
    ...(quick ? [256, 512] : [128, 256, 512, 1024]).map(square),
    { m: 64, n: 256, k: 256, transA: false, transB: true },
    ...(quick ? [] : [{ m: 64, n: 1024, k: 1024, transA: false, transB: true }, { m: 64, n: 1024, k: 1024, transA: false, transB: false }]),
  ];
  const rows: Record<string, BenchCell>[] = [];
  try {
    for (const shape of shapes) {
      log(`gemm threads ${label(shape)}`);
      const p = subject.gemm(shape, 'float32')!;
      const jobs = pool.jobs;
      let calls = 0;
      try {
        const ms = timeCalls([() => { par.minFlops = Infinity; p.run(); }, () => { par.minFlops = minFlops; calls++; p.run(); }], { ...DEFAULT_TIMING, minMs: 100 });
        const flops = 2 * shape.m * shape.n * shape.k;
        const g = ms.map((t) => flops / (t * 1e6));
        rows.push({
          shape: label(shape), '1 thread': g[0], [`${threads} threads`]: g[1], 'speed-up': `${(g[1] / g[0]).toFixed(2)}x`,
          'split calls': `${Math.round((100 * (pool.jobs - jobs)) / calls)}%`,
        });
      } finally {
        par.minFlops = minFlops;
        p.dispose();
      }
    }
  } finally {
    await pool.resize(1);
  }
  return {
    title,
    columns,
    rows,
    notes: [
      `tsdeq ${variant}-threads build (shared memory), both columns on the same instance; ${support.cores} cores reported.`,
      'Products from 4 MFLOP (MIN_PARALLEL_FLOPS) are split into row or column blocks (bit-identical to one thread); smaller ones run on one thread.',
      'split calls: share of the multi-thread calls that ran split; the rest ran on one thread because the pool had backed off (the caller kept waiting for workers: other processes held the cores).',
    ],
  };
}
