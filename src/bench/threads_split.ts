/**
 * Section `threads_split`: where splitting work across threads starts to pay, measured on the
 * DEQ training step of `deq_step` (anderson 30 + IFT 30, float32) at several (d, B). One
 * shared-memory instance runs every configuration, interleaved round by round: one thread,
 * and two threads with products split from 2^21, 2^22, 2^23 and 2^24 flops. The median time
 * per step of each and its ratio to one thread; the smallest threshold at which two threads
 * are never slower than one is what `MIN_PARALLEL_FLOPS` (src/backend/wasm_parallel.ts) uses.
 */
import { registerSection, type BenchCell, type BenchContext, type BenchTable } from './registry.js';
import { createSharedWasmBackend } from '../backend/wasm_shared.js';
import { detectFeatures, wasmBytes } from '../backend/wasm_loader.js';
import { threadSupport } from '../threads/platform.js';
import { MIN_PARALLEL_FLOPS } from '../backend/wasm_parallel.js';
import { StepModel, deqStep } from './deq_step_model.js';
import { median } from './timing.js';

/** Two-thread split thresholds compared with one thread. */
const THRESHOLDS = [2 ** 21, 2 ** 22, 2 ** 23, 2 ** 24];

async function run(ctx: BenchContext): Promise<BenchTable[]> {
  const title = 'DEQ training step (anderson 30 + IFT 30, float32): one thread vs two threads by product split threshold (ms per step, median; ratio to one thread)';
  const columns = ['d x B', '1 thread', 'no workers', ...THRESHOLDS.map((t) => `2 thr, split >= 2^${Math.log2(t)}`)];
  const support = threadSupport();
  if (!support.ok) return [{ title, columns, rows: [], notes: [`not measured: ${support.reason}`] }];
  const variant = detectFeatures().relaxed ? 'relaxed' : 'simd';
  // The pool keeps two threads throughout (resizing restarts the workers); "one thread" is the
  // same instance with every split threshold at infinity, so nothing is handed to the worker.
  let want = 2;
  const backend = await createSharedWasmBackend(await wasmBytes(variant, true), () => want, 'bench');
  const par = backend.parallel!;
  await par.pool.resize(2);
  const elements = { ...par.minElements };
  const never = { addTanh: Infinity, tanhGrad: Infinity, solverStep: Infinity };
  const sizes: [number, number][] = ctx.quick ? [[128, 64]]
    : [[64, 32], [64, 128], [96, 128], [128, 32], [128, 64], [128, 96], [160, 64], [128, 128], [192, 64], [256, 32], [256, 64], [512, 64]];
  const rounds = ctx.quick ? 3 : 15;
  const rows: Record<string, BenchCell>[] = [];
  try {
    for (const [d, B] of sizes) {
      ctx.log(`threads_split ${d}x${B}`);
      const model = new StepModel(d, B, backend);
      const step = deqStep(model, 'ift');
      const configs = [{ minFlops: Infinity, minElements: never }, ...THRESHOLDS.map((t) => ({ minFlops: t, minElements: elements }))];
      const times: number[][] = configs.map(() => []);
      const noWorkers: number[] = [];
      const inner = Math.max(1, Math.round(1e6 / (d * d * B)));
      try {
        for (let w = 0; w < 2; w++) for (const c of configs) { par.minFlops = c.minFlops; par.minElements = c.minElements; await step(); }
        for (let r = 0; r < rounds; r++) {
          // No workers at all (setThreads(1)): the pool is stopped for this block and restarted
          // after it; starting and stopping are outside the timed block.
          want = 1;
          await par.pool.resize(1);
          par.minFlops = MIN_PARALLEL_FLOPS; par.minElements = elements;
          const t0 = performance.now();
          for (let k = 0; k < inner; k++) await step();
          noWorkers.push((performance.now() - t0) / inner);
          want = 2;
          await par.pool.resize(2);
          for (let i = 0; i < configs.length; i++) {
            par.minFlops = configs[i].minFlops; par.minElements = configs[i].minElements;
            const t0 = performance.now();
            for (let k = 0; k < inner; k++) await step();
            times[i].push((performance.now() - t0) / inner);
          }
        }
      } finally {
        model.dispose();
      }
      const ms = times.map(median);
      const row: Record<string, BenchCell> = {
        'd x B': `${d}x${B}`, '1 thread': ms[0].toFixed(2),
        'no workers': `${median(noWorkers).toFixed(2)} (${median(noWorkers.map((t, r) => t / times[0][r])).toFixed(2)}x)`,
      };
      // Ratio: median over rounds of (this configuration / one thread in the same round).
      for (let i = 1; i < configs.length; i++) {
        const ratio = median(times[i].map((t, r) => t / times[0][r]));
        row[columns[i + 2]] = `${ms[i].toFixed(2)} (${ratio.toFixed(2)}x)`;
      }
      rows.push(row);
    }
  } finally {
    want = 1;
    par.minFlops = MIN_PARALLEL_FLOPS;
    par.minElements = elements;
    await par.pool.resize(1);
  }
  return [{
    title, columns, rows,
    notes: [`tsdeq ${variant}-threads build, one instance, configurations interleaved per round (${rounds} rounds); ${support.cores} cores reported.`,
      'Elementwise split thresholds stay at their defaults (MIN_PARALLEL_ELEMENTS); only the product threshold varies.',
      '1 thread: two threads started, every split threshold at infinity; no workers: the pool stopped (setThreads(1)) for that block.',
      'ratio: median over rounds of (this configuration / 1 thread in the same round). Meaningful only on an idle machine.'],
  }];
}

registerSection({
  name: 'threads_split',
  description: 'DEQ training step, 1 vs 2 threads by product split threshold (sets MIN_PARALLEL_FLOPS)',
  run,
});
