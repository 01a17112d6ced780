/**
 * Section `webgpu_gemm`: float32 matrix-product GFLOP/s (2 m n k flops per product) of the tsdeq
 * webgpu backend next to `@tensorflow/tfjs-backend-webgpu` on the SAME adapter, in Node through
 * the npm `webgpu` package (Dawn). On machines without a GPU that adapter is a CPU one
 * (SwiftShader, `isFallbackAdapter: true`): such numbers compare the two libraries' kernels on
 * that adapter and say nothing about GPU speed; the table says which adapter ran.
 *
 * Timing: after a warm-up (pipeline compilation), each run records `reps` products and waits for
 * the last one's values (one readback per run), so the time per product includes the submit
 * and the GPU work, the same way for both libraries; the median of the runs is reported.
 */
import { existsSync } from 'node:fs';
import type { BenchCell, BenchTable } from './registry.js';
import { registerSection } from './registry.js';
import { createWebGpuBackend } from '../backend/webgpu/setup.js';
import type { WebGpuBackend } from '../backend/webgpu/backend.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface GpuModule { create(flags: string[]): GPU; globals: Record<string, unknown> }

let gpuObject: GPU | null = null;
async function gpu(): Promise<GPU> {
  if (gpuObject) return gpuObject;
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const mod = (await import('webgpu')) as unknown as GpuModule;
  // tfjs-backend-webgpu reads navigator.gpu and the GPUBufferUsage-style globals.
  Object.assign(globalThis, mod.globals);
  gpuObject = mod.create([]);
  if (!(globalThis as { navigator?: object }).navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty((globalThis as unknown as { navigator: object }).navigator, 'gpu', { value: gpuObject, configurable: true });
  return gpuObject;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeAsync(fn: (reps: number) => Promise<void>, reps: number, runs: number): Promise<number> {
  await fn(1); // warm-up: compiles the pipelines
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await fn(reps);
    times.push((performance.now() - t0) / reps);
  }
  return median(times);
}

function randomValues(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    v[i] = s / 4294967296 - 0.5;
  }
  return v;
}

async function tsdeqTimer(be: WebGpuBackend, n: number): Promise<{ run: (reps: number) => Promise<void>; dispose: () => void }> {
  const a = be.alloc(n * n, 'float32'), b = be.alloc(n * n, 'float32'), o = be.alloc(n * n, 'float32');
  be.write(a, randomValues(n * n, 1));
  be.write(b, randomValues(n * n, 2));
  const spec = { batch: 1, m: n, n, k: n, transA: false, transB: false, strideA: 0, strideB: 0 };
  return {
    run: async (reps) => {
      for (let i = 0; i < reps; i++) be.matmul(a, b, o, spec);
      await be.readAsync(o);
    },
    dispose: () => { for (const s of [a, b, o]) be.free(s); },
  };
}

type Tf = typeof import('@tensorflow/tfjs-core');

async function tfjsWebGpu(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend failed to initialise');
  await tf.ready();
  return tf;
}

function tfjsTimer(tf: Tf, n: number): { run: (reps: number) => Promise<void>; dispose: () => void } {
  const a = tf.tensor2d(randomValues(n * n, 1), [n, n]), b = tf.tensor2d(randomValues(n * n, 2), [n, n]);
  return {
    run: async (reps) => {
      let last: ReturnType<Tf['matMul']> | null = null;
      for (let i = 0; i < reps; i++) {
        last?.dispose();
        last = tf.matMul(a, b);
      }
      await last!.data();
      last!.dispose();
    },
    dispose: () => { a.dispose(); b.dispose(); },
  };
}

registerSection({
  name: 'webgpu_gemm',
  description: 'float32 matrix product GFLOP/s: tsdeq webgpu vs tfjs-backend-webgpu on the same adapter (Node, npm webgpu)',
  async run(ctx): Promise<BenchTable[]> {
    const { backend, info } = await createWebGpuBackend(await gpu(), 'bench');
    if (!backend) {
      return [{ title: 'webgpu_gemm', columns: ['note'], rows: [{ note: `no WebGPU adapter: ${info.reason}` }] }];
    }
    const tf = await tfjsWebGpu();
    const ad = info.adapter!;
    const sizes = ctx.quick ? [64, 128] : [64, 128, 256, 512];
    const rows: Record<string, BenchCell>[] = [];
    for (const n of sizes) {
      ctx.log(`webgpu_gemm n = ${n}`);
      const flops = 2 * n * n * n;
      const reps = Math.max(1, Math.round(2 ** 26 / flops));
      const runs = ctx.quick ? 3 : 7;
      const mine = await tsdeqTimer(backend, n);
      const theirs = tfjsTimer(tf, n);
      try {
        const msMine = await timeAsync(mine.run, reps, runs);
        const msTheirs = await timeAsync(theirs.run, reps, runs);
        const g1 = flops / (msMine * 1e6), g2 = flops / (msTheirs * 1e6);
        // Three significant digits: CPU adapters run at a small fraction of a GFLOP/s.
        rows.push({ shape: `n = ${n}`, 'tsdeq webgpu': g1.toPrecision(3), 'tfjs-backend-webgpu': g2.toPrecision(3), 'tsdeq / tfjs': `${(g1 / g2).toFixed(2)}x` });
      } finally {
        mine.dispose();
        theirs.dispose();
      }
    }
    return [{
      title: `float32 GEMM on WebGPU (GFLOP/s; adapter: ${ad.vendor} ${ad.architecture} ${ad.description}${ad.isFallbackAdapter ? ', a CPU fallback adapter' : ''})`,
      columns: ['shape', 'tsdeq webgpu', 'tfjs-backend-webgpu', 'tsdeq / tfjs'],
      rows,
      notes: [
        ad.isFallbackAdapter
          ? 'This adapter runs on the CPU: the numbers compare the two libraries\' kernels on it, not GPU speed.'
          : 'A real GPU adapter.',
        'Each run records the products, then reads the last result back; median of the runs per product.',
      ],
    }];
  },
});
