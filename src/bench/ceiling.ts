/**
 * Section `ceiling`: what this engine and CPU allow, to put the GEMM numbers in context, and
 * the `wasm-opt` check of the build.
 * - Peak f32x4 multiply-add GFLOP/s of a benchmark-only module (assembly/bench/peak.ts, built
 *   by `npm run build:bench` into build/wasm/peak-{simd,relaxed}.wasm): twelve independent
 *   chains (bare arithmetic) and the GEMM's 4 x 8 register tile on L1-resident operands.
 * - Binaryen `wasm-opt -O3` applied to the shipped baseline module: kernel times with and
 *   without it, timed interleaved (the build does not use wasm-opt; this shows why).
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchCell } from './registry.js';
import { registerSection } from './registry.js';
import { DEFAULT_TIMING, timeCalls } from './timing.js';
import { createWasmBackend } from '../backend/wasm_loader.js';
import type { Backend } from '../backend/backend.js';

const WASM_DIR = new URL('./wasm/', import.meta.url);

function peakRate(variant: 'simd' | 'relaxed', fn: 'peak_chains_f32' | 'peak_tile_f32', flopsPerIter: number, quick: boolean): number | string {
  let mod: WebAssembly.Module;
  try {
    mod = new WebAssembly.Module(readFileSync(new URL(`peak-${variant}.wasm`, WASM_DIR)));
  } catch (e) {
    return `unavailable (${(e as Error).message.split('\n')[0]})`;
  }
  const run = new WebAssembly.Instance(mod, {}).exports[fn] as (n: number) => number;
  const iters = quick ? 5e6 : 4e7;
  run(iters / 10);
  let best = 0;
  for (let r = 0; r < (quick ? 3 : 7); r++) {
    const t = performance.now();
    run(iters);
    best = Math.max(best, (iters * flopsPerIter) / ((performance.now() - t) * 1e6));
  }
  return best;
}

/** Prepared calls of three kernels on one backend (1M-element add and tanh, a Gram matrix). */
function kernelCalls(b: Backend): { name: string; run: () => void }[] {
  const n = 1 << 20;
  const x = b.alloc(n, 'float32'), y = b.alloc(n, 'float32'), o = b.alloc(n, 'float32');
  b.fill(x, 0.5);
  b.fill(y, 0.25);
  const B = 32, m = 5, D = 4096;
  const g = b.alloc(B * m * D, 'float32'), go = b.alloc(B * m * m, 'float32');
  b.fill(g, 0.1);
  return [
    { name: 'add (1M f32)', run: () => b.binary('add', x, y, o, [n], [1], [1]) },
    { name: 'tanh (1M f32)', run: () => b.unary('tanh', x, o) },
    { name: 'gram (B 32, m 5, D 4096, f32)', run: () => b.gram(g, go, B, m, D, 1e-4) },
  ];
}

registerSection({
  name: 'ceiling',
  description: 'peak f32x4 multiply-add GFLOP/s of this engine/CPU, and wasm-opt -O3 vs the shipped build',
  async run(ctx) {
    const peakRows: Record<string, BenchCell>[] = [];
    for (const [label, fn, flops] of [
      ['12 independent multiply-add chains (no loads)', 'peak_chains_f32', 96],
      ['GEMM 4 x 8 tile on L1-resident operands', 'peak_tile_f32', 64],
    ] as const) {
      ctx.log(`ceiling: ${fn}`);
      peakRows.push({ kernel: label, 'simd (mul + add)': peakRate('simd', fn, flops, ctx.quick), 'relaxed (FMA)': peakRate('relaxed', fn, flops, ctx.quick) });
    }
    const tables = [{
      title: 'Peak f32x4 multiply-add rate, one thread (GFLOP/s, best of several runs)',
      columns: ['kernel', 'simd (mul + add)', 'relaxed (FMA)'],
      rows: peakRows,
      notes: ['The baseline GEMM uses this 4 x 8 tile, so the tile row bounds it; the relaxed GEMM uses a 5 x 8 tile',
        '(10 accumulators), bounded by the chains row. Compare the gemm section with these.'],
    }];
    const dir = mkdtempSync(join(tmpdir(), 'tsdeq-wasmopt-'));
    try {
      const shipped = new URL('tsdeq-simd.wasm', WASM_DIR);
      const optimised = join(dir, 'opt.wasm');
      ctx.log('ceiling: wasm-opt -O3 on the shipped simd module');
      const wasmOpt = new URL('../node_modules/.bin/wasm-opt', import.meta.url);
      execFileSync(wasmOpt.pathname, [shipped.pathname, '-O3', '--enable-simd', '--enable-bulk-memory', '--enable-sign-ext', '--enable-nontrapping-float-to-int', '--enable-mutable-globals', '-o', optimised]);
      const before = readFileSync(shipped), after = readFileSync(optimised);
      const plain = await createWasmBackend(before), opt = await createWasmBackend(after);
      const a = kernelCalls(plain), bcalls = kernelCalls(opt);
      const rows: Record<string, BenchCell>[] = a.map((k, i) => {
        const [t0, t1] = timeCalls([k.run, bcalls[i].run], { ...DEFAULT_TIMING, minMs: ctx.quick ? 20 : 60 });
        return { kernel: k.name, 'shipped ms': t0.toFixed(4), 'wasm-opt -O3 ms': t1.toFixed(4), 'ratio (opt / shipped)': (t1 / t0).toFixed(3) };
      });
      tables.push({
        title: `wasm-opt -O3 on the shipped baseline module (${before.length} -> ${after.length} bytes)`,
        columns: ['kernel', 'shipped ms', 'wasm-opt -O3 ms', 'ratio (opt / shipped)'],
        rows,
        notes: ['Ratios within a few percent of 1 are noise: the build keeps asc\'s own -O3 output.'],
      });
    } catch (e) {
      tables.push({ title: 'wasm-opt -O3 comparison', columns: ['status'], rows: [{ status: `not run: ${(e as Error).message.split('\n')[0]}` }], notes: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return tables;
  },
});
