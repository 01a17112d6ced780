/**
 * Section `deq_step`: the DEQ training step of the performance baseline (see
 * ./deq_step_model.ts and ../shared/oracle/BASELINE.md) on the wasm backend (one thread unless
 * the bench runs with --threads N; TorchDEQ then gets N threads too):
 * median ms per step with the forward / backward split, for IFT and phantom (k = 5)
 * gradients at (d, B) = (64, 32), (256, 64), (1024, 64), and the ratio to TorchDEQ's time
 * (measured in the same run when possible, else the recorded baseline; see ./torchdeq_ref.ts).
 * A second column times the same step with f written as unfused ops.
 */
import { registerSection, type BenchCell, type BenchContext, type BenchTable } from './registry.js';
import { init } from '../init.js';
import { findBackend, getBackend, setBackend } from '../backend/registry.js';
import { getThreads } from '../threads/settings.js';
import type { WasmBackend } from '../backend/wasm.js';
import { StepModel, deqStep, type FuncStyle, type StepGrad, type StepTimes } from './deq_step_model.js';
import { RECORDED_TORCHDEQ, refKey, torchdeqTimes } from './torchdeq_ref.js';
import { median } from './timing.js';
import { runDeqStepGpu } from './deq_step_gpu.js';

const SIZES: readonly [number, number][] = [[64, 32], [256, 64], [1024, 64]];
const GRADS: readonly StepGrad[] = ['ift', 'pg_k5'];
/** The issue's targets: tsdeq time / TorchDEQ time, by d. */
const TARGET: Readonly<Record<number, number>> = { 64: 0.1, 256: 0.5, 1024: 0.9 };

/** Warm-up and timed-run budget of one configuration. */
interface Budget { warmSteps: number; warmMs: number; minSteps: number; minMs: number; maxSteps: number; }

const FULL: Budget = { warmSteps: 3, warmMs: 500, minSteps: 10, minMs: 1500, maxSteps: 400 };
const QUICK: Budget = { warmSteps: 2, warmMs: 100, minSteps: 5, minMs: 300, maxSteps: 100 };

/** Milliseconds to three or four significant digits (0.812, 14.06, 202.3). */
function ms(v: number): string {
  return v < 10 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(1);
}

/** Medians of the step times of one configuration. */
async function measure(model: StepModel, grad: StepGrad, style: FuncStyle, b: Budget): Promise<StepTimes & { n: number }> {
  const run = deqStep(model, grad, style);
  const t0 = performance.now();
  for (let i = 0; i < b.warmSteps || performance.now() - t0 < b.warmMs; i++) await run();
  const rec: StepTimes[] = [];
  const t1 = performance.now();
  while (rec.length < b.minSteps || (performance.now() - t1 < b.minMs && rec.length < b.maxSteps)) rec.push(await run());
  return {
    total: median(rec.map((r) => r.total)),
    forward: median(rec.map((r) => r.forward)),
    backward: median(rec.map((r) => r.backward)),
    n: rec.length,
  };
}

/**
 * Runs the section's measurements (also usable on its own).
 * @example const [table] = await runDeqStepBench({ quick: true, log: console.error });
 */
export async function runDeqStepBench(ctx: BenchContext): Promise<BenchTable[]> {
  if (ctx.backend === 'webgpu' || ctx.offload) return runDeqStepGpu(ctx);
  const sizes = ctx.quick ? SIZES.slice(0, 2) : SIZES;
  const previous = getBackend().name;
  const info = await init();
  if (info.backend !== 'wasm') throw new Error(`deq_step: expected the wasm backend, init() reported: ${info.message}`);
  // The wasm backend's thread count (`npm run bench -- --threads N`; 1 by default), and TorchDEQ's.
  const threads = getThreads();
  const ref = torchdeqTimes(sizes.map(([d, B]) => `${d}x${B}`).join(','), threads, ctx);
  const budget = ctx.quick ? QUICK : FULL;
  const rows: Record<string, BenchCell>[] = [];
  try {
    for (const [d, B] of sizes) {
      const model = new StepModel(d, B, getBackend());
      try {
        for (const grad of GRADS) {
          ctx.log(`deq_step d=${d} B=${B} ${grad}`);
          const t = await measure(model, grad, 'fused', budget);
          const unfused = ctx.quick ? null : await measure(model, grad, 'ops', budget);
          const r = ref.times.get(refKey(d, B, grad, threads));
          const recorded = RECORDED_TORCHDEQ.get(refKey(d, B, grad, threads));
          rows.push({
            'd, B': `${d}, ${B}`,
            grad,
            'ms/step': ms(t.total),
            'fwd ms': ms(t.forward),
            'bwd ms': ms(t.backward),
            'unfused f ms': unfused ? ms(unfused.total) : null,
            'TorchDEQ ms': r ? ms(r.total) : null,
            'TorchDEQ fwd/bwd': r ? `${ms(r.forward)} / ${ms(r.backward)}` : null,
            ratio: r ? (t.total / r.total).toFixed(3) : null,
            target: threads === 1 ? `<= ${TARGET[d]}` : null,
            'ratio (recorded)': recorded ? (t.total / recorded.total).toFixed(3) : null,
            steps: String(t.n),
          });
        }
      } finally {
        model.dispose();
      }
    }
  } finally {
    setBackend(previous);
  }
  const variant = (findBackend('wasm') as WasmBackend | undefined)?.variant ?? 'unknown';
  return [{
    title: `DEQ training step vs TorchDEQ, float32, ${threads === 1 ? 'one thread' : `${threads} threads`} each (tsdeq wasm ${variant} build)`,
    columns: ['d, B', 'grad', 'ms/step', 'fwd ms', 'bwd ms', 'unfused f ms', 'TorchDEQ ms', 'TorchDEQ fwd/bwd', 'ratio', 'target', 'ratio (recorded)', 'steps'],
    rows,
    notes: [
      'step = zero grads, inj = x U^T + b, deq.forward (anderson m=6 lam=1e-4, 30 iterations, tol 0, core sliced), loss = sum(z[-1] * c), backward; median ms.',
      'f(z) = linearTanh(z, W, inj) (fused); "unfused f" writes it tanh(add(linear(z, W), inj)). ift: fixed_point_iter adjoint, 30 iterations, tol 0; pg_k5: phantom k=5, tau=0.5.',
      'target: the issue\'s single-thread targets (tsdeq time / TorchDEQ time).',
      'fwd = inj + solve + gradient functor + loss; bwd = loss.backward(). ratio = tsdeq ms / TorchDEQ ms (lower is better).',
      ref.note,
      'ratio (recorded) divides by the recorded baseline of ../shared/oracle/BASELINE.md (AMD EPYC, another machine), for reference.',
    ],
  }];
}

registerSection({
  name: 'deq_step',
  description: 'DEQ training step (anderson + IFT / phantom) vs TorchDEQ, ms per step',
  run: runDeqStepBench,
});
