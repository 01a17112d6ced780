/**
 * Section `gemm`: single-thread GFLOP/s of square matrix products (2 n^3 flops per product)
 * for every subject, float32 at n = 64..1024 and float64 at a few sizes, plus each tsdeq
 * variant's speed-up over tfjs-wasm.
 */
import type { DType } from '../dtype.js';
import type { BenchCell, BenchTable } from './registry.js';
import { registerSection } from './registry.js';
import { loadSubjects } from './load_subjects.js';
import type { Subject } from './subjects.js';
import { DEFAULT_TIMING, timeCall } from './timing.js';

function gflops(subject: Subject, n: number, dtype: DType): number | null {
  const prepared = subject.gemm(n, dtype);
  if (!prepared) return null;
  try {
    const ms = timeCall(prepared.run, { ...DEFAULT_TIMING, minMs: n >= 512 ? 150 : 60 });
    return (2 * n * n * n) / (ms * 1e6);
  } finally {
    prepared.dispose();
  }
}

async function gemmTable(dtype: DType, sizes: number[], log: (m: string) => void): Promise<BenchTable> {
  const { subjects, reference, notes } = await loadSubjects();
  const rows: Record<string, BenchCell>[] = [];
  for (const n of sizes) {
    const row: Record<string, BenchCell> = { n: String(n) };
    for (const s of subjects) {
      log(`gemm ${dtype} n=${n} ${s.label}`);
      row[s.label] = gflops(s, n, dtype);
    }
    const ref = reference ? row[reference.label] : null;
    for (const s of subjects) {
      if (s === reference) continue;
      const v = row[s.label];
      row[`${s.label} / ${reference?.label ?? 'ref'}`] = typeof v === 'number' && typeof ref === 'number' ? v / ref : null;
    }
    rows.push(row);
  }
  const ratioCols = subjects.filter((s) => s !== reference).map((s) => `${s.label} / ${reference?.label ?? 'ref'}`);
  return {
    title: `GEMM ${dtype}, n x n @ n x n, one thread (GFLOP/s; ratios are speed-ups)`,
    columns: ['n', ...subjects.map((s) => s.label), ...(dtype === 'float32' ? ratioCols : [])],
    rows,
    notes: dtype === 'float32' ? notes : [...notes, 'tfjs has no float64 tensors.'],
  };
}

registerSection({
  name: 'gemm',
  description: 'matrix product GFLOP/s: tsdeq wasm (baseline SIMD, relaxed SIMD) vs tfjs-backend-wasm, one thread',
  async run(ctx) {
    const f32 = ctx.quick ? [64, 256] : [64, 128, 256, 512, 1024];
    const f64 = ctx.quick ? [128] : [128, 256, 512];
    return [await gemmTable('float32', f32, ctx.log), await gemmTable('float64', f64, ctx.log)];
  },
});
