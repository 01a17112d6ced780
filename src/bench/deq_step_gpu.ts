/**
 * The `deq_step` section on WebGPU (`--backend webgpu`: the model lives on webgpu; `--offload`:
 * the model lives on wasm and the DEQ runs with offload 'webgpu'), in Node through the npm
 * `webgpu` package. Sizes (d, B) = (256, 64), (1024, 64), (1024, 4096), the baseline step of
 * ./deq_step_model.ts (anderson 30 + IFT 30, phantom k = 5, tol 0). On a fallback (CPU) adapter
 * only (64, 32) and (256, 64) run ((64, 32) with --quick), and every table says the numbers are
 * CPU-adapter numbers, not GPU speed. A second table times a forward solve with a tolerance
 * (anderson, tol 1e-30 so every check reads and none stops) for checkEvery 1 to 32: the cost of the stop test's
 * reads, which decides the default checkEvery (GPU_CHECK_EVERY), at the smallest and largest size.
 * TorchDEQ on CUDA is not run by this section: scripts/gpu_bench.sh runs this section and
 * scripts/gpu/bench_torchdeq_cuda.py together on a GPU machine and puts them side by side.
 */
import type { BenchCell, BenchContext, BenchTable } from './registry.js';
import { init } from '../init.js';
import { findBackend, getBackend } from '../backend/registry.js';
import type { Backend } from '../backend/backend.js';
import type { WebGpuBackend } from '../backend/webgpu/backend.js';
import { StepModel, deqStep, type StepGrad } from './deq_step_model.js';
import { median } from './timing.js';
import { zeros } from '../creation.js';
import { anderson } from '../solvers/anderson.js';
import { linearTanh } from '../ops/fused.js';
import { linear } from '../ops/linalg.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';

const GPU_SIZES: readonly [number, number][] = [[256, 64], [1024, 64], [1024, 4096]];
const CPU_ADAPTER_SIZES: readonly [number, number][] = [[64, 32], [256, 64]];
const GRADS: readonly StepGrad[] = ['ift', 'pg_k5'];

function ms(v: number): string {
  return v < 10 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(1);
}

/** Starts the webgpu backend through the npm `webgpu` package (the machine's Vulkan driver, else SwiftShader). */
export async function webgpu(ctx: BenchContext): Promise<WebGpuBackend> {
  const mod = (await import('webgpu')) as unknown as { create(flags: string[]): object };
  if (!process.env.VK_ICD_FILENAMES) {
    const { existsSync } = await import('node:fs');
    const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
    // Only when no other Vulkan driver is configured: a GPU machine's own driver wins.
    if (existsSync(icd) && !existsSync('/usr/share/vulkan/icd.d/nvidia_icd.json')) process.env.VK_ICD_FILENAMES = icd;
  }
  const gpu = mod.create([]);
  (globalThis as { __tsdeqBenchGpu?: object }).__tsdeqBenchGpu = gpu; // keep it reachable (Dawn)
  const info = await init({ gpu });
  if (!info.webgpu.available) throw new Error(`deq_step --backend webgpu: no WebGPU adapter (${info.webgpu.reason ?? 'unknown reason'})`);
  ctx.log(`deq_step: webgpu adapter ${JSON.stringify(info.webgpu.adapter)}`);
  return findBackend('webgpu') as WebGpuBackend;
}

async function timeRuns(run: () => Promise<number>, quick: boolean): Promise<{ ms: number; n: number }> {
  const warm = quick ? 1 : 2, minN = quick ? 3 : 5, minMs = quick ? 300 : 1500;
  for (let i = 0; i < warm; i++) await run();
  const rec: number[] = [];
  const t0 = performance.now();
  while (rec.length < minN || (performance.now() - t0 < minMs && rec.length < 200)) rec.push(await run());
  return { ms: median(rec), n: rec.length };
}

/** The section's tables on WebGPU (see the file comment). */
export async function runDeqStepGpu(ctx: BenchContext): Promise<BenchTable[]> {
  // Node exits when only Dawn's callbacks are pending (they hold no handle): keep it alive.
  const alive = setInterval(() => undefined, 1000);
  try {
    return await tablesOnGpu(ctx);
  } finally {
    clearInterval(alive);
  }
}

async function tablesOnGpu(ctx: BenchContext): Promise<BenchTable[]> {
  const gpu = await webgpu(ctx);
  const cpuAdapter = gpu.adapterInfo.isFallbackAdapter;
  const ad = gpu.adapterInfo;
  const adapter = `${ad.vendor} ${ad.architecture} ${ad.description}`.trim() + (cpuAdapter ? ' (a CPU fallback adapter)' : '');
  // --quick on a CPU adapter is a smoke run of the harness (scripts/gpu_bench.sh run --cpu-adapter): one small size.
  const sizes = cpuAdapter ? (ctx.quick ? CPU_ADAPTER_SIZES.slice(0, 1) : CPU_ADAPTER_SIZES) : ctx.quick ? CPU_ADAPTER_SIZES : GPU_SIZES;
  const home: Backend = ctx.offload ? findBackend('wasm')! : gpu;
  const rows: Record<string, BenchCell>[] = [];
  for (const [d, B] of sizes) {
    const model = new StepModel(d, B, home);
    try {
      for (const grad of GRADS) {
        ctx.log(`deq_step ${ctx.offload ? 'offload' : 'webgpu'} d=${d} B=${B} ${grad}`);
        const run = deqStep(model, grad, 'fused', { offload: ctx.offload ? 'webgpu' : 'none' });
        const parts: { f: number; b: number }[] = [];
        const t = await timeRuns(async () => { const r = await run(); parts.push({ f: r.forward, b: r.backward }); return r.total; }, ctx.quick);
        rows.push({
          'd, B': `${d}, ${B}`, grad, 'ms/step': ms(t.ms),
          'fwd ms': ms(median(parts.map((p) => p.f))), 'bwd ms': ms(median(parts.map((p) => p.b))),
          'TorchDEQ CUDA ms': null, steps: String(t.n),
        });
      }
    } finally {
      model.dispose();
    }
  }
  const label = cpuAdapter ? 'CPU-ADAPTER numbers (SwiftShader-class software WebGPU), NOT GPU speed' : 'real GPU adapter';
  const tables: BenchTable[] = [{
    title: `DEQ training step on WebGPU, float32, ${ctx.offload ? 'model on wasm, offload: \'webgpu\'' : 'model on webgpu'}; adapter: ${adapter}; ${label}`,
    columns: ['d, B', 'grad', 'ms/step', 'fwd ms', 'bwd ms', 'TorchDEQ CUDA ms', 'steps'],
    rows,
    notes: [
      'step as in the wasm table (anderson m=6 30 iterations tol 0 + IFT fixed_point_iter 30 / phantom k=5), with a GPU wait at the fwd/bwd split and at the end.',
      cpuAdapter ? 'This adapter runs on the CPU: only the small sizes run, and the numbers say nothing about GPU speed.' : 'TorchDEQ CUDA: not measured by this section (see BENCHMARKS.md).',
    ],
  }];
  // The stop test's reads: a forward solve with a tolerance that never stops, by checkEvery, at
  // the smallest size (launch-bound: where a read costs most relative to the work) and the largest.
  const crow: Record<string, BenchCell>[] = [];
  for (const [d, B] of [...new Set([sizes[0], sizes[sizes.length - 1]])]) await checkEverySweep(ctx, gpu, d, B, crow);
  tables.push({
    title: `anderson forward solve on WebGPU with a tolerance (30 iterations, never stops) by checkEvery; adapter: ${adapter}; ${label}`,
    columns: ['d, B', 'checkEvery', 'ms/solve', 'stop-test reads', 'runs'],
    rows: crow,
    notes: ['ms/solve includes reading z back. The default checkEvery on GPU backends is GPU_CHECK_EVERY (src/solvers/options.ts): the smallest value whose ms/solve is within a few percent of checkEvery 32, and at least 8 (the issue\'s floor).'],
  });
  void getBackend;
  return tables;
}

async function checkEverySweep(ctx: BenchContext, gpu: WebGpuBackend, d: number, B: number, crow: Record<string, BenchCell>[]): Promise<void> {
  const model = new StepModel(d, B, gpu);
  try {
    const inj = linear(model.x, model.U, model.b);
    const f = (z: Tensor): Tensor => linearTanh(z, model.W, inj);
    for (const checkEvery of [1, 2, 4, 8, 16, 32]) {
      ctx.log(`deq_step checkEvery=${checkEvery}`);
      const t = await timeRuns(async () => {
        const t0 = performance.now();
        await tidy(async () => {
          const r = await anderson(f, zeros([B, d], { backend: gpu }), { maxIter: 30, tol: 1e-30, checkEvery });
          await r.z.data();
        });
        return performance.now() - t0;
      }, ctx.quick);
      crow.push({ 'd, B': `${d}, ${B}`, checkEvery: String(checkEvery), 'ms/solve': ms(t.ms), 'stop-test reads': String(Math.floor(30 / checkEvery)), runs: String(t.n) });
    }
    inj.dispose();
  } finally {
    model.dispose();
  }
}
