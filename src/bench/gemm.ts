/**
 * Section `gemm`: single-thread GFLOP/s (2 m n k flops per product) for every subject: square
 * float32 products at n = 64..1024, float64 at a few sizes, and the skinny shapes DEQ layers
 * produce (a batch of rows against a weight matrix used transposed, matrix-vector), plus each
 * tsdeq variant's speed-up over tfjs-wasm (every call packing its operands), the DEQ shapes again
 * with tsdeq keeping the weight packed between calls as a solver does; then tsdeq's
 * multi-threaded GEMM, 1 vs 2+ threads (./gemm_threads.ts).
 */
import type { DType } from '../dtype.js';
import type { BenchCell, BenchTable } from './registry.js';
import { registerSection } from './registry.js';
import { loadSubjects } from './load_subjects.js';
import { square, type GemmShape, type Subject } from './subjects.js';
import { DEFAULT_TIMING, timeCalls } from './timing.js';
import { gemmThreadsTable } from './gemm_threads.js';

/** GFLOP/s of every subject on one shape (null for a subject lacking the dtype), timed interleaved. */
function gflops(subjects: Subject[], shape: GemmShape, dtype: DType, keepPacked = false): (number | null)[] {
  const prepared = subjects.map((s) => s.gemm(shape, dtype, { keepPacked }));
  const flops = 2 * shape.m * shape.n * shape.k;
  try {
    const present = prepared.filter((p) => p !== null);
    const ms = timeCalls(present.map((p) => p.run), { ...DEFAULT_TIMING, minMs: flops >= 2 ** 28 ? 150 : 60 });
    return prepared.map((p) => (p === null ? null : flops / (ms[present.indexOf(p)] * 1e6)));
  } finally {
    for (const p of prepared) p?.dispose();
  }
}

function shapeLabel(s: GemmShape): string {
  return `${s.m}x${s.k}${s.transA ? '^T' : ''} @ ${s.k}x${s.n}${s.transB ? ' (B^T)' : ''}`;
}

async function gemmTable(title: string, dtype: DType, shapes: { label: string; shape: GemmShape }[],
  log: (m: string) => void, keepPacked = false): Promise<BenchTable> {
  const { subjects, reference, notes } = await loadSubjects();
  const ratioOf = (s: Subject) => `${s.label} / ${reference?.label ?? 'ref'}`;
  const others = subjects.filter((s) => s !== reference);
  const rows: Record<string, BenchCell>[] = [];
  for (const { label, shape } of shapes) {
    const row: Record<string, BenchCell> = { shape: label };
    log(`gemm ${dtype} ${label}`);
    gflops(subjects, shape, dtype, keepPacked).forEach((v, i) => { row[subjects[i].label] = v; });
    const ref = reference ? row[reference.label] : null;
    for (const s of others) {
      const v = row[s.label];
      row[ratioOf(s)] = typeof v === 'number' && typeof ref === 'number' ? `${(v / ref).toFixed(2)}x` : null;
    }
    rows.push(row);
  }
  const withRatios = dtype === 'float32' && reference !== null;
  return {
    title: `${title} (GFLOP/s, one thread${withRatios ? '; ratios are speed-ups' : ''})`,
    columns: ['shape', ...subjects.map((s) => s.label), ...(withRatios ? others.map(ratioOf) : [])],
    rows,
    notes: [
      ...notes,
      ...(dtype === 'float32' ? [] : ['tfjs has no float64 tensors.']),
      keepPacked
        ? 'tsdeq keeps the weight (B) packed between calls, as in a solver (src/backend/wasm_pack_cache.ts); tfjs packs it every call.'
        : 'Every call packs its operands (tsdeq\'s kept-packed weights are off here; see the next table).',
    ],
  };
}

const squares = (ns: number[]) => ns.map((n) => ({ label: `n = ${n}`, shape: square(n) }));

/**
 * DEQ-layer shapes: a batch of m rows of width d against a d x d weight, plain (x W) and with
 * the weight used transposed (x W^T, as `linear` does), and the batch-1 matrix-vector case.
 */
const DEQ_SHAPES: GemmShape[] = [
  { m: 32, n: 256, k: 256, transA: false, transB: false },
  { m: 32, n: 256, k: 256, transA: false, transB: true },
  { m: 64, n: 1024, k: 1024, transA: false, transB: false },
  { m: 64, n: 1024, k: 1024, transA: false, transB: true },
  { m: 1, n: 1024, k: 1024, transA: false, transB: true },
];

registerSection({
  name: 'gemm',
  description: 'matrix product GFLOP/s: tsdeq wasm (baseline SIMD, relaxed SIMD) vs tfjs-backend-wasm, one thread; tsdeq 1 vs 2+ threads',
  async run(ctx) {
    const f32 = ctx.quick ? [64, 256] : [64, 128, 256, 512, 1024];
    const f64 = ctx.quick ? [128] : [128, 256, 512];
    const deq = (ctx.quick ? DEQ_SHAPES.slice(0, 2) : DEQ_SHAPES).map((shape) => ({ label: shapeLabel(shape), shape }));
    return [
      await gemmTable('GEMM float32, n x n @ n x n', 'float32', squares(f32), ctx.log),
      await gemmTable('GEMM float64, n x n @ n x n', 'float64', squares(f64), ctx.log),
      await gemmTable('GEMM float32, DEQ layer shapes (m x k @ k x n)', 'float32', deq, ctx.log),
      await gemmTable('GEMM float32, DEQ layer shapes, the weight kept packed', 'float32', deq, ctx.log, true),
      await gemmThreadsTable(ctx.quick, ctx.log),
    ];
  },
});
