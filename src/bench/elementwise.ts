/**
 * Section `elementwise`: memory throughput of float32 elementwise kernels on 1M elements,
 * in GB/s of bytes read plus written (add: 12 bytes per element, tanh: 8).
 */
import type { BenchCell } from './registry.js';
import { registerSection } from './registry.js';
import { loadSubjects } from './load_subjects.js';
import { DEFAULT_TIMING, timeCall } from './timing.js';

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
      for (const s of subjects) {
        ctx.log(`elementwise ${op} ${s.label}`);
        const prepared = s.elementwise(op, size);
        try {
          const ms = timeCall(prepared.run, { ...DEFAULT_TIMING, minMs: ctx.quick ? 20 : 60 });
          row[s.label] = (size * bytesPerElement) / (ms * 1e6);
        } finally {
          prepared.dispose();
        }
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
