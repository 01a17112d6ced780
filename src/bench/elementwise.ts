/**
 * Section `elementwise`: memory throughput of float32 elementwise kernels on 1M elements,
 * in GB/s of bytes read plus written (add: 12 bytes per element, tanh: 8).
 */
import type { BenchCell } from './registry.js';
import { registerSection } from './registry.js';
import { loadSubjects } from './load_subjects.js';
import { DEFAULT_TIMING, timeCalls } from './timing.js';

const OPS = [
  { op: 'add' as const, bytesPerElement: 12 },
  { op: 'tanh' as const, bytesPerElement: 8 },
];

registerSection({
  name: 'elementwise',
  description: 'float32 add and tanh on 1M elements, GB/s, one thread',
  async run(ctx) {
    const size = 1 << 20;
    const { subjects, notes } = await loadSubjects();
    const rows: Record<string, BenchCell>[] = [];
    for (const { op, bytesPerElement } of OPS) {
      const row: Record<string, BenchCell> = { op: `${op} (1M f32)` };
      ctx.log(`elementwise ${op}`);
      const prepared = subjects.map((s) => s.elementwise(op, size));
      try {
        const ms = timeCalls(prepared.map((p) => p.run), { ...DEFAULT_TIMING, minMs: ctx.quick ? 20 : 60 });
        subjects.forEach((s, i) => { row[s.label] = (size * bytesPerElement) / (ms[i] * 1e6); });
      } finally {
        for (const p of prepared) p.dispose();
      }
      rows.push(row);
    }
    return [{
      title: 'Elementwise float32, 1M elements, one thread (GB/s read + written)',
      columns: ['op', ...subjects.map((s) => s.label)],
      rows,
      notes,
    }];
  },
});
