/**
 * The `deq_capture` section: record once, replay (SolverOptions.capture) on webgpu: the host (JS) time of a 30-iteration tol-0 forward solve with capture 'auto' and 'off', for
 * anderson and fixed_point_iter, with a one-op func (`linearTanh`) and a six-op func. "host ms"
 * is the time until the solver returns (everything recorded and submitted; no read, the GPU may
 * still be running); "ms/solve" adds reading z back. On a CPU adapter the GPU work competes
 * with the JS for the same cores, so only the host column says something: it is host overhead,
 * not GPU speed.
 */
import { registerSection, type BenchCell, type BenchContext, type BenchTable } from './registry.js';
import type { WebGpuBackend } from '../backend/webgpu/backend.js';
import { webgpu } from './deq_step_gpu.js';
import { StepModel } from './deq_step_model.js';
import type { SolverFunc } from '../solvers/types.js';
import { getSolver } from '../solvers/registry.js';
import { zeros } from '../creation.js';
import { linearTanh } from '../ops/fused.js';
import { linear } from '../ops/linalg.js';
import { add, mul } from '../ops/arith.js';
import { tanh } from '../ops/unary.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { median } from './timing.js';

const ITERS = 30;

function ms(v: number): string {
  return v < 1 ? v.toFixed(4) : v < 10 ? v.toFixed(3) : v.toFixed(2);
}

/** The capture table for `model` (its W, U, b, x) on `gpu`. */
async function captureTable(gpu: WebGpuBackend, model: StepModel, d: number, B: number, quick: boolean,
  adapter: string, label: string, log: (s: string) => void): Promise<BenchTable> {
  const inj = linear(model.x, model.U, model.b);
  const funcs: [string, SolverFunc<Tensor>][] = [
    ['linearTanh (1 op)', (z) => linearTanh(z, model.W, inj)],
    ['6 ops', (z) => tanh(add(mul(tanh(add(linear(z, model.W), inj)), 0.5), mul(z, 0.5)))],
  ];
  const rows: Record<string, BenchCell>[] = [];
  try {
    for (const solver of ['anderson', 'fixed_point_iter']) {
      for (const [fname, f] of funcs) {
        for (const capture of ['off', 'auto'] as const) {
          log(`deq_step capture=${capture} ${solver} ${fname}`);
          let calls = 0;
          const counted: SolverFunc<Tensor> = (z) => { calls++; return f(z); };
          const host: number[] = [], total: number[] = [], submits: number[] = [], inSubmit: number[] = [];
          // Time inside queue.submit is the driver's (a CPU adapter may run the work right there): kept apart.
          const queue = gpu.device.queue;
          const submit = queue.submit;
          let submitMs = 0;
          queue.submit = function (this: GPUQueue, ...a: Parameters<GPUQueue['submit']>) {
            const s0 = performance.now();
            try { return submit.apply(this, a); } finally { submitMs += performance.now() - s0; }
          };
          const runs = quick ? 3 : 8, warm = quick ? 1 : 2;
          try {
          for (let i = 0; i < runs + warm; i++) {
            calls = 0;
            await gpu.sync();
            const s0 = gpu.ctx.submits;
            submitMs = 0;
            const t0 = performance.now();
            let t1 = 0;
            await tidy(async () => {
              const r = await getSolver(solver)(counted, zeros([B, d], { backend: gpu }), { maxIter: ITERS, tol: 0, capture });
              t1 = performance.now();
              await r.z.data();
            });
            if (i < warm) continue; // warm-up: pipelines, pools
            host.push(t1 - t0);
            total.push(performance.now() - t0);
            submits.push(gpu.ctx.submits - s0);
            inSubmit.push(submitMs);
          }
          } finally {
            queue.submit = submit;
          }
          rows.push({
            solver, func: fname, capture, 'JS ms/iter': ms(median(host.map((h, k) => h - inSubmit[k])) / ITERS),
            'host ms/solve': ms(median(host)), 'in submit ms': ms(median(inSubmit)),
            'ms/solve incl. read': ms(median(total)), 'func calls': String(calls), submits: String(median(submits)), runs: String(host.length),
          });
        }
      }
    }
  } finally {
    inj.dispose();
  }
  return {
    title: `record once, replay: host (JS) time of a ${ITERS}-iteration tol-0 forward solve, d=${d}, B=${B}, capture 'off' vs 'auto'; adapter: ${adapter}; ${label}`,
    columns: ['solver', 'func', 'capture', 'JS ms/iter', 'host ms/solve', 'in submit ms', 'ms/solve incl. read', 'func calls', 'submits', 'runs'],
    rows,
    notes: [
      'host ms/solve: until the solver returns (all work recorded and submitted, nothing read); in submit ms: the part of it inside queue.submit (the driver; a CPU adapter may run the GPU work there); JS ms/iter: the rest, per iteration. With capture, anderson traces iterations 6..17 (two periods of m = 6) and replays 18..29; fixed_point_iter traces 0..3 and replays the rest.',
      'On a CPU adapter the GPU work shares the CPU with the JS: only the host columns mean anything, and they are host overhead, not GPU speed.',
    ],
  };
}

registerSection({
  name: 'deq_capture',
  description: "webgpu: host (JS) time of 30-iteration solves with capture 'auto' vs 'off' (record once, replay)",
  async run(ctx: BenchContext): Promise<BenchTable[]> {
    const alive = setInterval(() => undefined, 1000); // Dawn's callbacks hold no handle
    try {
      const gpu = await webgpu(ctx);
      const ad = gpu.adapterInfo;
      const cpu = ad.isFallbackAdapter;
      const adapter = `${ad.vendor} ${ad.architecture} ${ad.description}`.trim() + (cpu ? ' (a CPU fallback adapter)' : '');
      const label = cpu ? 'CPU-ADAPTER numbers: host overhead only, NOT GPU speed' : 'real GPU adapter';
      const tables: BenchTable[] = [];
      for (const [d, B] of (ctx.quick ? [[64, 32]] : [[64, 32], [256, 64]]) as [number, number][]) {
        const model = new StepModel(d, B, gpu);
        try {
          tables.push(await captureTable(gpu, model, d, B, ctx.quick, adapter, label, (s) => ctx.log(s)));
        } finally {
          model.dispose();
        }
      }
      return tables;
    } finally {
      clearInterval(alive);
    }
  },
});
