/**
 * Section `solver_kernels`: microseconds per call of the fused per-iteration solver kernels
 * (the damped fixed-point step, Anderson's history update and mixing, Broyden's two steps) and
 * of the DEQ cell's `addTanh`, on the shared-memory build with 1 thread and with T threads (the
 * bench's `--threads`, at least 2) on one module instance, timed interleaved. The kernels split
 * across threads only from their size thresholds (src/backend/wasm_parallel.ts), as in a solve.
 */
import type { Storage } from '../backend/backend.js';
import type { WasmBackend } from '../backend/wasm.js';
import { createSharedWasmBackend } from '../backend/wasm_shared.js';
import { detectFeatures, wasmBytes } from '../backend/wasm_loader.js';
import { threadSupport } from '../threads/platform.js';
import { getThreads } from '../threads/settings.js';
import type { BenchCell, BenchTable } from './registry.js';
import { registerSection } from './registry.js';
import { benchData } from './subjects.js';
import { DEFAULT_TIMING, timeCalls } from './timing.js';

/** Anderson history size and Broyden memory / rank used for the kernels. */
const M = 6, MEM = 30, RANK = 15;

/** The kernels of one (B, D) state on `be`, each a call to time; `dispose` frees their storages. */
function kernels(be: WasmBackend, B: number, D: number): { calls: [string, () => void][]; dispose: () => void } {
  const made: Storage[] = [];
  const st = (n: number, seed: number, scale = 1): Storage => {
    const s = be.alloc(n, 'float32');
    be.write(s, benchData(n, seed).map((v) => v * scale));
    made.push(s);
    return s;
  };
  const x = st(B * D, 1), f = st(B * D, 2), out = st(B * D, 3), norms = st(2 * B, 4);
  const X = st(B * M * D, 5), F = st(B * M * D, 6), G = st(B * M * D, 7), gram = st(B * M * M, 8);
  // Fill every history slot, so the Gram matrices are those of real histories (SPD with the ridge).
  for (let slot = 0; slot < M; slot++) be.andersonRecord(x, f, X, F, G, gram, norms, slot, B, M, D);
  const g = st(B * D, 9), gNew = st(B * D, 10), dx = st(B * D, 11), dg = st(B * D, 12), d = st(B * D, 13);
  const U = st(B * MEM * D, 14, 0.05), V = st(B * MEM * D, 15, 0.05);
  let slot = 0;
  const calls: [string, () => void][] = [
    ['fixedPointStep', () => be.fixedPointStep(f, x, 0.9, out, norms, B, D)],
    [`andersonRecord (m ${M})`, () => { be.andersonRecord(x, f, X, F, G, gram, norms, slot, B, M, D); slot = (slot + 1) % M; }],
    [`andersonMix (m ${M})`, () => { be.andersonMix(gram, F, X, out, M, 1e-4, 1, B, M, D); }],
    ['broydenAdvance', () => be.broydenAdvance(f, x, out, g, gNew, dx, dg, norms, B, D)],
    [`broydenStep (rank ${RANK})`, () => be.broydenStep(dx, dg, g, d, U, V, RANK, RANK, false, B, MEM, D)],
    ['addTanh', () => be.addTanh(x, f, out, B, D, D)],
  ];
  return { calls, dispose: () => { for (const s of made) be.free(s); } };
}

async function solverKernelsTable(quick: boolean, log: (m: string) => void): Promise<BenchTable> {
  const threads = Math.max(2, getThreads());
  const title = `Fused solver kernels, float32, 1 vs ${threads} threads (us per call)`;
  const columns = ['kernel', 'B', 'D', '1 thread', `${threads} threads`, 'speed-up'];
  const support = threadSupport();
  if (!support.ok) return { title, columns, rows: [], notes: [`not measured: ${support.reason}`] };
  const variant = detectFeatures().relaxed ? 'relaxed' : 'simd';
  let want = 1;
  const be = await createSharedWasmBackend(await wasmBytes(variant, true), () => want, 'bench');
  const pool = be.parallel!.pool;
  await pool.resize(threads);
  const rows: Record<string, BenchCell>[] = [];
  try {
    for (const [B, D] of quick ? [[64, 256]] : [[32, 64], [64, 256], [64, 1024]]) {
      const k = kernels(be, B, D);
      try {
        for (const [name, call] of k.calls) {
          log(`solver_kernels ${name} B=${B} D=${D}`);
          const ms = timeCalls([() => { want = 1; call(); }, () => { want = threads; call(); }], { ...DEFAULT_TIMING, minMs: quick ? 20 : 60 });
          rows.push({ kernel: name, B: String(B), D: String(D), '1 thread': ms[0] * 1e3, [`${threads} threads`]: ms[1] * 1e3, 'speed-up': `${(ms[0] / ms[1]).toFixed(2)}x` });
        }
      } finally {
        k.dispose();
      }
    }
  } finally {
    await pool.resize(1);
  }
  return {
    title,
    columns,
    rows,
    notes: [
      `tsdeq ${variant}-threads build (shared memory), both columns on the same instance; ${support.cores} cores reported.`,
      `Anderson: m = ${M}, lam = 1e-4, tau = 1; Broyden: memory ${MEM}, rank ${RANK}, without the direction update; fixedPointStep: tau = 0.9.`,
      'Solver steps split into blocks of samples from B*D >= 32K (Broyden\'s step from B*D*rank), addTanh from 16K elements; smaller calls run on one thread.',
    ],
  };
}

registerSection({
  name: 'solver_kernels',
  description: 'us per call of the fused solver kernels (fixed-point, Anderson, Broyden) and addTanh, 1 vs 2+ threads',
  run: async (ctx) => [await solverKernelsTable(ctx.quick, ctx.log)],
});
