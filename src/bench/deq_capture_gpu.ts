/**
 * The `deq_capture` section: record once, replay (SolverOptions.capture) on webgpu. Host (JS)
 * time of 30- and 90-iteration tol-0 forward solves with capture 'off' and 'auto', for anderson
 * and fixed_point_iter, with a one-op func (`linearTanh`) and a six-op func: the time until the
 * solver returns (everything recorded and submitted, nothing read) less the time inside
 * `queue.submit` (the driver's; a CPU adapter may run the GPU work there). The difference per
 * iteration between the two lengths is the steady-state JS cost of one iteration (with capture:
 * of one replayed iteration). On a CPU adapter these are host-overhead numbers, not GPU speed.
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
const LONG = 90;

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
          log(`deq_capture capture=${capture} ${solver} ${fname}`);
          let calls = 0;
          const counted: SolverFunc<Tensor> = (z) => { calls++; return f(z); };
          // Time inside queue.submit is the driver's (a CPU adapter may run the work right there): kept apart.
          const queue = gpu.device.queue;
          const submit = queue.submit;
          let submitMs = 0;
          queue.submit = function (this: GPUQueue, ...a: Parameters<GPUQueue['submit']>) {
            const s0 = performance.now();
            try { return submit.apply(this, a); } finally { submitMs += performance.now() - s0; }
          };
          /** JS ms (host time until the solver returns, less the time inside submits), func calls, submits. */
          const solve = async (maxIter: number): Promise<[number, number, number]> => {
            calls = 0;
            await gpu.sync();
            const s0 = gpu.ctx.submits;
            submitMs = 0;
            const t0 = performance.now();
            let js = 0, n = 0;
            await tidy(async () => {
              const r = await getSolver(solver)(counted, zeros([B, d], { backend: gpu }), { maxIter, tol: 0, capture });
              js = performance.now() - t0 - submitMs;
              n = gpu.ctx.submits - s0;
              await r.z.data();
            });
            return [js, calls, n];
          };
          const short: number[] = [], long: number[] = [];
          let shortInfo: [number, number, number] = [0, 0, 0];
          try {
            await solve(ITERS); // warm-up: pipelines, pools
            for (let i = 0; i < (quick ? 3 : 6); i++) {
              shortInfo = await solve(ITERS);
              short.push(shortInfo[0]);
              long.push((await solve(LONG))[0]);
            }
          } finally {
            queue.submit = submit;
          }
          const marginal = (median(long) - median(short)) / (LONG - ITERS);
          rows.push({
            solver, func: fname, capture, 'JS ms/solve (30)': ms(median(short)), 'JS ms/solve (90)': ms(median(long)),
            'JS ms/iter, 30 -> 90': ms(marginal), 'func calls (30)': String(shortInfo[1]), 'submits (30)': String(shortInfo[2]),
            runs: String(short.length),
          });
        }
      }
    }
  } finally {
    inj.dispose();
  }
  return {
    title: `record once, replay: host (JS) time of tol-0 forward solves (${ITERS} and ${LONG} iterations), d=${d}, B=${B}, capture 'off' vs 'auto'; adapter: ${adapter}; ${label}`,
    columns: ['solver', 'func', 'capture', 'JS ms/solve (30)', 'JS ms/solve (90)', 'JS ms/iter, 30 -> 90', 'func calls (30)', 'submits (30)', 'runs'],
    rows,
    notes: [
      'JS ms: host time until the solver returns (all work recorded and submitted, nothing read), less the time spent inside queue.submit (the driver: a CPU adapter may run the GPU work there). JS ms/iter, 30 -> 90: the extra JS time per iteration from a 30- to a 90-iteration solve (the steady state: with capture, replayed iterations).',
      'With capture, anderson traces iterations 6..17 (two periods of m = 6) and replays from 18 on; fixed_point_iter traces 0..3 and replays from 4 on.',
      'On a CPU adapter the GPU work shares the CPU with the JS (the machine is also shared): these are host-overhead numbers, NOT GPU speed.',
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
